"""Tamper suite: edits of the decision store and the engine's log after a demo run, each found by
``procgov audit replay --all`` with the instance named (issue 12 item 5).

The workload is ``procgov demo`` (embedded engine over gRPC, every worker group, the rollout's nine
steps, monthly reviews with fines). After it, ``procgov audit checkpoint`` signs both chain heads with a
key from a key file. Each test copies the run, applies one edit to the SQLite stores as an attacker
with write access to them would (re-hashing the chains where the edit says so), and replays with and
without the engine's log where the design allows: without the log only the signed checkpoints can see
a re-hashed store; with it the decision's inputs and time are held against the job the engine activated.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from procgov.cli import app as cli
from workers.runtime.stores.decisions import GENESIS_HASH, HASHED_FIELDS, decision_hash

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]
KEY = "k1:" + "s3cret-audit-key-for-tests-only-0123456789"


@dataclass(frozen=True)
class Run:
    dir: Path

    @property
    def store(self) -> str:
        return f"sqlite:///{self.dir / 'procgov.db'}"

    @property
    def engine(self) -> Path:
        return self.dir / "engine"

    @property
    def checkpoints(self) -> Path:
        return self.dir / "checkpoints"

    @property
    def key_file(self) -> Path:
        return self.dir.parent / "audit.key"

    def decisions(self) -> sqlite3.Connection:
        return sqlite3.connect(self.dir / "procgov.db", isolation_level=None)

    def records(self) -> sqlite3.Connection:
        return sqlite3.connect(self.engine / "records.db", isolation_level=None)


def replay(run: Run, *, with_log: bool) -> tuple[int, str]:
    args = ["audit", "replay", "--all", "--store", run.store, "--checkpoints", str(run.checkpoints),
            "--key-file", str(run.key_file)]
    if with_log:
        args += ["--data", str(run.engine)]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PROCGOV_AUDIT_KEY": KEY}
    command = [str(Path(sys.executable).with_name("procgov")), "demo", "--root", str(root / "runs")]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = (root / "runs").iterdir()
    (root / "runs" / "audit.key").write_text(KEY + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["audit", "checkpoint", "--store", f"sqlite:///{run_dir / 'procgov.db'}",
                                      "--data", str(run_dir / "engine"), "--checkpoints",
                                      str(run_dir / "checkpoints"), "--key-file", str(root / "runs" / "audit.key")])
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture
def run(demo_run: Path, tmp_path: Path) -> Run:
    copy = tmp_path / "runs" / demo_run.name
    shutil.copytree(demo_run, copy, ignore=shutil.ignore_patterns("audit", "reports", "*.log"))
    shutil.copy(demo_run.parent / "audit.key", tmp_path / "runs" / "audit.key")
    return Run(copy)


# --- the attacker's tools -------------------------------------------------------------------------------

def rehash_decisions(db: sqlite3.Connection) -> None:
    """Rewrite every hash, renumber seq and move the head: what an attacker who knows the format does."""
    rows = db.execute(f"SELECT {', '.join(HASHED_FIELDS)} FROM decision_records ORDER BY seq").fetchall()
    db.execute("DELETE FROM decision_records")
    prev = GENESIS_HASH
    for seq, row in enumerate(rows, start=1):
        fields = dict(zip(HASHED_FIELDS, row, strict=True))
        fields.update(seq=seq, inputs=json.loads(fields["inputs"]), outputs=json.loads(fields["outputs"]))
        digest = decision_hash(prev, fields)
        db.execute(f"INSERT INTO decision_records ({', '.join(HASHED_FIELDS)}, prev_hash, hash) VALUES "
                   f"({', '.join('?' * (len(HASHED_FIELDS) + 2))})",
                   [*(json.dumps(fields[n], ensure_ascii=False) if n in ("inputs", "outputs") else fields[n]
                      for n in HASHED_FIELDS), prev, digest])
        prev = digest
    db.execute("UPDATE decision_chain_head SET seq = ?, hash = ? WHERE id = 1", (len(rows), prev))


def rehash_engine_log(db: sqlite3.Connection) -> None:
    """Rebuild the engine's record_chain over the records as they now are (one chain row per batch)."""
    rows = db.execute("SELECT position, value_type, intent, record_type, key, process_instance_key, timestamp, json "
                      "FROM records ORDER BY position").fetchall()
    bounds = [b for (b,) in db.execute("SELECT last_position FROM record_chain ORDER BY seq")]
    db.execute("DELETE FROM record_chain")
    prev, index, seq = "0" * 64, 0, 0
    for bound in bounds:
        batch = []
        while index < len(rows) and rows[index][0] <= bound:
            batch.append(rows[index])
            index += 1
        if not batch:
            continue
        prev = hashlib.sha256(prev.encode() + orjson.dumps(batch)).hexdigest()
        seq += 1
        db.execute("INSERT INTO record_chain (seq, last_position, hash) VALUES (?, ?, ?)", (seq, bound, prev))


