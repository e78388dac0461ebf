"""Replay and chain verification over a real decision store (SQLite through the runtime's DecisionLog)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.audit.exam_decision import EXAM_KEY_V1, EXAM_KEY_V2, REGISTRY
from workers.audit.chain import BROKEN_LINK, EDITED, HEAD_MISMATCH, SEQ_GAP
from workers.audit.replay import ERROR, MISMATCH, OK, TAMPERED, ReplayReport, diff_outputs, replay_log
from workers.audit.store import DecisionStore, DecisionStoreError
from workers.runtime.decisions import text_version
from workers.runtime.stores.decisions import DecisionLog


def _replay(store_url: str, instance: int | None = None) -> ReplayReport:
    store = DecisionStore.open(store_url)
    try:
        return replay_log(
            store.records(),
            registry=REGISTRY,
            rule_text=store.rule_text,
            head=store.head(),
            process_instance_keys=None if instance is None else [instance],
        )
    finally:
        store.dispose()


def _execute(engine: sa.Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_untouched_log_replays_ok(recorded_log: DecisionLog, store_url: str) -> None:
    report = _replay(store_url)
    assert report.ok
    assert [v.status for v in report.verdicts] == [OK, OK, OK, OK]
    assert report.records_checked == 4
    assert report.chain_problems == ()


def test_replay_of_one_instance_checks_whole_chain(recorded_log: DecisionLog, store_url: str) -> None:
    report = _replay(store_url, instance=200)
    assert [v.job_key for v in report.verdicts] == [21, 22]
    assert report.records_checked == 4


def test_changed_output_is_a_mismatch_with_the_difference(
    recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str
) -> None:
    record = recorded_log.get_by_job(12)
    assert record is not None and record.outputs["passed"] is False
    forged = {**record.outputs, "passed": True}
    _execute(store_engine, "UPDATE decision_records SET outputs = :o WHERE job_key = 12", o=json.dumps(forged))

    report = _replay(store_url)
    verdict = next(v for v in report.verdicts if v.job_key == 12)
    assert not report.ok
    assert verdict.status == MISMATCH
    assert [(d.path, d.recorded, d.replayed) for d in verdict.differences] == [("passed", True, False)]
    assert "record content does not match its hash" in verdict.notes
    assert [(p.seq, p.kind) for p in report.chain_problems] == [(record.seq, EDITED)]
    assert all(v.status == OK for v in report.verdicts if v.job_key != 12)


def test_changed_input_is_a_mismatch(recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str) -> None:
    record = recorded_log.get_by_job(11)
    assert record is not None
    forged = {**record.inputs, "answers": {"q1": "owner", "q2": "pilot", "q3": "cutover"}}
    _execute(store_engine, "UPDATE decision_records SET inputs = :i WHERE job_key = 11", i=json.dumps(forged))

    verdict = next(v for v in _replay(store_url).verdicts if v.job_key == 11)
    assert verdict.status == MISMATCH
    paths = {d.path: (d.recorded, d.replayed) for d in verdict.differences}
    # 70 → 100 points; still a pass under V1, so only score and the wrong answers differ.
    assert paths == {"score": (70, 100), "wrongQuestions": (["q3"], [])}


def test_changed_rule_version_is_a_mismatch(recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str) -> None:
    # Job 11 scored 70: a pass under V1 (pass mark 60), a fail under V2 (pass mark 80).
    _execute(store_engine, "UPDATE decision_records SET rule_version = :v WHERE job_key = 11",
             v=text_version(EXAM_KEY_V2))
    report = _replay(store_url)
    verdict = next(v for v in report.verdicts if v.job_key == 11)
    assert verdict.status == MISMATCH
    assert [(d.path, d.recorded, d.replayed) for d in verdict.differences] == [("passed", True, False)]
    assert any(p.kind == EDITED for p in report.chain_problems)


def test_edit_that_keeps_the_output_is_still_tampering(
    recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str
) -> None:
    _execute(store_engine, "UPDATE decision_records SET worker_version = 'forged' WHERE job_key = 21")
    report = _replay(store_url)
    verdict = next(v for v in report.verdicts if v.job_key == 21)
    assert verdict.status == TAMPERED
    assert not report.ok


def test_deleted_entry_breaks_the_chain(recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str) -> None:
    _execute(store_engine, "DELETE FROM decision_records WHERE seq = 2")
    report = _replay(store_url)
    kinds = {(p.seq, p.kind) for p in report.chain_problems}
    assert (3, SEQ_GAP) in kinds and (3, BROKEN_LINK) in kinds
    assert not report.ok
    # The remaining records still replay to their own outputs: the finding is the gap, not them.
    assert all(v.status == OK for v in report.verdicts)


def test_deleted_last_entry_is_caught_by_the_chain_head(
    recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str
) -> None:
    _execute(store_engine, "DELETE FROM decision_records WHERE seq = 4")
    report = _replay(store_url)
    assert [p.kind for p in report.chain_problems] == [HEAD_MISMATCH]


def test_reordered_entries_break_the_chain(recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str) -> None:
    # Swap records 2 and 3 (seq numbers exchanged, hashes kept): the links no longer line up.
    _execute(store_engine, "UPDATE decision_records SET seq = -2 WHERE seq = 2")
    _execute(store_engine, "UPDATE decision_records SET seq = 2 WHERE seq = 3")
    _execute(store_engine, "UPDATE decision_records SET seq = 3 WHERE seq = -2")
    report = _replay(store_url)
    kinds = {(p.seq, p.kind) for p in report.chain_problems}
    assert {(2, EDITED), (2, BROKEN_LINK), (3, EDITED), (3, BROKEN_LINK)} <= kinds


def test_altered_rule_snapshot_is_an_error(recorded_log: DecisionLog, store_engine: sa.Engine, store_url: str) -> None:
    _execute(store_engine, "UPDATE rule_snapshots SET text = :t WHERE version = :v",
             t=EXAM_KEY_V1.replace("pass_mark,60", "pass_mark,10"), v=text_version(EXAM_KEY_V1))
    report = _replay(store_url)
    v1 = [v for v in report.verdicts if v.rule_version == text_version(EXAM_KEY_V1)]
    assert {v.status for v in v1} == {ERROR}
    assert "was altered" in v1[0].notes[0]


def test_unknown_decision_is_an_error(recorded_log: DecisionLog, store_url: str) -> None:
    store = DecisionStore.open(store_url)
    try:
        report = replay_log(store.records(), registry={}, rule_text=store.rule_text, head=store.head())
    finally:
        store.dispose()
    assert {v.status for v in report.verdicts} == {ERROR}
    assert "not in the registry" in report.verdicts[0].notes[0]


def test_missing_store_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(DecisionStoreError, match="no decision store at"):
        DecisionStore.open(f"sqlite:///{tmp_path}/nothing.db")


def test_diff_outputs_names_each_leaf() -> None:
    diffs = diff_outputs({"a": 1, "b": {"c": [1, 2]}, "d": True}, {"a": 1.0, "b": {"c": [1, 3]}, "d": 1, "e": "x"})
    assert [str(d) for d in diffs] == [
        "b.c.1: recorded 2, replayed 3",
        "d: recorded true, replayed 1",
        "e: recorded <absent>, replayed \"x\"",
    ]
