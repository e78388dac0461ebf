"""``procgov incidents list | retry | resolve`` against the embedded engine over gRPC.

Camunda docs, Concepts > Incidents (docs.camunda.io/docs/components/concepts/incidents): "Resolving a
job-related incident": increase the remaining retries of the job, then mark the incident as resolved;
"Resolving": if the problem still exists, a new incident is created. Listing reads the engine's records (the
gateway protocol has no incident query): the embedded engine's log, an exporter file, or the
Elasticsearch exporter's documents.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from click.testing import Result
from pyzeebe import create_insecure_channel
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub
from typer.testing import CliRunner

from procgov.cli import app
from tests.audit.es_server import SearchServer, serve

GREET = Path(__file__).resolve().parents[1] / "runtime" / "bpmn" / "greet.bpmn"


async def procgov(*args: str) -> Result:
    env = {"PROCGOV_OTLP_ENDPOINT": None, "ZEEBE_ADDRESS": None, "COLUMNS": "250"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def _fail_the_job(stub: Any, message: str) -> int:
    """Activate the greet job and fail it with no retries left: an incident."""
    request = pb.ActivateJobsRequest(
        type="runtime-test.greet", worker="t", timeout=30_000, maxJobsToActivate=1, requestTimeout=5_000
    )
    jobs = [job async for response in stub.ActivateJobs(request) for job in response.jobs]
    assert len(jobs) == 1
    await stub.FailJob(pb.FailJobRequest(jobKey=jobs[0].key, retries=0, errorMessage=message))
    return int(jobs[0].key)


async def _listed(*source: str) -> list[dict[str, Any]]:
    result = await procgov("incidents", "list", "--json", *source)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


async def test_an_incident_is_listed_retried_and_gone(zeebe: Any) -> None:
    await zeebe.deploy(GREET)
    instance = await zeebe_start(zeebe)
    channel = create_insecure_channel(grpc_address=zeebe.address)
    stub: Any = GatewayStub(channel)
    try:
        job_key = await _fail_the_job(stub, "smtp.example.com refused the mail (550)")
        incident = await zeebe.instance(instance).wait_incident()
        (listed,) = await _listed("--data", str(zeebe.data_dir))
        assert listed == {
            "key": incident.key,
            "processInstanceKey": instance,
            "bpmnProcessId": "runtime-greet",
            "elementId": "greet",
            "errorType": "JOB_NO_RETRIES",
            "jobKey": job_key,
            "errorMessage": "smtp.example.com refused the mail (550)",
        }
        table = await procgov("incidents", "list", "--data", str(zeebe.data_dir))
        assert "1 open incident(s)" in table.stdout and str(incident.key) in table.stdout

        retried = await procgov(
            "incidents",
            "retry",
            str(incident.key),
            "--data",
            str(zeebe.data_dir),
            "--retries",
            "2",
            "--gateway",
            zeebe.address,
        )
        assert retried.exit_code == 0, retried.output
        assert retried.stdout.strip() == f"job {job_key} has 2 retries; resolved incident {incident.key}"
        assert await _listed("--data", str(zeebe.data_dir)) == []
        # the job is activatable again, with the retries it was given back
        request = pb.ActivateJobsRequest(
            type="runtime-test.greet", worker="t", timeout=30_000, maxJobsToActivate=1, requestTimeout=5_000
        )
        (job,) = [job async for response in stub.ActivateJobs(request) for job in response.jobs]
        assert (job.key, job.retries) == (job_key, 2)
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{}"))
        await zeebe.instance(instance).wait_completed()
    finally:
        await channel.close()


async def zeebe_start(zeebe: Any) -> int:
    result = await procgov("start", "runtime-greet", "--var", "ownerName=王芳", "--gateway", zeebe.address)
    assert result.exit_code == 0, result.output
    return int(json.loads(result.stdout)["processInstanceKey"])


async def test_resolve_alone_and_listing_from_the_exporter_documents(zeebe: Any, tmp_path: Path) -> None:
    await zeebe.deploy(GREET)
    instance = await zeebe_start(zeebe)
    channel = create_insecure_channel(grpc_address=zeebe.address)
    stub: Any = GatewayStub(channel)
    try:
        job_key = await _fail_the_job(stub, "webhook answered 404")
        first = await zeebe.instance(instance).wait_incident()
        exported = tmp_path / "records.jsonl"
        assert (await procgov("engine", "export", "--data", str(zeebe.data_dir), "-o", str(exported))).exit_code == 0
        documents = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
        from_file = await _listed("--records", str(exported))
        with serve(SearchServer({"zeebe-record_incident_8.8.0": documents})) as url:
            from_es = await _listed("--es", url)
        assert [i["key"] for i in from_file] == [i["key"] for i in from_es] == [first.key]
        assert from_es[0]["jobKey"] == job_key

        # the job still has no retries: resolving alone raises a new incident for it at once
        resolved = await procgov("incidents", "resolve", str(first.key), "--gateway", zeebe.address)
        assert resolved.exit_code == 0, resolved.output
        assert resolved.stdout.strip() == f"resolved incident {first.key}"
        (again,) = await _listed("--data", str(zeebe.data_dir), "--instance", str(instance))
        assert again["key"] != first.key
        assert (again["jobKey"], again["errorMessage"]) == (job_key, "webhook answered 404")
    finally:
        await channel.close()


async def test_wrong_keys_and_missing_sources_are_one_line(zeebe: Any) -> None:
    await zeebe.deploy(GREET)
    no_source = await procgov("incidents", "retry", "123", "--gateway", zeebe.address)
    assert no_source.exit_code == 2
    assert "give --job-key, or a source of records" in no_source.stderr
    unknown = await procgov("incidents", "retry", "123", "--data", str(zeebe.data_dir), "--gateway", zeebe.address)
    assert unknown.exit_code == 2 and "no open incident 123 in the records" in unknown.stderr
    rejected = await procgov("incidents", "resolve", "123", "--gateway", zeebe.address)
    assert rejected.exit_code == 1
    assert rejected.stderr.startswith(f"procgov: gateway {zeebe.address} rejected the command (NOT_FOUND)")
    both = await procgov("incidents", "list", "--data", str(zeebe.data_dir), "--es", "http://127.0.0.1:1")
    assert both.exit_code == 2 and "name exactly one source of records" in both.stderr