def record_of(db: sqlite3.Connection, decision: str) -> tuple[int, int, dict[str, Any], dict[str, Any]]:
    """(seq, instance, inputs, outputs) of the last record of a decision."""
    seq, instance, inputs, outputs = db.execute(
        "SELECT seq, process_instance_key, inputs, outputs FROM decision_records WHERE decision = ? "
        "ORDER BY seq DESC", (decision,)).fetchone()
    return seq, instance, json.loads(inputs), json.loads(outputs)


def assert_found(code: int, output: str, *needles: str) -> None:
    assert code == 1, output
    for needle in needles:
        assert needle in output, f"{needle!r} not in:\n{output[-4000:]}"


# --- the baseline ---------------------------------------------------------------------------------------

def test_the_untouched_demo_run_replays_clean_with_and_without_the_engine_log(run: Run) -> None:
    for with_log in (False, True):
        code, output = replay(run, with_log=with_log)
        assert code == 0, output
        assert "checkpoints: 2 signed checkpoint(s)" in output


# --- edits of the decision store --------------------------------------------------------------------------

def test_an_input_only_forgery_re_hashed_is_found_by_the_checkpoint_and_by_the_job_variables(run: Run) -> None:
    """Issue 12 item 5: inputs changed (the fine's penalty case now names another person), chain re-hashed."""
    with run.decisions() as db:
        seq, instance, inputs, _ = record_of(db, "slm.penalty-calculation")
        inputs["reviewedBy"] = "forged"  # an input the decision ignores: the outputs still replay
        db.execute("UPDATE decision_records SET inputs = ? WHERE seq = ?", (json.dumps(inputs), seq))
        rehash_decisions(db)
    code, output = replay(run, with_log=False)
    assert_found(code, output, f"instance {instance}: decisions against checkpoint", "differ from those signed")
    code, output = replay(run, with_log=True)
    assert_found(code, output, f"cross-check: instance {instance}",
                 "recorded inputs are not the variables the engine gave the job")


def test_a_backdated_recorded_at_re_hashed_is_found(run: Run) -> None:
    with run.decisions() as db:
        seq, instance, _, _ = record_of(db, "rollout.owner-eligibility")
        db.execute("UPDATE decision_records SET recorded_at = '2020-01-01T00:00:00.000000Z' WHERE seq = ?", (seq,))
        rehash_decisions(db)
    code, output = replay(run, with_log=False)
    assert_found(code, output, f"instance {instance}: decisions against checkpoint")
    code, output = replay(run, with_log=True)
    assert_found(code, output, f"cross-check: instance {instance}", "lies outside the job's life")


def test_a_changed_worker_version_re_hashed_is_found_by_the_checkpoint(run: Run) -> None:
    with run.decisions() as db:
        seq, instance, _, _ = record_of(db, "rollout.exam-grade")
        db.execute("UPDATE decision_records SET worker_version = 'procgov 0.0.1' WHERE seq = ?", (seq,))
        rehash_decisions(db)
    for with_log in (False, True):
        code, output = replay(run, with_log=with_log)
        assert_found(code, output, f"instance {instance}: decisions against checkpoint", "differ from those signed")


def test_all_records_of_one_instance_deleted_and_the_chain_re_hashed_is_found(run: Run) -> None:
    with run.decisions() as db:
        _, instance, _, _ = record_of(db, "slm.kpi-check")
        count = db.execute("SELECT COUNT(*) FROM decision_records WHERE process_instance_key = ?",
                           (instance,)).fetchone()[0]
        db.execute("DELETE FROM decision_records WHERE process_instance_key = ?", (instance,))
        rehash_decisions(db)
    code, output = replay(run, with_log=False)
    assert_found(code, output, f"instance {instance}: decisions against checkpoint",
                 f"had {count} record(s) when signed, now 0")
    code, output = replay(run, with_log=True)  # the engine's log shows the decision jobs and fines that ran
    assert_found(code, output, f"conformance: instance {instance}: 100104 fines",
                 "holds no penalty decision pricing them")


