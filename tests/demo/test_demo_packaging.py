"""``pip install .`` then ``procgov demo``: the wheel alone runs the demo, outside any checkout.

It used to fail at once with ``ModuleNotFoundError: aiosmtpd`` (the demo's SMTP sink imported a
dev-only dependency), and then on the sample data and models, which lived only beside the packages
in the checkout. The test builds the wheel, installs it into a fresh virtual environment (with uv,
from its cache or PyPI), and runs the SLM scenarios from an empty directory: they start every worker
group (each reading its sample data), send mail through the SMTP sink and pass their audit.
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


def test_the_wheel_alone_runs_the_demo(tmp_path: Path) -> None:
    uv = _uv()
    _run([uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), "--quiet"], cwd=ROOT, timeout_s=120)
    [wheel] = (tmp_path / "dist").glob("procgov-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path, timeout_s=60)
    _run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        cwd=tmp_path,
        timeout_s=300,
    )
    elsewhere = tmp_path / "elsewhere"  # no bpmn/ or data/ here: everything must come from the wheel
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
