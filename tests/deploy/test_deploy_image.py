"""The worker image carries no engine: not in its build context, not among the distributions its
builder installs, and it still runs every command compose and Kubernetes start it with.

No container engine runs here, so the test replays the Dockerfile's builder stage on this machine:
the build context is what ``.dockerignore`` admits, each ``COPY`` copies from it, each ``RUN`` runs
with the stage's ``ENV`` and the image's absolute paths moved under a temporary directory (the
packages come from uv's cache, or PyPI). The venv it produces is the one the runtime stage copies.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from deploy_files import (
    DOCKERFILE,
    DOCKERIGNORE,
    ROOT,
    dockerfile_instructions,
    engine_only_packages,
    load_compose,
    load_k8s_documents,
    uv_binary,
)

from tests.conftest import skip_or_fail

_ENGINE_PATHS = ("procgov_engine", "packages/procgov-engine")


def _builder_stage() -> list[tuple[str, str]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if keyword == "FROM":
            stages.append([])
        if stages:  # (global ARGs come first)
            stages[-1].append((keyword, args))
    [builder] = [stage for stage in stages if stage[0][1].endswith(" AS builder")]
    return builder


def _context_entries() -> list[str]:
    """The paths ``.dockerignore`` lets into the build context (it starts from ``*`` and re-includes)."""
    lines = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    return [line[1:].rstrip("/") for line in lines if line.startswith("!")]


def _sync_command() -> list[str]:
    runs = [args for keyword, args in _builder_stage() if keyword == "RUN" and "uv sync" in args]
    assert len(runs) == 1, runs
    words = shlex.split(runs[0])
    return words[words.index("uv") :]


def test_the_build_context_and_the_copies_leave_the_engine_out() -> None:
    for entry in _context_entries():
        assert not entry.startswith(_ENGINE_PATHS), f".dockerignore lets {entry} into the context"
    for keyword, args in _builder_stage():
        if keyword == "COPY" and "--from=" not in args:
            assert not any(path in args for path in _ENGINE_PATHS), args


def test_the_dependency_layer_skips_exactly_what_only_the_engine_needs() -> None:
    words = _sync_command()
    assert "--frozen" in words and "--no-dev" in words
    assert "--no-install-workspace" in words, "the members come in as wheels, after the dependencies"
    skipped = {words[i + 1] for i, word in enumerate(words) if word == "--no-install-package"}
    # Derived from uv.lock: adding a dependency to the engine alone shows up here.
    assert skipped == engine_only_packages() - {"procgov-engine"}


def test_the_builder_builds_only_the_workers_and_the_cli() -> None:
    runs = " ".join(args for keyword, args in _builder_stage() if keyword == "RUN")
    assert set(re.findall(r"uv build --wheel --package (\S+)", runs)) == {"procgov-workers", "procgov"}
    assert "--no-deps" in runs


def test_the_image_builds_with_the_uv_the_replay_uses() -> None:
    # The replay below runs make setup's pinned uv; the image's builder must be that version.
    pinned = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    image = re.search(r"^ARG UV_VERSION=(\S+)$", DOCKERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert pinned and image and pinned.group(1) == image.group(1)


def _replay_builder(tmp: Path, uv: str) -> Path:
    """Runs the builder stage under ``tmp``; returns the venv (the image's /app/.venv)."""
    context = tmp / "context"
    for entry in _context_entries():
        source = ROOT / entry
        if source.is_dir():
            # (the exclusions at the end of .dockerignore)
            left_out = shutil.ignore_patterns("__pycache__", "*.pyc", ".*_cache", ".env", "*.env")
            shutil.copytree(source, context / entry, ignore=left_out)
        elif source.is_file():
            (context / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, context / entry)

    def moved(text: str) -> str:  # the image's absolute paths, under tmp
        return re.sub(r"(?<![\w.])/(app|dist|src)\b", lambda m: f"{tmp}/{m.group(1)}", text)

    # The caller's uv settings (an index mirror, the cache) stay; the stage's ENV overrides its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCGOV_", "VIRTUAL_ENV"))}
    env["UV_PYTHON"] = sys.executable  # the image's python:3.11 here
    workdir = tmp
    for keyword, args in _builder_stage()[1:]:
        if keyword == "ENV":
            for name, value in re.findall(r"(\w+)=(\S+)", args):
                env[name] = moved(value)
        elif keyword == "WORKDIR":
            workdir = Path(moved(args))
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY" and "--from=" not in args:
            *sources, target = args.split()
            destination = workdir / target if not target.startswith("/") else Path(moved(target))
            for source in sources:
                path = context / source.removeprefix("./")
                assert path.exists(), f"COPY {source}: not in the build context"
                if path.is_dir():
                    shutil.copytree(path, destination, dirs_exist_ok=True)
                else:
                    destination.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, destination / path.name)
        elif keyword == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", args)
            command = re.sub(r"(^|&&\s*)uv\b", lambda m: f"{m.group(1)}{shlex.quote(uv)}", moved(command).strip())
            result = subprocess.run(
                ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
            )
            assert result.returncode == 0, f"RUN {command}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return tmp / "app" / ".venv"


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = uv_binary()
    if uv is None:
        skip_or_fail("uv is not installed (make setup puts it in .tools/bin)")
    assert uv is not None
    return _replay_builder(tmp_path_factory.mktemp("image"), uv)


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCGOV_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        list(args), cwd=venv.parent, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_image_venv_holds_the_workers_and_the_cli_but_no_engine(image_venv: Path) -> None:
    listing = "import importlib.metadata as m; print(*sorted(d.metadata['Name'].lower() for d in m.distributions()))"
    names = _run(image_venv, "python", "-c", listing)
    assert names.returncode == 0, names.stderr
    installed = set(names.stdout.split())
    assert {"procgov", "procgov-workers"} <= installed
    assert not installed & engine_only_packages(), installed & engine_only_packages()
    site = list(image_venv.glob("lib/python*/site-packages"))
    assert site and not list(site[0].glob("procgov_engine*"))
    probe = _run(image_venv, "python", "-c", "import importlib.util as u; print(u.find_spec('procgov_engine'))")
    assert probe.stdout.strip() == "None", probe.stdout + probe.stderr