def test_the_whole_decision_log_emptied_does_not_pass(run: Run) -> None:
    with run.decisions() as db:
        db.execute("DELETE FROM decision_records")
        db.execute("UPDATE decision_chain_head SET seq = 0, hash = ? WHERE id = 1", (GENESIS_HASH,))
    code, output = replay(run, with_log=False)
    assert_found(code, output, "but the store ends at record 0: records were deleted", "now 0: records were deleted")
    code, output = replay(run, with_log=True)  # the fines the engine's records imply are not in the store
    assert_found(code, output, "100104 fines: the engine's records show penalty case(s)",
                 "the decision store holds no penalty decision pricing them")


def test_rows_reordered_break_the_chain_and_name_the_instances(run: Run) -> None:
    with run.decisions() as db:
        first, second = db.execute("SELECT seq, process_instance_key FROM decision_records ORDER BY seq LIMIT 2"
                                   ).fetchall()
        db.execute("UPDATE decision_records SET seq = -1 WHERE seq = ?", (first[0],))
        db.execute("UPDATE decision_records SET seq = ? WHERE seq = ?", (first[0], second[0]))
        db.execute("UPDATE decision_records SET seq = ? WHERE seq = -1", (second[0],))
    code, output = replay(run, with_log=False)
    assert_found(code, output, "chain: instance", "a record was deleted, inserted or moved")


def test_a_changed_rule_snapshot_is_found(run: Run) -> None:
    with run.decisions() as db:
        seq, instance, _, _ = record_of(db, "slm.penalty-calculation")
        version = db.execute("SELECT rule_version FROM decision_records WHERE seq = ?", (seq,)).fetchone()[0]
        db.execute("UPDATE rule_snapshots SET text = text || '\n' WHERE version = ?", (version,))
    code, output = replay(run, with_log=False)
    assert_found(code, output, f"decision: instance {instance}", "was altered: its text now hashes to")


def test_a_changed_output_is_found(run: Run) -> None:
    with run.decisions() as db:
        seq, instance, _, outputs = record_of(db, "slm.penalty-calculation")
        outputs["totalFinesYuan"] = "999.00"
        db.execute("UPDATE decision_records SET outputs = ? WHERE seq = ?", (json.dumps(outputs), seq))
    code, output = replay(run, with_log=False)
    assert_found(code, output, f"decision: instance {instance}", f"chain: instance {instance}",
                 "was changed after it was recorded")


def test_a_consistent_forgery_of_both_stores_is_found_by_their_checkpoints(run: Run) -> None:
    """The fine's record and the job's completion in the engine's log both say 999.00, both chains re-hashed:
    the two stores agree with each other, only the signed checkpoints (kept outside them) disagree."""
    with run.decisions() as db:
        seq, instance, _, outputs = record_of(db, "slm.penalty-calculation")
        job_key = db.execute("SELECT job_key FROM decision_records WHERE seq = ?", (seq,)).fetchone()[0]
        outputs["totalFinesYuan"] = "999.00"
        db.execute("UPDATE decision_records SET outputs = ? WHERE seq = ?", (json.dumps(outputs), seq))
        rehash_decisions(db)
    with run.records() as db:
        position, text = db.execute("SELECT position, json FROM records WHERE value_type = 'JOB' AND "
                                    "intent = 'COMPLETED' AND key = ?", (job_key,)).fetchone()
        doc = json.loads(text)
        doc["value"]["variables"] = outputs
        db.execute("UPDATE records SET json = ? WHERE position = ?", (json.dumps(doc, ensure_ascii=False), position))
        rehash_engine_log(db)
    code, output = replay(run, with_log=False)
    assert_found(code, output, f"instance {instance}: decisions against checkpoint")
    code, output = replay(run, with_log=True)
    assert_found(code, output, f"instance {instance}: decisions against checkpoint",
                 f"instance {instance}: engine-log against checkpoint")


# --- edits of the engine's log ------------------------------------------------------------------------------

def test_an_edited_engine_record_breaks_the_engine_chain(run: Run) -> None:
    with run.records() as db:
        position = db.execute("SELECT MAX(position) FROM records WHERE value_type = 'VARIABLE'").fetchone()[0]
        db.execute("UPDATE records SET json = replace(json, '\"intent\"', '\"intent\" ') WHERE position = ?",
                   (position,))
    code, output = replay(run, with_log=True)
    assert_found(code, output, "engine log: engine log chain: the records of commit", "were edited, deleted")


