"""The workspace's three wheels: each ships only its own package, declares what its code imports, and
only the CLI depends on the engine.

``procgov`` (the CLI, the demo, the console) needs ``procgov-engine`` and ``procgov-workers``;
``procgov-workers`` needs neither, which is what lets the worker image leave the engine out
(test_deploy_image.py). The wheels are built here with uv from this checkout, as ``pip install .``
and the Dockerfile build them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest
from deploy_files import DISTRIBUTIONS, MEMBERS_DIR, ROOT, locked_closure, uv_binary
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import skip_or_fail

# Test support that only the dev dependency group installs (pytest fixtures for the suite).
_DEV_ONLY_MODULES = {"procgov_engine/testing/pytest_plugin.py", "workers/runtime/testing.py"}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    uv = uv_binary()
    if uv is None:
        skip_or_fail("uv is not installed (make setup puts it in .tools/bin)")
    assert uv is not None
    out = tmp_path_factory.mktemp("wheels")
    result = subprocess.run(
        [uv, "build", "--wheel", "--all-packages", "--out-dir", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    built = {}
    for wheel in out.glob("*.whl"):
        name = canonicalize_name(wheel.name.split("-")[0])
        built[name] = wheel
    assert set(built) == set(DISTRIBUTIONS), sorted(built)
    return built


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        [meta] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(archive.read(meta).decode("utf-8"))
    return [Requirement(line) for line in message.get_all("Requires-Dist") or []]


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_each_wheel_ships_its_own_package_and_no_tests(wheels: dict[str, Path], distribution: str) -> None:
    names = _names(wheels[distribution])
    top_level = {PurePosixPath(n).parts[0] for n in names if ".dist-info/" not in n}
    assert top_level == {DISTRIBUTIONS[distribution]}, top_level
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if PurePosixPath(n).name.startswith("test_") or "/tests/" in n]


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_each_wheel_ships_every_file_of_its_package(wheels: dict[str, Path], distribution: str) -> None:
    package = DISTRIBUTIONS[distribution]
    tracked = subprocess.run(
        ["git", "ls-files", package], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    shipped = set(_names(wheels[distribution]))
    missing = [path for path in tracked if path not in shipped and (ROOT / path).exists()]
    assert not missing, f"{distribution} lacks {missing[:10]}"


def test_the_workers_wheel_bundles_the_sample_data_and_models(wheels: dict[str, Path]) -> None:
    shipped = set(_names(wheels["procgov-workers"]))
    for tree in ("data", "bpmn"):
        files = [p.relative_to(ROOT).as_posix() for p in (ROOT / tree).rglob("*") if p.is_file()]
        files = [f for f in files if "__pycache__" not in f]
        assert files
        missing = [f for f in files if f"workers/_bundled/{f}" not in shipped]
        assert not missing, missing


def test_only_the_cli_depends_on_the_engine(wheels: dict[str, Path]) -> None:
    members = {"procgov-engine", "procgov-workers"}
    for distribution in ("procgov-engine", "procgov-workers"):
        named = {canonicalize_name(r.name) for r in _requires(wheels[distribution])}
        assert not named & (members | {"procgov"}), f"{distribution} requires {named & (members | {'procgov'})}"
    cli = {canonicalize_name(r.name): r for r in _requires(wheels["procgov"])}
    assert members <= set(cli)
    for member in members:
        # By path from this checkout: pip never asks an index for these names.
        assert cli[member].url == (MEMBERS_DIR / member).as_uri(), cli[member]


def test_the_members_share_one_build_hook() -> None:
    hooks = {path.read_text(encoding="utf-8") for path in MEMBERS_DIR.glob("*/hatch_build.py")}
    assert len(list(MEMBERS_DIR.glob("*/hatch_build.py"))) == 2
    assert len(hooks) == 1, "packages/*/hatch_build.py differ"


def _third_party_imports(package: str) -> dict[str, str]:
    """``{top-level module: first file importing it}`` for ``package``'s code, leaving out imports
    under ``if TYPE_CHECKING:`` and the dev-only test support."""
    found: dict[str, str] = {}
    ours = set(DISTRIBUTIONS.values())
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in _DEV_ONLY_MODULES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for statement in block.body
            for node in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ours and top != "__future__":
                    found.setdefault(top, relative)
    return found


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_each_distribution_declares_what_its_code_imports(distribution: str) -> None:
    # The locked closure of its own requirements must provide every third-party module it imports:
    # else the worker image (or a pip install of one member) would fail at import time.
    provided_by = metadata.packages_distributions()
    closure = locked_closure([distribution])
    missing = {}
    for module, where in _third_party_imports(DISTRIBUTIONS[distribution]).items():
        providers = {canonicalize_name(d) for d in provided_by.get(module, [])}
        assert providers, f"{where}: no installed distribution provides {module}"
        if not providers & closure:
            missing[module] = where
    assert not missing, f"{distribution} imports modules none of its requirements provide: {missing}"


def test_the_members_are_the_workspace() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members = root["tool"]["uv"]["workspace"]["members"]
    names = {tomllib.loads((ROOT / m / "pyproject.toml").read_text("utf-8"))["project"]["name"] for m in members}
    assert names | {root["project"]["name"]} == set(DISTRIBUTIONS)
    for name in names:
        assert root["tool"]["uv"]["sources"][name] == {"workspace": True}
