"""Hostile input over gRPC: every request the engine cannot store faithfully is INVALID_ARGUMENT,
naming the field, and leaves nothing behind (no job activated for nobody, no poison command).

The limits are the engine's own (engine/strict_json.py, engine/safe_xml.py and ``MAX_DURATION_MS`` in
engine/gateway/service.py); Zeebe's gateway answers malformed documents with INVALID_ARGUMENT and
"Property 'variables' is invalid: ..." ("Zeebe API (gRPC)" → error codes of each RPC,
https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

from procgov_engine import safe_xml, strict_json
from procgov_engine.core.state import JOB_ACTIVATED
from procgov_engine.gateway import convert
from procgov_engine.gateway.jobs import ActivationRequest, JobDispatcher
from procgov_engine.testing import EmbeddedEngine

RESOURCES = Path(__file__).parent / "resources"
BPMN_NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"'


@pytest.fixture
async def stub(zeebe: EmbeddedEngine) -> AsyncIterator[GatewayStub]:
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        yield GatewayStub(channel)


def _nested(depth: int) -> str:
    """A variables document whose innermost object is ``depth`` levels deep (the root is level 1)."""
    return '{"v":' * (depth - 1) + "{}" + "}" * (depth - 1)


async def _refused(call: Any) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        result = call()
        if hasattr(result, "__aiter__"):
            async for _ in result:
                pass
        else:
            await result
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    return raised.value.details() or ""


async def _activate(stub: GatewayStub, job_type: str, *, job_timeout: int = 60_000, wait_ms: int = -1) -> list[Any]:
    jobs: list[Any] = []
    request = pb.ActivateJobsRequest(
        type=job_type, worker="hostile", timeout=job_timeout, maxJobsToActivate=10, requestTimeout=wait_ms
    )
    async for response in stub.ActivateJobs(request):
        jobs.extend(response.jobs)
    return jobs


def strict_loads(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not strict JSON")

    return json.loads(text, parse_constant=refuse)


def assert_log_is_strict_json(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "records.db") as db:
        for (text,) in db.execute("SELECT json FROM records"):
            text.encode("utf-8")  # no lone surrogate
            strict_loads(text)
        for (text,) in db.execute("SELECT payload FROM commands"):
            text.encode("utf-8")
            strict_loads(text)


HOSTILE_DOCUMENTS = {
    "nan": '{"a": NaN}',
    "infinity": '{"a": Infinity}',
    "minus-infinity": '{"a": [-Infinity]}',
    "overflowing-number": '{"a": 1e400}',
    "lone-surrogate-value": '{"s": "\\ud800"}',
    "lone-surrogate-key": '{"\\udfff": 1}',
    "too-deep": _nested(strict_json.MAX_NESTING_DEPTH + 1),
    "far-too-deep": _nested(970),
    "deeper-than-the-parser": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("document", HOSTILE_DOCUMENTS.values(), ids=HOSTILE_DOCUMENTS.keys())
async def test_hostile_variables_are_invalid_argument_on_all_nine_rpcs_taking_them(
    zeebe: EmbeddedEngine, stub: GatewayStub, document: str
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")

    for call in (
        lambda: stub.CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1, variables=document)
        ),
        lambda: stub.PublishMessage(pb.PublishMessageRequest(name="m", correlationKey="k", variables=document)),
        lambda: stub.BroadcastSignal(pb.BroadcastSignalRequest(signalName="s", variables=document)),
        lambda: stub.EvaluateDecision(pb.EvaluateDecisionRequest(decisionId="d", variables=document)),
        lambda: stub.CreateProcessInstanceWithResult(
            pb.CreateProcessInstanceWithResultRequest(
                request=pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1, variables=document)
            )
        ),
        lambda: stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=1, variables=document)),
        lambda: stub.CompleteJob(pb.CompleteJobRequest(jobKey=1, variables=document)),
        lambda: stub.FailJob(pb.FailJobRequest(jobKey=1, retries=1, variables=document)),
        lambda: stub.ThrowError(pb.ThrowErrorRequest(jobKey=1, errorCode="e", variables=document)),
    ):
        details = await _refused(call)
        assert "Property 'variables' is invalid" in details

    assert_log_is_strict_json(zeebe.data_dir)


async def test_documents_at_the_limits_are_accepted_and_round_trip(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    deep = json.loads(_nested(strict_json.MAX_NESTING_DEPTH))["v"]
    document = json.dumps({"deep": deep, "emoji": "\ud83d\ude00", "big": 2**70, "small": 1e-300})

    await stub.CreateProcessInstance(
        pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1, variables=document)
    )

    [job] = await _activate(stub, "gw.work")
    assert json.loads(job.variables) == {"deep": deep, "emoji": "😀", "big": 2**70, "small": 1e-300}
    assert_log_is_strict_json(zeebe.data_dir)


async def test_overflowing_job_timeout_is_refused_and_leaves_the_job_activatable(
    zeebe: EmbeddedEngine, stub: GatewayStub
) -> None:
    """Used to answer UNKNOWN (deadline beyond int64) after activating the jobs for good."""
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1))

    details = await _refused(lambda: _activate(stub, "gw.work", job_timeout=2**63 - 1))
    assert "'timeout'" in details

    assert len(await _activate(stub, "gw.work")) == 1


@pytest.mark.parametrize(
    ("field", "build"),
    [
        ("retries", lambda key: ("FailJob", pb.FailJobRequest(jobKey=key, retries=-1))),
        ("retryBackOff", lambda key: ("FailJob", pb.FailJobRequest(jobKey=key, retries=1, retryBackOff=-5))),
        ("retryBackOff", lambda key: ("FailJob", pb.FailJobRequest(jobKey=key, retries=1, retryBackOff=2**63 - 1))),
        ("timeout", lambda key: ("UpdateJobTimeout", pb.UpdateJobTimeoutRequest(jobKey=key, timeout=-1))),
        ("timeout", lambda key: ("UpdateJobTimeout", pb.UpdateJobTimeoutRequest(jobKey=key, timeout=2**63 - 1))),
        ("timeToLive", lambda key: ("PublishMessage", pb.PublishMessageRequest(name="m", timeToLive=-1))),
        ("timeToLive", lambda key: ("PublishMessage", pb.PublishMessageRequest(name="m", timeToLive=2**63 - 1))),
    ],
)
async def test_numbers_out_of_range_are_invalid_argument_naming_the_field(
    zeebe: EmbeddedEngine, stub: GatewayStub, field: str, build: Any
) -> None:
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1))
    [job] = await _activate(stub, "gw.work")
    rpc, request = build(job.key)

    details = await _refused(lambda: getattr(stub, rpc)(request))

    assert f"'{field}'" in details
    await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key))  # the job was left as it was


async def test_a_job_whose_answer_cannot_be_sent_is_made_activatable_again(
    zeebe: EmbeddedEngine, stub: GatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transport failing between activation and answer cannot be provoked deterministically over
    loopback, so the answer's encoding is made to fail; the undo path is the same (the gateway's
    ``_handed_over``)."""
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1))

    def unsendable(job: Any) -> Any:
        raise ValueError("cannot encode this job")

    with monkeypatch.context() as patch:
        patch.setattr(convert, "activated_job", unsendable)
        with pytest.raises(grpc.aio.AioRpcError):
            await _activate(stub, "gw.work")

    [job] = await _activate(stub, "gw.work", wait_ms=5_000)  # given back in the background
    assert job.retries == 2