def test_an_instance_deleted_from_the_engine_log_and_re_hashed_is_found(run: Run) -> None:
    with run.decisions() as db:
        _, instance, _, _ = record_of(db, "slm.kpi-check")
    with run.records() as db:
        db.execute("DELETE FROM records WHERE process_instance_key = ?", (instance,))
        rehash_engine_log(db)
    code, output = replay(run, with_log=True)
    assert_found(code, output, f"instance {instance}: engine-log against checkpoint", "records were deleted")


def test_the_engine_log_emptied_is_found(run: Run) -> None:
    with run.records() as db:
        db.execute("DELETE FROM records")
        db.execute("DELETE FROM record_chain")
    code, output = replay(run, with_log=True)
    assert_found(code, output, "engine-log against checkpoint", "the log emptied")


# --- the checkpoints themselves -------------------------------------------------------------------------

def test_an_edited_checkpoint_fails_its_signature_and_an_unknown_key_is_a_finding(run: Run) -> None:
    (first, second) = sorted(run.checkpoints.glob("*.json"))
    doc = json.loads(first.read_text(encoding="utf-8"))
    doc["head"]["seq"] = 1
    first.write_text(json.dumps(doc), encoding="utf-8")
    doc = json.loads(second.read_text(encoding="utf-8"))
    doc["keyId"] = "k0"
    second.write_text(json.dumps(doc), encoding="utf-8")
    code, output = replay(run, with_log=True)
    assert_found(code, output, f"checkpoint {first.name}: its signature does not match",
                 f"checkpoint {second.name}: signed with key id 'k0'")


def test_a_rotated_key_ring_still_verifies_old_checkpoints_and_signs_with_the_new_key(run: Run) -> None:
    run.key_file.write_text(KEY + "\nk2:" + "a-newer-key-after-rotation-0123456789\n", encoding="utf-8")
    code, output = replay(run, with_log=True)
    assert code == 0, output
    result = CliRunner().invoke(cli, ["audit", "checkpoint", "--store", run.store, "--checkpoints",
                                      str(run.checkpoints), "--key-file", str(run.key_file)])
    assert result.exit_code == 0 and "key k2" in result.output, result.output
    code, output = replay(run, with_log=False)
    assert code == 0 and "checkpoints: 3 signed checkpoint(s)" in output, output


def test_checkpoint_refuses_to_sign_a_chain_that_does_not_verify(run: Run) -> None:
    with run.decisions() as db:
        db.execute("UPDATE decision_records SET worker_version = 'x' WHERE seq = 3")
    result = CliRunner().invoke(cli, ["audit", "checkpoint", "--store", run.store, "--checkpoints",
                                      str(run.checkpoints), "--key-file", str(run.key_file)])
    assert result.exit_code == 1 and "not signed" in result.output, result.output
    assert len(list(run.checkpoints.glob("*.json"))) == 2



def test_keygen_rotation_appends_a_signing_key_and_old_checkpoints_still_verify(run: Run) -> None:
    refused = CliRunner().invoke(cli, ["audit", "keygen", "-o", str(run.key_file)])
    assert refused.exit_code == 2 and "--rotate" in refused.output, refused.output
    assert run.key_file.read_text(encoding="utf-8") == KEY + "\n"

    rotated = CliRunner().invoke(cli, ["audit", "keygen", "-o", str(run.key_file), "--rotate"])
    assert rotated.exit_code == 0, rotated.output
    lines = run.key_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == KEY and len(lines) == 2 and lines[1].startswith("k2:") and len(lines[1]) > 40
    assert run.key_file.stat().st_mode & 0o777 == 0o600
    code, output = replay(run, with_log=True)
    assert code == 0, output
    signed = CliRunner().invoke(cli, ["audit", "checkpoint", "--store", run.store, "--checkpoints",
                                      str(run.checkpoints), "--key-file", str(run.key_file)])
    assert signed.exit_code == 0 and "key k2" in signed.output, signed.output


def test_keygen_writes_a_new_ring_that_checkpoint_accepts(run: Run, tmp_path: Path) -> None:
    ring = tmp_path / "keys" / "audit.key"
    assert CliRunner().invoke(cli, ["audit", "keygen", "-o", str(ring), "--rotate"]).exit_code == 2
    made = CliRunner().invoke(cli, ["audit", "keygen", "-o", str(ring)])
    assert made.exit_code == 0 and "k1" in made.output, made.output
    assert ring.stat().st_mode & 0o777 == 0o600
    signed = CliRunner().invoke(cli, ["audit", "checkpoint", "--store", run.store, "--checkpoints",
                                      str(tmp_path / "fresh"), "--key-file", str(ring)])
    assert signed.exit_code == 0 and "key k1" in signed.output, signed.output
