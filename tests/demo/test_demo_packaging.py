"""``pip install .`` then ``procgov demo``: the three distributions alone run the demo, outside any checkout.

It used to fail at once with ``ModuleNotFoundError: aiosmtpd`` (the demo's SMTP sink imported a
dev-only dependency), and then on the sample data and models, which lived only beside the packages
in the checkout. Since the split into workspace members (``procgov``, ``procgov-engine``,
``procgov-workers``) it would fail if the root's requirements on the members needed an index (pip
knows nothing of uv's workspace sources). The test installs the checkout's root into a fresh virtual
environment the way pip does (uv's pip interface with ``--no-sources``: the standard metadata only,
from uv's cache or PyPI), and runs the SLM scenarios from an empty directory: they start every
worker group (each reading its sample data), send mail through the SMTP sink and pass their audit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def _uv() -> str:
    for candidate in (ROOT / ".tools" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    skip_or_fail("uv is not installed (make setup puts it in .tools/bin)")
    raise AssertionError("unreachable")


def _run(args: list[str], *, cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PROCGOV_", "VIRTUAL_ENV"))}
    result = subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout_s)
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_pip_install_of_the_checkout_alone_runs_the_demo(tmp_path: Path) -> None:
    uv = _uv()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, timeout_s=60)
    python = str(venv / "bin" / "python")
    _run([uv, "pip", "install", "--quiet", "--no-sources", "--python", python, str(ROOT)], cwd=tmp_path, timeout_s=300)
    installed = _run([uv, "pip", "list", "--python", python, "--format", "freeze"], cwd=tmp_path, timeout_s=60)
    names = {line.split("==")[0] for line in installed.stdout.split()}
    assert {"procgov", "procgov-engine", "procgov-workers"} <= names, installed.stdout
    # Installed as wheels, not linked to the checkout (no .pth file pointing back at it).
    assert not [pth for pth in venv.glob("lib/python*/site-packages/*.pth") if str(ROOT) in pth.read_text("utf-8")]
    elsewhere = tmp_path / "elsewhere"  # no bpmn/ or data/ here: everything must come from the installed wheels
    elsewhere.mkdir()
    procgov = str(venv / "bin" / "procgov")

    assert "Usage: procgov demo" in _run([procgov, "demo", "--help"], cwd=elsewhere, timeout_s=60).stdout
    demo = _run(
        [procgov, "demo", "--root", str(elsewhere / "var"), "-s", "slm", "--timeout", "60"],
        cwd=elsewhere,
        timeout_s=120,
    )

    assert "3/3 ok" in demo.stdout
    assert "mail sent: 0" not in demo.stdout
    assert "problem:" not in demo.stdout
