"""The console's vendored bpmn-js and form-js bundles are exactly npm's files at the pinned versions, and
the wheel carries them (so ``pip install`` gives a console that draws diagrams and forms)."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.browser import NODE_MODULES, ROOT
from tests.conftest import skip_or_fail

VENDOR = ROOT / "procgov" / "console" / "static" / "vendor"
VENDORED = {  # vendored file -> (npm package, file in the package)
    "bpmn-js/bpmn-navigated-viewer.production.min.js": ("bpmn-js", "dist/bpmn-navigated-viewer.production.min.js"),
    "bpmn-js/bpmn-js.css": ("bpmn-js", "dist/assets/bpmn-js.css"),
    "bpmn-js/diagram-js.css": ("bpmn-js", "dist/assets/diagram-js.css"),
    "bpmn-js/LICENSE": ("bpmn-js", "LICENSE"),
    "form-js/form-viewer.umd.js": ("@bpmn-io/form-js", "dist/form-viewer.umd.js"),
    "form-js/form-js.css": ("@bpmn-io/form-js", "dist/assets/form-js.css"),
    "form-js/LICENSE": ("@bpmn-io/form-js", "LICENSE"),
}


def test_every_vendored_file_is_listed() -> None:
    present = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()} - {"README.md"}
    assert present == set(VENDORED)


@pytest.mark.node
@pytest.mark.parametrize("vendored", sorted(VENDORED))
def test_vendored_file_equals_the_pinned_npm_file(vendored: str) -> None:
    package, inside = VENDORED[vendored]
    installed = NODE_MODULES / package
    if not installed.is_dir():
        skip_or_fail(f"tools/node_modules/{package} is missing: run `make setup` (npm ci --prefix tools)")
    pinned = json.loads((ROOT / "tools" / "package.json").read_text())["dependencies"][package]
    assert json.loads((installed / "package.json").read_text())["version"] == pinned
    assert pinned in (VENDOR / "README.md").read_text(), f"vendor/README.md does not name {package} {pinned}"
    assert (VENDOR / vendored).read_bytes() == (installed / inside).read_bytes(), (
        f"{vendored} differs from {package} {pinned}: run `make console-vendor`")


def test_the_wheel_carries_the_console_pages_and_bundles(tmp_path: Path) -> None:
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.is_file():
        skip_or_fail("uv is not installed (make setup puts it in .tools/bin)")
    subprocess.run([str(uv), "build", "--wheel", "--out-dir", str(tmp_path), "--quiet"], cwd=ROOT, check=True,
                   timeout=300)
    [wheel] = tmp_path.glob("procgov-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for vendored in VENDORED:
        assert f"procgov/console/static/vendor/{vendored}" in names
    for page in ("base", "inbox", "task", "instances", "instance", "reports", "login", "error"):
        assert f"procgov/console/templates/{page}.html.j2" in names
    assert {"procgov/console/static/console.js", "procgov/console/static/task.js",
            "procgov/console/static/instance.js"} <= names
