"""pyzeebe's own integration suite (written for a real Zeebe) against ``procgov engine``.

Runs the files of a pyzeebe v4.7.0 checkout named by ``PROCGOV_PYZEEBE_SRC`` unmodified, with the
stand-in ``testcontainers`` of pyzeebe_suite/ (see its README) in place of Docker. Skipped without
that checkout; its scenarios run in every build as test_gateway_pyzeebe_scenarios.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHIM = Path(__file__).parent / "pyzeebe_suite"
ROOT = Path(__file__).resolve().parents[3]


def test_pyzeebe_integration_suite_passes_against_the_engine() -> None:
    source = os.environ.get("PROCGOV_PYZEEBE_SRC")
    if not source:
        pytest.skip("PROCGOV_PYZEEBE_SRC (a pyzeebe v4.7.0 checkout) is not set")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SHIM), source, str(ROOT)]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "anyio", "-q", "tests/integration"],
        cwd=source,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout and "error" not in result.stdout