async def test_a_client_chosen_key_never_becomes_an_engine_key(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    """A rejection record carries the key the client sent; the engine used to take the largest key in
    its log for its own after a restart, so ``CompleteJob(jobKey=2**63-1)`` made the next key overflow
    int64 and every later answer carrying a new key fail."""
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=2**63 - 1))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND

    await zeebe.restart()

    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        created = await GatewayStub(channel).CreateProcessInstance(
            pb.CreateProcessInstanceRequest(bpmnProcessId="gw-one-task", version=-1)
        )
    assert 0 < created.processInstanceKey < 2**52


def _bpmn(body: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<bpmn:definitions {BPMN_NS} id="d" targetNamespace="t">'
        f'<bpmn:process id="gw-hostile" isExecutable="true">{body}</bpmn:process></bpmn:definitions>'
    ).encode()


def _nested_sub_processes(levels: int) -> bytes:
    inner = '<bpmn:startEvent id="s0"/><bpmn:sequenceFlow id="f0" sourceRef="s0" targetRef="t0"/>'
    inner += '<bpmn:serviceTask id="t0"><bpmn:extensionElements><zeebe:taskDefinition type="gw.deep"/>'
    inner += "</bpmn:extensionElements></bpmn:serviceTask>"
    for level in range(1, levels + 1):
        inner = (
            f'<bpmn:startEvent id="s{level}"/><bpmn:sequenceFlow id="f{level}" sourceRef="s{level}" '
            f'targetRef="sub{level}"/><bpmn:subProcess id="sub{level}">{inner}</bpmn:subProcess>'
        )
    return _bpmn(inner)


