"""Histories from every source: engine log, exporter JSON lines / bulk / _search files, and ES by URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.audit.builders import (
    DEFINITION_KEY,
    INSTANCE_KEY,
    T0,
    RecordLog,
    certified_late_instance,
    write_engine_log,
)
from tests.audit.conftest import BPMN_DIR
from tests.audit.es_server import SearchServer, serve
from workers.audit.history import COMPLETED, HistoryError, load_history
from workers.audit.records import RecordFormatError
from workers.audit.sources import ElasticsearchSource, FileRecordSource, SourceError, SqliteLogSource

BPMN = (BPMN_DIR / "audit-grade.bpmn").read_text()
MINUTE = 60_000


@pytest.fixture
def records() -> list[dict[str, object]]:
    return certified_late_instance(BPMN)


def test_history_from_engine_log(tmp_path: Path, records: list[dict[str, object]]) -> None:
    write_engine_log(tmp_path / "data", records)
    source = SqliteLogSource(tmp_path / "data")
    h = load_history(source, INSTANCE_KEY)

    assert (h.bpmn_process_id, h.process_definition_key, h.state) == ("audit-test-grade", DEFINITION_KEY, COMPLETED)
    assert h.duration_ms == 80 * MINUTE
    assert [e.element_id for e in h.elements] == [
        "start", "grade", "passed-gateway", "certify", "certify-deadline", "late", "join", "file-audit", "certified"]
    assert h.visits_of("grade")[0].duration_ms == 6 * MINUTE
    assert h.taken_flows == ("flow-start-grade", "flow-grade-gateway", "flow-passed", "flow-deadline-late",
                             "flow-certify-join", "flow-join-file", "flow-file-end")
    grade_job = next(j for j in h.jobs if j.type == "audit-test.grade")
    assert (grade_job.outcome, grade_job.worker, grade_job.failures) == ("COMPLETED", "w-2", 1)
    assert [a.intent for a in grade_job.attempts] == ["FAILED", "RETRIES_UPDATED", "COMPLETED"]
    assert grade_job.attempts[0].error_message == "exam key unreadable"
    assert grade_job.variables == {"score": 70, "passed": True}
    (incident,) = h.incidents
    assert (incident.error_type, incident.resolved_at) == ("JOB_NO_RETRIES", T0 + 5 * MINUTE)
    (timer,) = h.timers
    assert (timer.target_element_id, timer.outcome) == ("certify-deadline", "TRIGGERED")
    assert h.final_variables() == {"employee": "li.lei", "score": 70, "passed": True, "lateFineYuan": "20"}
    assert h.bpmn_xml == BPMN
    assert source.instance_keys() == [INSTANCE_KEY]


def test_every_file_format_gives_the_same_history(tmp_path: Path, records: list[dict[str, object]]) -> None:
    write_engine_log(tmp_path / "data", records)
    expected = load_history(SqliteLogSource(tmp_path / "data"), INSTANCE_KEY)

    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in reversed(records)))  # order must not matter
    bulk = tmp_path / "bulk.ndjson"
    bulk.write_text("".join(
        json.dumps({"index": {"_index": f"zeebe-record_{str(r['valueType']).lower()}_8.8.0_2026-01-01"}}) + "\n"
        + json.dumps(r) + "\n" for r in records))
    search = tmp_path / "search.json"
    search.write_text(json.dumps({"took": 3, "hits": {"hits": [{"_source": r} for r in records]}}, indent=2))
    for path in (jsonl, bulk, search):
        got = load_history(FileRecordSource(path), INSTANCE_KEY)
        assert got == expected, path.name
        assert got.bpmn_xml == BPMN


def test_history_from_search_cluster_pages_with_search_after(
    tmp_path: Path, records: list[dict[str, object]]
) -> None:
    write_engine_log(tmp_path / "data", records)
    expected = load_history(SqliteLogSource(tmp_path / "data"), INSTANCE_KEY)
    by_index: dict[str, list[dict[str, object]]] = {}
    for r in records:
        by_index.setdefault(f"zeebe-record_{str(r['valueType']).lower()}_8.8.0_2026-01-01", []).append(r)
    server = SearchServer(by_index)
    with serve(server) as url:
        source = ElasticsearchSource(url, page_size=7)
        got = load_history(source, INSTANCE_KEY)
        keys = source.instance_keys()
    assert got == expected
    assert keys == [INSTANCE_KEY]
    assert got.bpmn_xml == BPMN
    pages = [body for _, body in server.requests if "search_after" in body]
    assert pages, "the reader must page with search_after"
    assert all(index == "zeebe-record*" for index, _ in server.requests)


def test_search_cluster_errors_are_reported(records: list[dict[str, object]]) -> None:
    with serve(SearchServer({})) as url:
        source = ElasticsearchSource(url)
        with pytest.raises(SourceError, match="no records of process instance 42"):
            load_history(source, 42)
    with pytest.raises(SourceError, match="cannot reach the cluster"):
        ElasticsearchSource(url, timeout_s=2).instance_records(1)


def test_bad_record_line_is_named(tmp_path: Path, records: list[dict[str, object]]) -> None:
    bad = dict(records[3])
    bad.pop("timestamp")
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(records[0]) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(RecordFormatError, match=r"bad.jsonl line 2: field 'timestamp' is missing"):
        FileRecordSource(path)
    path.write_text(json.dumps(records[0]) + "\n{not json\n")
    with pytest.raises(RecordFormatError, match=r"line 2: not valid JSON"):
        FileRecordSource(path)


def test_missing_engine_log_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no engine log at"):
        SqliteLogSource(tmp_path)


def test_model_from_the_deployment_record_when_the_process_record_has_none(records: list[dict[str, object]]) -> None:
    import base64

    from workers.audit.history import bpmn_resource
    from workers.audit.records import parse_record

    deployment = {
        "position": 0, "key": 7, "timestamp": 0, "recordType": "EVENT", "valueType": "DEPLOYMENT",
        "intent": "CREATED",
        "value": {
            "resources": [{"resourceName": "other.bpmn", "resource": base64.b64encode(b"<other/>").decode()},
                          {"resourceName": "audit-grade.bpmn", "resource": base64.b64encode(BPMN.encode()).decode()}],
            "processesMetadata": [{"bpmnProcessId": "audit-test-grade", "processDefinitionKey": DEFINITION_KEY,
                                   "resourceName": "audit-grade.bpmn", "version": 1}],
        },
    }
    process = {**records[0], "value": {**records[0]["value"], "resource": ""}}  # type: ignore[dict-item]
    parsed = [parse_record(process), parse_record(deployment)]
    assert bpmn_resource(parsed, DEFINITION_KEY) == BPMN
    assert bpmn_resource(parsed, 12345) is None


def _batch(log: RecordLog, at: int, worker: str, jobs: list[tuple[int, int]], timeout: int = 300_000) -> None:
    """A JOB_BATCH ACTIVATED record handing out ``jobs`` ((job key, instance key)) to ``worker``."""
    log.add("JOB_BATCH", "ACTIVATED", log.new_key(), at, {
        "type": "audit-test.certify", "worker": worker, "timeout": timeout, "maxJobsToActivate": 5,
        "tenantIds": ["<default>"], "truncated": False, "jobKeys": [k for k, _ in jobs],
        "jobs": [{"type": "audit-test.certify", "worker": worker, "retries": 2, "deadline": at + timeout,
                  "processInstanceKey": instance, "elementId": "certify"} for _, instance in jobs],
    })


def test_activations_name_the_worker_of_a_job_that_never_finished(tmp_path: Path) -> None:
    # The instance cut off before certify completes: its job was only ever activated.
    log = RecordLog(records=certified_late_instance(BPMN)[:-20], next_key=INSTANCE_KEY + 10_000)
    certify_job = next(r["key"] for r in log.records if r["valueType"] == "JOB" and r["value"]["elementId"] ==
                       "certify")
    other_instance_job = 99
    _batch(log, T0 + 7 * MINUTE, "w-slow", [(other_instance_job, 4242), (certify_job, INSTANCE_KEY)])
    write_engine_log(tmp_path / "data", log.records)
    h = load_history(SqliteLogSource(tmp_path / "data"), INSTANCE_KEY)
    certify = next(j for j in h.jobs if j.type == "audit-test.certify")
    assert (certify.outcome, certify.worker, certify.activated_by) == ("CREATED", "w-slow", ("w-slow",))
    (activation,) = certify.activations
    assert (activation.at, activation.timeout_ms, activation.deadline) == (T0 + 7 * MINUTE, 300_000,
                                                                          T0 + 12 * MINUTE)
    assert next(j for j in h.jobs if j.type == "audit-test.grade").activations == ()
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in log.records))
    assert load_history(FileRecordSource(path), INSTANCE_KEY) == h


def test_a_batch_whose_keys_and_jobs_disagree_is_named(tmp_path: Path) -> None:
    log = RecordLog(records=certified_late_instance(BPMN), next_key=INSTANCE_KEY + 10_000)
    _batch(log, T0 + 7 * MINUTE, "w-1", [(1, INSTANCE_KEY)])
    log.records[-1]["value"]["jobKeys"] = [1, 2]
    position = log.records[-1]["position"]
    write_engine_log(tmp_path / "data", log.records)
    with pytest.raises(HistoryError, match=rf"JOB_BATCH record at position {position}: 2 jobKeys but 1 jobs"):
        load_history(SqliteLogSource(tmp_path / "data"), INSTANCE_KEY)
