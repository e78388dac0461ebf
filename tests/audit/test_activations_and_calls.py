"""Real runs on the embedded engine for two things the history reads beyond an instance's own records:
which workers activated a job (JOB_BATCH ACTIVATED records), and the instances its call activities started.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from pyzeebe import ZeebeClient, create_insecure_channel
from pyzeebe.proto import gateway_pb2, gateway_pb2_grpc
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.commands import audit as audit_commands
from procgov_engine.export import export_jsonl
from tests.audit.conftest import BPMN_DIR
from tests.audit.es_server import SearchServer, serve
from tests.audit.exam_decision import EXAM_KEY_V1, GRADE_EXAM, REGISTRY
from workers.audit.history import COMPLETED, descendant_keys, load_history
from workers.audit.report import render_report
from workers.audit.sources import ElasticsearchSource, FileRecordSource, SqliteLogSource
from workers.runtime import RuleSet, TaskRouter
from workers.runtime.testing import RunWorkers

RUNNER = CliRunner(env={"COLUMNS": "240"})
TIMEOUT_A_MS = 60_000  # worker A's activation timeout: one minute on the engine's clock


class ReviewRequest(BaseModel):
    employee: str


class ReviewResult(BaseModel):
    reviewedBy: str


async def _activate_as(zeebe: Any, worker: str, job_type: str, timeout_ms: int) -> list[int]:
    """Activate jobs over the gateway protocol as a named worker, and never finish them (worker A)."""
    channel = create_insecure_channel(grpc_address=zeebe.address)
    try:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        request = gateway_pb2.ActivateJobsRequest(type=job_type, worker=worker, timeout=timeout_ms,
                                                  maxJobsToActivate=5, requestTimeout=1_000)
        return [job.key async for response in stub.ActivateJobs(request) for job in response.jobs]
    finally:
        await channel.close()


async def test_a_timed_out_job_shows_both_activations_and_workers(
    zeebe: Any, zeebe_client: ZeebeClient, run_workers: RunWorkers, tmp_path: Path
) -> None:
    await zeebe.deploy(BPMN_DIR / "audit-review.bpmn")
    started = await zeebe_client.run_process("audit-test-review", {"employee": "li.lei"})
    key = started.process_instance_key
    await zeebe.instance(key).wait_element_active("review")
    (job_key,) = await _activate_as(zeebe, "worker-a", "audit-test.review", TIMEOUT_A_MS)

    # Worker A never answers: while it holds the job, the history already names it.
    running = load_history(SqliteLogSource(zeebe.data_dir), key)
    (job,) = running.jobs
    assert job.key == job_key and job.outcome == "CREATED"
    assert job.activated_by == ("worker-a",) and job.worker == "worker-a"
    assert job.activations[0].timeout_ms == TIMEOUT_A_MS

    await zeebe.increase_time(timedelta(minutes=2))  # past worker A's one-minute timeout
    router = TaskRouter(group="audit-test")

    @router.task("audit-test.review")
    async def review(request: ReviewRequest) -> ReviewResult:
        return ReviewResult(reviewedBy="worker-b")

    await run_workers(router, worker_name="worker-b")
    await zeebe.instance(key).wait_completed()

    from_log = load_history(SqliteLogSource(zeebe.data_dir), key)
    (job,) = from_log.jobs
    assert job.activated_by == ("worker-a", "worker-b")
    first, second = job.activations
    assert first.at < second.at and first.deadline == first.at + TIMEOUT_A_MS
    assert second.at >= first.at + 2 * TIMEOUT_A_MS  # re-activated only after the clock moved past the time-out
    assert (job.outcome, job.worker) == ("COMPLETED", "worker-b")
    assert [a.intent for a in job.attempts] == ["TIMED_OUT", "COMPLETED"]

    exported = tmp_path / "export.jsonl"
    export_jsonl(zeebe.data_dir, exported)
    assert load_history(FileRecordSource(exported), key) == from_log
    indices: dict[str, list[dict[str, Any]]] = {}
    for record in zeebe.records():
        indices.setdefault(f"zeebe-record_{str(record['valueType']).lower()}_8.8.0", []).append(record)
    with serve(SearchServer(indices)) as url:
        assert load_history(ElasticsearchSource(url, page_size=10), key) == from_log

    result = RUNNER.invoke(cli, ["audit", "history", str(key), "--data", str(zeebe.data_dir)])
    assert result.exit_code == 0, result.output
    assert "activated by" in result.output
    assert "worker-a at" in result.output and "worker-b at" in result.output
    html = render_report(from_log)
    assert html.count('class="activation"') == 2
    assert "worker-a at" in html and "(timeout 1m)" in html


def _grader() -> TaskRouter:
    router = TaskRouter(group="audit-test")
    router.decision_task("audit-test.grade", GRADE_EXAM, RuleSet.from_text(GRADE_EXAM, EXAM_KEY_V1))
    return router


@pytest.fixture
async def rollout(zeebe: Any, zeebe_client: ZeebeClient, run_workers: RunWorkers,
                  tmp_path: Path) -> tuple[int, str]:
    """A rollout whose change request grades an exam and calls a retest that grades another."""
    await zeebe.deploy(BPMN_DIR / "audit-rollout.bpmn")
    store_url = f"sqlite:///{tmp_path / 'workers.db'}"
    await run_workers(_grader(), store_url=store_url)
    started = await zeebe_client.run_process(
        "audit-test-rollout", {"employee": "li.lei", "answers": {"q1": "owner", "q2": "pilot", "q3": "x"}})
    await zeebe.instance(started.process_instance_key).wait_completed()
    return started.process_instance_key, store_url


async def test_called_instances_are_linked_to_their_parent(zeebe: Any, rollout: tuple[int, str],
                                                           tmp_path: Path) -> None:
    key, _ = rollout
    source = SqliteLogSource(zeebe.data_dir)
    parent = load_history(source, key)
    assert parent.parent_process_instance_key == -1
    (change,) = parent.children
    assert (change.bpmn_process_id, change.call_activity_id, change.state) == (
        "audit-test-change", "change-request", COMPLETED)
    assert change.call_activity_instance_key == parent.visits_of("change-request")[0].element_instance_key

    child = load_history(source, change.process_instance_key)
    assert (child.parent_process_instance_key, child.parent_element_instance_key) == (
        key, change.call_activity_instance_key)
    (retest,) = child.children
    assert (retest.bpmn_process_id, retest.call_activity_id) == ("audit-test-retest", "retest")
    assert descendant_keys(source, key) == [change.process_instance_key, retest.process_instance_key]
    assert load_history(source, retest.process_instance_key).children == ()

    exported = tmp_path / "export.jsonl"
    export_jsonl(zeebe.data_dir, exported)
    assert load_history(FileRecordSource(exported), key) == parent
    indices: dict[str, list[dict[str, Any]]] = {}
    for record in zeebe.records():
        indices.setdefault(f"zeebe-record_{str(record['valueType']).lower()}_8.8.0", []).append(record)
    with serve(SearchServer(indices)) as url:
        assert load_history(ElasticsearchSource(url), key) == parent

    result = RUNNER.invoke(cli, ["audit", "history", str(key), "--data", str(zeebe.data_dir)])
    assert result.exit_code == 0, result.output
    assert "Called instances" in result.output and str(change.process_instance_key) in result.output
    assert "regrade" not in result.output  # the grandchild's timeline only with --follow-children
    result = RUNNER.invoke(cli, ["audit", "history", str(key), "--data", str(zeebe.data_dir), "--follow-children"])
    assert result.exit_code == 0, result.output
    assert "audit-test-change v1" in result.output and "audit-test-retest v1" in result.output
    assert "regrade" in result.output and f"called by instance {key}" in result.output


async def test_replay_of_a_parent_replays_its_called_instances(
    zeebe: Any, rollout: tuple[int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, store_url = rollout
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: REGISTRY)
    children = descendant_keys(SqliteLogSource(zeebe.data_dir), key)

    alone = RUNNER.invoke(cli, ["audit", "replay", str(key), "--store", store_url])
    assert alone.exit_code == 0 and "no decisions" in alone.output  # the rollout itself decided nothing

    result = RUNNER.invoke(cli, ["audit", "replay", str(key), "--store", store_url, "--data", str(zeebe.data_dir)])
    assert result.exit_code == 0, result.output
    assert f"the 2 instance(s) it called: {children[0]}, {children[1]}" in result.output
    assert "PASS: 2 ok" in result.output
    assert "grade" in result.output and "regrade" in result.output
    assert "cross-check: decision jobs of 3 instance(s) match their records" in result.output