BOMB = '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
DMN = (RESOURCES / "grade.dmn").read_text()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("entity.bpmn", _bpmn('<bpmn:startEvent id="s" name="&b;"/>', BOMB)),
        ("doctype.bpmn", _bpmn('<bpmn:startEvent id="s"/>', "<!DOCTYPE definitions>")),
        ("external.bpmn", _bpmn('<bpmn:startEvent id="s"/>', '<!DOCTYPE d SYSTEM "file:///etc/passwd">')),
        ("entity.dmn", DMN.replace("<definitions", BOMB + "<definitions", 1).replace("Exam grade", "&b;").encode()),
    ],
)
async def test_document_type_declarations_are_refused(stub: GatewayStub, name: str, content: bytes) -> None:
    details = await _refused(
        lambda: stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name=name, content=content)]))
    )
    assert "document type declaration" in details
    assert name in details


@pytest.mark.parametrize(
    "content", [b'{"id": "f", "components": [NaN]}', ('{"id": "f", "c": ' + _nested(200) + "}").encode()]
)
async def test_forms_must_be_strict_json(stub: GatewayStub, content: bytes) -> None:
    details = await _refused(
        lambda: stub.DeployResource(pb.DeployResourceRequest(resources=[pb.Resource(name="f.form", content=content)]))
    )
    assert "f.form" in details


async def test_too_deeply_nested_model_is_a_rejection_not_a_poison_command(
    zeebe: EmbeddedEngine, stub: GatewayStub
) -> None:
    """3,000 nested sub-processes used to fail inside the engine (INTERNAL), stay in the command log
    and fail again with a traceback on every start."""
    deploy = pb.DeployResourceRequest(resources=[pb.Resource(name="deep.bpmn", content=_nested_sub_processes(3_000))])

    details = await _refused(lambda: stub.DeployResource(deploy))

    assert "nested at most" in details
    await zeebe.restart()
    assert list(zeebe.engine.log.commands(kind="deploy")) == []
    assert zeebe.engine.replay_divergences == 0


async def test_nesting_within_the_limit_deploys_runs_and_snapshots(zeebe: EmbeddedEngine, stub: GatewayStub) -> None:
    """Close to ``safe_xml.MAX_ELEMENT_DEPTH`` (each level is one subProcess element), the engine still
    deploys, runs the innermost task and writes a snapshot of the deep instance on close."""
    levels = safe_xml.MAX_ELEMENT_DEPTH - 5
    deploy = pb.DeployResourceRequest(resources=[pb.Resource(name="deep.bpmn", content=_nested_sub_processes(levels))])
    await stub.DeployResource(deploy)
    created = await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(bpmnProcessId="gw-hostile", version=-1))
    [job] = await _activate(stub, "gw.deep")
    assert job.elementId == "t0"

    await zeebe.restart()

    assert zeebe.engine.snapshot_commands == 3  # deploy, create, activate: all restored from the snapshot
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        await GatewayStub(channel).CompleteJob(pb.CompleteJobRequest(jobKey=job.key))
    await zeebe.instance(created.processInstanceKey).wait_completed()


def test_output_is_strict_utf8_json_whatever_the_value() -> None:
    """Values that did get in before the input checks (or come from elsewhere) never break an answer."""
    for value in ({"s": "\ud800"}, {"a": float("nan"), "b": [float("inf")]}, {"big": 2**80, "t": "情况"}):
        text = convert.dump_json(value)
        text.encode("utf-8")
        strict_loads(text)


async def test_a_request_cancelled_while_its_activation_commits_gives_the_jobs_back(zeebe: EmbeddedEngine) -> None:
    """The activation is processed at once and answered after its commit; a client that goes away in
    between used to leave the jobs activated for nobody until their timeout."""
    await zeebe.deploy(RESOURCES / "one-task.bpmn")
    created = await zeebe.engine.create_process_instance(bpmn_process_id="gw-one-task")
    dispatcher = JobDispatcher(zeebe.engine)
    request = ActivationRequest(job_type="gw.work", worker="gone", timeout_ms=600_000, max_jobs=5)

    poll = asyncio.create_task(dispatcher.activate(request, long_poll_s=0))
    for _ in range(100):  # loop passes until the activation is processed (its commit still pending)
        if any(job.state == JOB_ACTIVATED for job in zeebe.engine.state.jobs.values()):
            break
        await asyncio.sleep(0)
    assert not poll.done()
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll

    jobs = await asyncio.wait_for(_activated_again(zeebe, "gw.work"), timeout=10)
    assert [job.process_instance_key for job in jobs] == [created.process_instance_key]


async def _activated_again(zeebe: EmbeddedEngine, job_type: str) -> list[Any]:
    while True:
        jobs = await zeebe.engine.activate_jobs(job_type=job_type, worker="next", timeout_ms=60_000, max_jobs=5)
        if jobs:
            return jobs
        await zeebe.engine.wait_for_jobs(job_type, 1.0)
