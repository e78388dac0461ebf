"""Periodic checkpoints: ``procgov audit checkpoint --every`` as the compose service runs it.

A real process signs the heads every second while decisions are recorded; each round that finds the
chain moved writes a new signed checkpoint, an unchanged chain is not signed again, and replay holds
the store against every one of them, so cutting the chain after the last round is found.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.commands import audit as audit_commands
from tests.audit.conftest import record_exam
from tests.audit.exam_decision import EXAM_KEY_V1, REGISTRY
from workers.runtime.stores.checkpoints import DECISIONS, Keyring, read_checkpoints
from workers.runtime.stores.decisions import DecisionLog

pytestmark = pytest.mark.timeout(120)
PROCGOV = str(Path(sys.executable).with_name("procgov"))


def _keygen(tmp_path: Path) -> Path:
    key_file = tmp_path / "audit.key"
    assert CliRunner().invoke(cli, ["audit", "keygen", "-o", str(key_file)]).exit_code == 0
    return key_file


def _wait_for_files(directory: Path, n: int, process: subprocess.Popen[str], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while len(list(directory.glob("*.json"))) < n:
        assert process.poll() is None or len(list(directory.glob("*.json"))) >= n, process.communicate()
        assert time.monotonic() < deadline, f"fewer than {n} checkpoint(s) in {timeout_s} s"
        time.sleep(0.05)


def test_a_periodic_run_writes_successive_signed_checkpoints_that_replay_verifies(
        tmp_path: Path, store_url: str, recorded_log: DecisionLog, store_engine: sa.Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    key_file, directory = _keygen(tmp_path), tmp_path / "checkpoints"
    process = subprocess.Popen(
        [PROCGOV, "audit", "checkpoint", "--every", "1s", "--count", "6", "--store", store_url,
         "--checkpoints", str(directory), "--key-file", str(key_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_files(directory, 1, process)
    record_exam(recorded_log, job_key=31, instance=300, answers={"q1": "owner"}, key_text=EXAM_KEY_V1)
    _wait_for_files(directory, 2, process)
    record_exam(recorded_log, job_key=32, instance=300, answers={"q1": "x"}, key_text=EXAM_KEY_V1)
    _wait_for_files(directory, 3, process)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, out + err
    assert "signing checkpoints every 1s" in out and "stopped after 6 round(s)" in out
    assert out.count("wrote ") == 3 and out.count("unchanged since the last checkpoint") == 3

    signed, problems = read_checkpoints(directory, Keyring.load(key_file=key_file))
    assert problems == [] and [c.store for c in signed] == [DECISIONS] * 3
    assert [int(c.head["seq"]) for c in signed] == [4, 5, 6]  # successive heads, oldest first
    assert [len(c.instances) for c in signed] == [2, 3, 3] and signed[0].created_at < signed[2].created_at

    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    replay = ["audit", "replay", "--all", "--store", store_url, "--checkpoints", str(directory),
              "--key-file", str(key_file)]
    result = CliRunner().invoke(cli, replay)
    assert result.exit_code == 0, result.output
    assert f"checkpoints: 3 signed checkpoint(s) in {directory} hold" in result.output

    # The last decision cut off and the head moved back: a consistent chain, but the last round signed seq 6.
    with store_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM decision_records WHERE seq = 6"))
        previous = conn.execute(sa.text("SELECT hash FROM decision_records WHERE seq = 5")).scalar_one()
        conn.execute(sa.text("UPDATE decision_chain_head SET seq = 5, hash = :h WHERE id = 1"), {"h": previous})
    cut = CliRunner().invoke(cli, replay)
    assert cut.exit_code == 1 and "decisions against checkpoint" in cut.output, cut.output


def test_sigterm_stops_a_periodic_run_between_rounds(tmp_path: Path, store_url: str,
                                                     recorded_log: DecisionLog) -> None:
    directory = tmp_path / "checkpoints"
    process = subprocess.Popen(
        [PROCGOV, "audit", "checkpoint", "--every", "1h", "--store", store_url, "--checkpoints", str(directory),
         "--key-file", str(_keygen(tmp_path))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_files(directory, 1, process)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped after 1 round(s)" in out, out + err
    assert time.monotonic() - started < 5  # not at the end of the hour


def test_a_periodic_run_that_finds_the_chain_broken_stops_without_signing(
        tmp_path: Path, store_url: str, recorded_log: DecisionLog, store_engine: sa.Engine) -> None:
    with store_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM decision_records WHERE seq = 2"))
    result = CliRunner().invoke(cli, ["audit", "checkpoint", "--every", "1s", "--store", store_url,
                                      "--checkpoints", str(tmp_path / "c"), "--key-file", str(_keygen(tmp_path))])
    assert result.exit_code == 1 and "not signed: the chain does not verify" in result.output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--every", "soon"], "is not a duration"), (["--every", "500ms"], "at least one second"),
    (["--count", "2"], "--count needs --every")])
def test_bad_periodic_options_are_refused(tmp_path: Path, store_url: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["audit", "checkpoint", "--store", store_url, *args,
                                      "--key-file", str(_keygen(tmp_path))])
    assert result.exit_code == 2 and message in result.output, result.output
