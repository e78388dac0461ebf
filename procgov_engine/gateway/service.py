"""The Zeebe gateway protocol (``gateway_protocol.Gateway``) over the engine's command surface.

Each RPC parses its request (JSON documents, tenant defaults), calls one :class:`procgov_engine.api.EngineApi`
command and converts the result. Semantics follow Zeebe's gateway.proto and the Camunda 8 docs
("Zeebe API (gRPC)"). Deviations:

- ModifyProcessInstance, MigrateProcessInstance and DeleteResource answer UNIMPLEMENTED;
- multi-tenancy is off: BroadcastSignal with a tenant other than ``<default>`` is INVALID_ARGUMENT
  (Zeebe's wording); the other RPCs pass the tenant to the engine;
- a job activated for a client that vanished before receiving it is handed back with FailJob
  (unchanged retries, no back-off), which writes a JOB FAILED record where Zeebe writes JOB YIELDED.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, NoReturn, TypeAlias

import grpc
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc

from procgov_engine.api import DEFAULT_TENANT, EngineApi, Rejection, RequestTimeout, Resource
from procgov_engine.gateway import convert
from procgov_engine.gateway.convert import InvalidRequest, parse_variables
from procgov_engine.gateway.errors import rejection_status
from procgov_engine.gateway.job_result import InvalidJobResult, job_result
from procgov_engine.gateway.jobs import ActivationRequest, JobDispatcher

log = logging.getLogger(__name__)

DEFAULT_LONG_POLL_S = 10.0
"""Long-polling timeout for ActivateJobs with ``requestTimeout == 0`` (Zeebe gateway's default, 10 s)."""

DEFAULT_REQUEST_TIMEOUT_MS = 15_000
"""Timeout of CreateProcessInstanceWithResult with ``requestTimeout == 0`` (Zeebe's default request timeout)."""

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"

MAX_DURATION_MS = 2**62
"""Largest duration (job timeout, back-off, time to live) a request may give, in ms (~146 million
years). Zeebe documents no bound, but the engine adds durations to the clock's epoch milliseconds and
records them as int64: ``2**63 - 1`` used to overflow the deadline (answered UNKNOWN after the jobs
were activated). Any duration up to this bound still fits."""


_JOB_COMPLETED = pb.CompleteJobResponse()
"""CompleteJob's answer has no fields: one instance, never changed, serves every call."""


def _duration_ms(value: int, field: str, *, minimum: int = 0) -> int:
    """``value`` if it lies in ``minimum..MAX_DURATION_MS``, else INVALID_ARGUMENT naming ``field``."""
    if not minimum <= value <= MAX_DURATION_MS:
        raise InvalidRequest(
            f"Expected '{field}' to be a duration between {minimum} and {MAX_DURATION_MS} ms, but was {value}"
        )
    return value


def _deadline_margin(remaining_s: float) -> float:
    """Time kept back from the client's deadline so that the answer arrives before it expires."""
    return max(0.05, min(1.0, remaining_s * 0.1))


def _bounded_by_deadline(context: Context, wanted_s: float) -> float:
    remaining = context.time_remaining()
    if remaining is None:
        return wanted_s
    return max(0.0, min(wanted_s, remaining - _deadline_margin(remaining)))


async def _abort(context: Context, error: Exception, intent: str) -> NoReturn:
    """Answer ``error``, raised by one engine command, with Zeebe's status and wording (always raises).

    The hot RPCs call this from a plain ``except`` instead of running inside :func:`_command`: an
    async context manager costs an async generator and two awaits per call even when nothing fails."""
    if isinstance(error, Rejection):
        code, details = rejection_status(error, intent)
        await context.abort(code, details)
    elif isinstance(error, InvalidRequest):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    elif isinstance(error, RequestTimeout):
        await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, str(error) or "request timed out")
    elif isinstance(error, grpc.aio.AbortError):
        raise error
    else:
        log.error("command %s failed inside the engine", intent, exc_info=error)
        await context.abort(
            grpc.StatusCode.INTERNAL, f"Command '{intent}' failed inside the engine: {type(error).__name__}: {error}"
        )
    raise AssertionError("unreachable")  # context.abort raises


@asynccontextmanager
async def _command(context: Context, intent: str) -> AsyncIterator[None]:
    """Run one engine command, answering rejections and bad input with Zeebe's status and wording."""
    try:
        yield
    except Exception as error:
        await _abort(context, error, intent)


