"""pyzeebe's own integration suite (written for a real Zeebe) against ``procgov engine``.

Runs pyzeebe v4.7.0's ``tests/integration`` unmodified, with the stand-in ``testcontainers`` of
pyzeebe_suite/ (see its README) in place of Docker. The files come from pyzeebe's source distribution on
PyPI (pinned by URL and sha256, cached in ``.tools/downloads``), or from the checkout named by
``PROCGOV_PYZEEBE_SRC``. Without either (no PyPI, no checkout) the test is skipped, and fails in CI.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

SHIM = Path(__file__).parent / "pyzeebe_suite"
ROOT = Path(__file__).resolve().parents[3]

# The version pyproject.toml pins; the sdist carries tests/integration (the wheel does not).
SDIST_URL = (
    "https://files.pythonhosted.org/packages/3a/9e/40ea3fcd0839dff1f90387643b2fcd062edaa487dd1cb7ed09bd33d8fa1d/"
    "pyzeebe-4.7.0.tar.gz"
)
SDIST_SHA256 = "767b94f28fbd2a6a6fba13351d7febab87c8539968355f786c581f4513d4bd93"
CACHE = ROOT / ".tools" / "downloads" / "pyzeebe-4.7.0.tar.gz"


def _sdist() -> bytes:
    """The pinned sdist's bytes, from the cache or PyPI; anything but the pinned bytes is refused."""
    if CACHE.is_file() and hashlib.sha256(CACHE.read_bytes()).hexdigest() == SDIST_SHA256:
        return CACHE.read_bytes()
    try:
        with urllib.request.urlopen(SDIST_URL, timeout=60) as response:
            data: bytes = response.read()
    except OSError as exc:
        skip_or_fail(f"pyzeebe's sdist could not be downloaded from PyPI ({exc}) and PROCGOV_PYZEEBE_SRC is not set")
        raise AssertionError("unreachable") from exc
    digest = hashlib.sha256(data).hexdigest()
    assert digest == SDIST_SHA256, f"{SDIST_URL} has sha256 {digest}, not the pinned {SDIST_SHA256}"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(data)
    return data


def _pyzeebe_source(tmp_path: Path) -> Path:
    named = os.environ.get("PROCGOV_PYZEEBE_SRC")
    if named:
        return Path(named)
    with tarfile.open(fileobj=io.BytesIO(_sdist()), mode="r:gz") as archive:
        archive.extractall(tmp_path, filter="data")  # no links or paths out of tmp_path
    return tmp_path / "pyzeebe-4.7.0"


def test_pyzeebe_integration_suite_passes_against_the_engine(tmp_path: Path) -> None:
    source = _pyzeebe_source(tmp_path)
    suite = source / "tests" / "integration"
    if not suite.is_dir():
        pytest.fail(f"{source} holds no tests/integration: not a pyzeebe v4.7.0 source tree")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SHIM), str(source), str(ROOT)]))
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