def _image_commands() -> list[list[str]]:
    """The commands compose and the Kubernetes manifests run in the image (entrypoints/commands)."""
    commands = [["procgov", "workers"]]  # the Dockerfile's ENTRYPOINT
    for service in load_compose()["services"].values():
        if service.get("image") == "procgov:local" and service.get("entrypoint"):
            commands.append(list(service["entrypoint"]))
    for _, doc in load_k8s_documents():
        spec: Any = doc.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec") or spec.get(
            "template", {}
        ).get("spec", {})
        for container in pod.get("containers", []):
            if container.get("command"):
                commands.append(list(container["command"]))
    unique = {tuple(c) for c in commands}
    return [list(c) for c in sorted(unique)]


@pytest.mark.parametrize("command", _image_commands(), ids=" ".join)
def test_every_command_the_image_is_started_with_runs(image_venv: Path, command: list[str]) -> None:
    result = _run(image_venv, *command, "--help")
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-3000:]}"


def test_every_module_that_never_imports_the_engine_imports_in_the_image(image_venv: Path) -> None:
    # The import-linter contract's source modules (pyproject.toml): all of workers, the worker-facing
    # commands, the console. Test support (dev dependency group) is not in the image.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [contract] = [
        c
        for c in pyproject["tool"]["importlinter"]["contracts"]
        if c["type"] == "forbidden" and c["forbidden_modules"] == ["procgov_engine"]
    ]
    script = (
        "import importlib, pkgutil, sys\n"
        f"roots = {contract['source_modules']!r}\n"
        "for root in roots:\n"
        "    module = importlib.import_module(root)\n"
        "    for info in pkgutil.walk_packages(getattr(module, '__path__', []), root + '.'):\n"
        "        if info.name.rsplit('.', 1)[-1] != 'testing':\n"
        "            importlib.import_module(info.name)\n"
        "assert 'procgov_engine' not in sys.modules\n"
        "print('ok')\n"
    )
    result = _run(image_venv, "python", "-c", script)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_the_engine_commands_say_the_image_has_no_engine(image_venv: Path, tmp_path: Path) -> None:
    for command in (["procgov", "engine", "--data", str(tmp_path / "engine")], ["procgov", "demo", "-s", "slm"]):
        result = _run(image_venv, *command)
        assert result.returncode == 2, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        assert "procgov-engine distribution is not installed" in result.stderr
        assert "Traceback" not in result.stderr