async def _unimplemented(context: Context, rpc: str) -> NoReturn:
    await context.abort(
        grpc.StatusCode.UNIMPLEMENTED,
        f"{rpc} is not supported by the embedded procgov engine; use a Camunda 8 cluster for it",
    )
    raise AssertionError("unreachable")  # context.abort raises


def _activation_request(
    job_type: str, worker: str, timeout_ms: int, max_jobs: int, fetch: Any, tenant_ids: Any
) -> ActivationRequest:
    if not job_type:
        raise InvalidRequest("Expected to activate jobs of a type, but the job type is empty")
    if timeout_ms < 1:
        raise InvalidRequest(f"Expected job activation timeout to be greater than 0 ms, but was {timeout_ms}")
    _duration_ms(timeout_ms, "timeout", minimum=1)
    if max_jobs < 1:
        raise InvalidRequest(f"Expected to activate at least 1 job (maxJobsToActivate), but was {max_jobs}")
    return ActivationRequest(
        job_type=job_type,
        worker=worker,
        timeout_ms=timeout_ms,
        max_jobs=max_jobs,
        fetch_variables=tuple(fetch),
        tenant_ids=tuple(convert.tenants(tenant_ids)),
    )


class GatewayService(gateway_pb2_grpc.GatewayServicer):
    """Implements every Zeebe gateway RPC the embedded engine supports."""

    def __init__(self, engine: EngineApi, broker_address: tuple[str, int] | None = None) -> None:
        self._engine = engine
        self.jobs = JobDispatcher(engine)
        self._broker_address = broker_address

    async def close(self) -> None:
        await self.jobs.close()

    # -- cluster ---------------------------------------------------------------------------------

    async def Topology(self, request: pb.TopologyRequest, context: Context) -> pb.TopologyResponse:
        return convert.topology(self._engine.topology())

    # -- deployments -----------------------------------------------------------------------------

    async def DeployResource(self, request: pb.DeployResourceRequest, context: Context) -> pb.DeployResourceResponse:
        async with _command(context, "CREATE"):
            if not request.resources:
                raise InvalidRequest("Expected to deploy at least one resource, but none given")
            resources = [Resource(name=r.name, content=r.content) for r in request.resources]
            deployment = await self._engine.deploy(resources, tenant_id=convert.tenant(request.tenantId))
        return pb.DeployResourceResponse(
            key=deployment.key, deployments=convert.deployments(deployment), tenantId=deployment.tenant_id
        )

    async def DeployProcess(self, request: pb.DeployProcessRequest, context: Context) -> pb.DeployProcessResponse:
        """Deprecated since Zeebe 8.0 in favour of DeployResource; kept for old clients."""
        async with _command(context, "CREATE"):
            if not request.processes:
                raise InvalidRequest("Expected to deploy at least one resource, but none given")
            resources = [Resource(name=p.name, content=p.definition) for p in request.processes]
            deployment = await self._engine.deploy(resources)
        return pb.DeployProcessResponse(
            key=deployment.key,
            processes=[d.process for d in convert.deployments(deployment) if d.WhichOneof("Metadata") == "process"],
        )

    # -- process instances -----------------------------------------------------------------------

    @staticmethod
    def _creation_args(request: pb.CreateProcessInstanceRequest) -> dict[str, Any]:
        if not request.bpmnProcessId and request.processDefinitionKey <= 0:
            raise InvalidRequest(
                "Expected at least a bpmnProcessId or a processDefinitionKey greater than 0, but none given"
            )
        return {
            "bpmn_process_id": request.bpmnProcessId or None,
            "process_definition_key": None if request.bpmnProcessId else request.processDefinitionKey,
            "version": request.version,
            "variables": parse_variables(request.variables),
            "start_element_ids": [i.elementId for i in request.startInstructions],
            "tenant_id": convert.tenant(request.tenantId),
        }

    async def CreateProcessInstance(
        self, request: pb.CreateProcessInstanceRequest, context: Context
    ) -> pb.CreateProcessInstanceResponse:
        try:
            created = await self._engine.create_process_instance(**self._creation_args(request))
        except Exception as error:
            await _abort(context, error, "CREATE")
        return pb.CreateProcessInstanceResponse(
            processDefinitionKey=created.process_definition_key,
            bpmnProcessId=created.bpmn_process_id,
            version=created.version,
            processInstanceKey=created.process_instance_key,
            tenantId=created.tenant_id,
        )

    async def CreateProcessInstanceWithResult(
        self, request: pb.CreateProcessInstanceWithResultRequest, context: Context
    ) -> pb.CreateProcessInstanceWithResultResponse:
        wanted_ms = request.requestTimeout if request.requestTimeout > 0 else DEFAULT_REQUEST_TIMEOUT_MS
        timeout_ms = int(_bounded_by_deadline(context, wanted_ms / 1000) * 1000)
        async with _command(context, "CREATE_WITH_AWAITING_RESULT"):
            result = await self._engine.create_process_instance_with_result(
                **self._creation_args(request.request),
                request_timeout_ms=max(timeout_ms, 1),
                fetch_variables=list(request.fetchVariables),
            )
        return pb.CreateProcessInstanceWithResultResponse(
            processDefinitionKey=result.process_definition_key,
            bpmnProcessId=result.bpmn_process_id,
            version=result.version,
            processInstanceKey=result.process_instance_key,
            variables=convert.dump_json(result.variables),
            tenantId=result.tenant_id,
        )

    async def CancelProcessInstance(
        self, request: pb.CancelProcessInstanceRequest, context: Context
    ) -> pb.CancelProcessInstanceResponse:
        async with _command(context, "CANCEL"):
            await self._engine.cancel_process_instance(request.processInstanceKey)
        return pb.CancelProcessInstanceResponse()

    async def SetVariables(self, request: pb.SetVariablesRequest, context: Context) -> pb.SetVariablesResponse:
        async with _command(context, "UPDATE"):
            key = await self._engine.set_variables(
                request.elementInstanceKey, parse_variables(request.variables), local=request.local
            )
        return pb.SetVariablesResponse(key=key)

    async def ResolveIncident(self, request: pb.ResolveIncidentRequest, context: Context) -> pb.ResolveIncidentResponse:
        async with _command(context, "RESOLVE"):
            await self._engine.resolve_incident(request.incidentKey)
        return pb.ResolveIncidentResponse()

    async def ModifyProcessInstance(
        self, request: pb.ModifyProcessInstanceRequest, context: Context
    ) -> pb.ModifyProcessInstanceResponse:
        await _unimplemented(context, "ModifyProcessInstance")

    async def MigrateProcessInstance(
        self, request: pb.MigrateProcessInstanceRequest, context: Context
    ) -> pb.MigrateProcessInstanceResponse:
        await _unimplemented(context, "MigrateProcessInstance")

    async def DeleteResource(self, request: pb.DeleteResourceRequest, context: Context) -> pb.DeleteResourceResponse:
        await _unimplemented(context, "DeleteResource")

    # -- jobs ------------------------------------------------------------------------------------

    async def ActivateJobs(
        self, request: pb.ActivateJobsRequest, context: Context
    ) -> AsyncIterator[pb.ActivateJobsResponse]:
        """Zeebe docs, "Job workers" → "Long polling": wait up to ``requestTimeout`` (0 → 10 s, < 0 →
        no waiting) for jobs, but always answer before the client's own deadline."""
        try:
            activation = _activation_request(
                request.type,
                request.worker,
                request.timeout,
                request.maxJobsToActivate,
                request.fetchVariable,
                request.tenantIds,
            )
            if request.requestTimeout < 0:
                long_poll_s = 0.0
            else:
                wanted = request.requestTimeout / 1000 if request.requestTimeout > 0 else DEFAULT_LONG_POLL_S
                long_poll_s = _bounded_by_deadline(context, wanted)
            jobs = await self.jobs.activate(activation, long_poll_s)
        except Exception as error:
            await _abort(context, error, "ACTIVATE")
        if jobs:
            # If the answer cannot be built or sent (the client went away, a value cannot be encoded),
            # the activation is undone, so that no job stays activated for a client that never got it.
            try:
                yield pb.ActivateJobsResponse(jobs=[convert.activated_job(job) for job in jobs])
            except BaseException:
                self.jobs.give_back_later(jobs)
                raise

    async def StreamActivatedJobs(
        self, request: pb.StreamActivatedJobsRequest, context: Context
    ) -> AsyncIterator[pb.ActivatedJob]:
        """Zeebe docs, "Job workers" → "Job streaming": push jobs until the client cancels the stream."""
        try:
            activation = _activation_request(
                request.type, request.worker, request.timeout, 1, request.fetchVariable, request.tenantIds
            )
        except Exception as error:
            await _abort(context, error, "ACTIVATE")
        async with contextlib.aclosing(self.jobs.stream(activation)) as stream:
            async for job in stream:
                try:  # as in ActivateJobs: a job that did not reach the client is given back
                    yield convert.activated_job(job)
                except BaseException:
                    self.jobs.give_back_later([job])
                    raise

    async def CompleteJob(self, request: pb.CompleteJobRequest, context: Context) -> pb.CompleteJobResponse:
        try:
            try:
                result = job_result(request)  # Camunda 8.8's CompleteJobRequest.result (a task listener's)
            except InvalidJobResult as error:
                raise InvalidRequest(str(error)) from None
            await self._engine.complete_job(request.jobKey, parse_variables(request.variables), result=result)
        except Exception as error:
            await _abort(context, error, "COMPLETE")
        return _JOB_COMPLETED

    async def FailJob(self, request: pb.FailJobRequest, context: Context) -> pb.FailJobResponse:
        try:
            if request.retries < 0:
                raise InvalidRequest(f"Expected 'retries' to be zero or more, but was {request.retries}")
            await self._engine.fail_job(
                request.jobKey,
                retries=request.retries,
                error_message=request.errorMessage,
                retry_backoff_ms=_duration_ms(request.retryBackOff, "retryBackOff"),
                variables=parse_variables(request.variables),
            )
        except Exception as error:
            await _abort(context, error, "FAIL")
        return pb.FailJobResponse()

    async def ThrowError(self, request: pb.ThrowErrorRequest, context: Context) -> pb.ThrowErrorResponse:
        async with _command(context, "THROW_ERROR"):
            if not request.errorCode:
                raise InvalidRequest("Expected to throw an error with a non-empty errorCode, but it was empty")
            await self._engine.throw_error(
                request.jobKey,
                error_code=request.errorCode,
                error_message=request.errorMessage,
                variables=parse_variables(request.variables),
            )
        return pb.ThrowErrorResponse()

    async def UpdateJobRetries(
        self, request: pb.UpdateJobRetriesRequest, context: Context
    ) -> pb.UpdateJobRetriesResponse:
        async with _command(context, "UPDATE_RETRIES"):
            if request.retries < 1:
                raise InvalidRequest(f"Expected retries to be greater than zero, but it was {request.retries}")
            await self._engine.update_job_retries(request.jobKey, request.retries)
        return pb.UpdateJobRetriesResponse()

    async def UpdateJobTimeout(
        self, request: pb.UpdateJobTimeoutRequest, context: Context
    ) -> pb.UpdateJobTimeoutResponse:
        async with _command(context, "UPDATE_TIMEOUT"):
            await self._engine.update_job_timeout(request.jobKey, _duration_ms(request.timeout, "timeout"))
        return pb.UpdateJobTimeoutResponse()

    # -- messages, signals, decisions ------------------------------------------------------------

    async def PublishMessage(self, request: pb.PublishMessageRequest, context: Context) -> pb.PublishMessageResponse:
        async with _command(context, "PUBLISH"):
            if not request.name:
                raise InvalidRequest("Expected to publish a message with a non-empty name, but it was empty")
            tenant_id = convert.tenant(request.tenantId)
            key = await self._engine.publish_message(
                name=request.name,
                correlation_key=request.correlationKey,
                time_to_live_ms=_duration_ms(request.timeToLive, "timeToLive"),
                message_id=request.messageId,
                variables=parse_variables(request.variables),
                tenant_id=tenant_id,
            )
        return pb.PublishMessageResponse(key=key, tenantId=tenant_id)

    async def BroadcastSignal(self, request: pb.BroadcastSignalRequest, context: Context) -> pb.BroadcastSignalResponse:
        async with _command(context, "BROADCAST"):
            tenant_id = convert.tenant(request.tenantId)
            if tenant_id != DEFAULT_TENANT:
                raise InvalidRequest(
                    f"Expected to handle gRPC request BroadcastSignal with tenant identifier '{tenant_id}', "
                    "but multi-tenancy is disabled"
                )
            if not request.signalName:
                raise InvalidRequest("Expected to broadcast a signal with a non-empty name, but it was empty")
            key = await self._engine.broadcast_signal(request.signalName, parse_variables(request.variables))
        return pb.BroadcastSignalResponse(key=key, tenantId=tenant_id)

    async def EvaluateDecision(
        self, request: pb.EvaluateDecisionRequest, context: Context
    ) -> pb.EvaluateDecisionResponse:
        async with _command(context, "EVALUATE"):
            if not request.decisionId and request.decisionKey <= 0:
                raise InvalidRequest("Expected either a decision id or a valid decision key, but none provided")
            result = await self._engine.evaluate_decision(
                decision_key=None if request.decisionId else request.decisionKey,
                decision_id=request.decisionId or None,
                variables=parse_variables(request.variables),
                tenant_id=convert.tenant(request.tenantId),
            )
        return convert.decision_evaluation(result)
