"""``TaskRouter``: typed handlers and recorded decisions, adapted to pyzeebe.

A group builds a router at import-free start-up (``build_router(deps)``); the worker app binds it to
the runtime's services (decision log, retry policy, telemetry, per-type settings) and hands the
resulting pyzeebe router to ``ZeebeWorker``. Handlers see only their typed input (and, if they ask,
a :class:`JobContext`); everything Zeebe-specific happens here and in :mod:`workers.runtime.policy`.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar

import structlog
from pydantic import AliasChoices, AliasPath, BaseModel, ValidationError
from pyzeebe import Job, ZeebeTaskRouter

from workers.runtime.context import JobContext
from workers.runtime.deadline import (
    DEFAULT_MARGIN_MS,
    JOB_GONE_ERRORS,
    job_fields,
    job_timeout_ms,
    log_lost_job,
    run_within_deadline,
)
from workers.runtime.decisions import Decision, RuleSet
from workers.runtime.errors import BusinessError, JobTimeoutError, PermanentError, TransientError
from workers.runtime.jobs import JobObserver
from workers.runtime.policy import Complete, InvalidInputError, RetryPolicy, apply, decide, outcome_label
from workers.runtime.stores.decisions import DecisionLog
from workers.runtime.tracing import TRACEPARENT

log = structlog.get_logger("workers.runtime.router")

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT_MS = 30_000
EXPECTED_ERRORS = (BusinessError, TransientError, PermanentError, InvalidInputError)  # logged without a traceback
DEFAULT_MAX_RUNNING_JOBS = 8


def _worker_version() -> str:
    try:
        return metadata.version("procgov")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "0+unknown"


WORKER_VERSION = _worker_version()


@dataclass(frozen=True)
class TaskOverride:
    """Per job type settings that win over the task's declaration (from ``PROCGOV_TASKS``)."""

    timeout_ms: int | None = None
    max_running_jobs: int | None = None
    max_jobs_to_activate: int | None = None
    retries: int | None = None


@dataclass
class RuntimeServices:
    """What the runtime gives every router when a worker app (or the ``run_workers`` fixture) starts."""

    decision_log: DecisionLog | None = None
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    observer: JobObserver = field(default_factory=JobObserver)
    worker_version: str = WORKER_VERSION
    overrides: Mapping[str, TaskOverride] = field(default_factory=dict)
    deadline_margin_ms: int = DEFAULT_MARGIN_MS  # handlers are cut off this long before the job's deadline


@dataclass
class _Spec:
    job_type: str
    input_model: builtins.type[BaseModel]
    run: Callable[[BaseModel, JobContext, RuntimeServices], Any]  # coroutine: returns variables dict
    timeout_ms: int
    max_running_jobs: int
    max_jobs_to_activate: int
    retries: int
    invalid_input_error: str | None


def _variable_names(name: str, info: Any) -> list[str]:
    """The job variables one field may be read from: its validation alias(es), alias, or name."""
    alias = info.validation_alias
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices | AliasPath):
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        found = []
        for choice in choices:
            first = choice if isinstance(choice, str) else choice.path[0]
            if isinstance(first, str) and first not in found:
                found.append(first)
        return found
    return [info.alias or name]


def fetch_variables(model: builtins.type[BaseModel]) -> list[str]:
    """The job variables a model reads: each field's alias(es) (or name), plus ``traceparent``."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        names.extend(n for n in _variable_names(name, info) if n not in names)
    if TRACEPARENT not in names:
        names.append(TRACEPARENT)
    return names


@functools.cache
def _input_names(model: builtins.type[BaseModel]) -> frozenset[str]:
    """The variables :func:`validate_input` passes to ``model`` (worked out once per model, not per job)."""
    wanted = set(fetch_variables(model))
    if TRACEPARENT not in model.model_fields:
        wanted.discard(TRACEPARENT)
    return frozenset(wanted)


def validate_input(model: type[BaseModel], variables: Mapping[str, Any]) -> BaseModel:
    wanted = _input_names(model)
    try:
        return model.model_validate({k: v for k, v in variables.items() if k in wanted})
    except ValidationError as error:
        raise InvalidInputError(model, error) from error


def load_dumped(model: builtins.type[BaseModel], data: Mapping[str, Any]) -> BaseModel:
    """Rebuild a model from its ``model_dump(mode="json", by_alias=True)`` (a recorded output): keys
    written under a field's serialization alias are read back under the key validation expects."""
    mapped = dict(data)
    for name, info in model.model_fields.items():
        written = info.serialization_alias or info.alias or name
        expected = info.validation_alias if isinstance(info.validation_alias, str) else (info.alias or name)
        if written != expected and written in mapped:
            mapped[expected] = mapped.pop(written)
    return model.model_validate(mapped)


def dump_output(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"{where} returned {type(value).__name__}; a handler returns a pydantic model or None")


def _handler_shape(handler: Callable[..., Any]) -> tuple[type[BaseModel], str | None]:
    """The input model (first parameter) and the name of the JobContext parameter, if any."""
    try:
        hints = typing.get_type_hints(handler)
    except NameError as error:
        raise TypeError(
            f"handler {handler.__qualname__}: cannot resolve its annotations ({error}); "
            "define the input/output models at module level"
        ) from error
    params = list(inspect.signature(handler).parameters.values())
    if not params:
        raise TypeError(f"handler {handler.__qualname__} needs a pydantic model as its first parameter")
    model = hints.get(params[0].name)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"handler {handler.__qualname__}: first parameter must be annotated with a pydantic model")
    context_param = None
    for param in params[1:]:
        if hints.get(param.name) is JobContext:
            context_param = param.name
        elif param.default is inspect.Parameter.empty:
            raise TypeError(f"handler {handler.__qualname__}: parameter {param.name!r} must be a JobContext")
    return model, context_param


class TaskRouter:
    """A group's tasks. ``group`` names the router in logs; job types are ``<group>.<verb-noun>``."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._specs: dict[str, _Spec] = {}

    @property
    def task_types(self) -> list[str]:
        return list(self._specs)

    def _add(self, spec: _Spec) -> None:
        if spec.job_type in self._specs:
            raise ValueError(f"task type {spec.job_type!r} is registered twice in router {self.group!r}")
        self._specs[spec.job_type] = spec

    def task(
        self,
        type: str,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        max_running_jobs: int = DEFAULT_MAX_RUNNING_JOBS,
        max_jobs_to_activate: int | None = None,
        retries: int = 3,
        invalid_input_error: str | None = None,
    ) -> Callable[[F], F]:
        """Register a handler for job ``type`` (decorator; the function is returned unchanged).

        ``retries`` is what the BPMN task definition declares (Zeebe's default 3); the back-off grows
        with each attempt. ``timeout_ms`` is the job's activation timeout: the handler is cut off a
        safety margin before it and the job failed for a retry (:mod:`workers.runtime.deadline`), so
        size it to cover the handler's slowest calls (SMTP, webhooks) with room to spare.
        ``invalid_input_error`` makes invalid input a BPMN error instead of an incident.
        """

        def register(handler: F) -> F:
            model, context_param = _handler_shape(handler)
            is_async = inspect.iscoroutinefunction(handler)
            where = f"handler {handler.__qualname__} ({type})"

            async def run(request: BaseModel, job: JobContext, _services: RuntimeServices) -> dict[str, Any]:
                kwargs = {context_param: job} if context_param else {}
                if is_async:
                    result = await handler(request, **kwargs)
                else:
                    result = await asyncio.to_thread(functools.partial(handler, request, **kwargs))
                return dump_output(result, where)

            self._add(
                _Spec(
                    type,
                    model,
                    run,
                    timeout_ms,
                    max_running_jobs,
                    max_jobs_to_activate or max_running_jobs,
                    retries,
                    invalid_input_error,
                )
            )
            return handler

        return register

    def decision_task(
        self,
        type: str,
        decision: Decision[Any, Any, Any],
        rules: RuleSet[Any],
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        max_running_jobs: int = DEFAULT_MAX_RUNNING_JOBS,
        retries: int = 3,
        invalid_input_error: str | None = None,
    ) -> None:
        """Register a recorded decision: validate → evaluate → record (once per job key) → complete, or
        throw ``decision.business_error(output)`` after recording. A re-delivered job gets the recorded
        output, so a retry never decides differently."""
        if rules.decision is not decision and rules.decision.name != decision.name:
            raise ValueError(f"rules for {rules.decision.name!r} given to decision task {type!r} ({decision.name!r})")

        async def run(request: BaseModel, job: JobContext, services: RuntimeServices) -> dict[str, Any]:
            if services.decision_log is None:
                raise RuntimeError(f"decision task {type!r} runs without a decision log (no store configured)")
            output = decision.evaluate(request, rules.rules)
            outputs = dump_output(output, f"decision {decision.name}")
            record = await asyncio.to_thread(
                services.decision_log.append,
                job_key=job.key,
                process_instance_key=job.process_instance_key,
                bpmn_process_id=job.bpmn_process_id,
                element_id=job.element_id,
                decision=decision.name,
                rule_version=rules.version,
                rule_text=rules.text,
                worker_version=services.worker_version,
                inputs=request.model_dump(mode="json", by_alias=True),
                outputs=outputs,
                recorded_at=job.activated_at,  # the engine's clock: audit checks it against the job's records
            )
            if record.outputs != outputs:
                log.info("job re-delivered: returning the recorded decision", seq=record.seq)
                output = load_dumped(decision.output_model, record.outputs)
            if decision.business_error is not None:
                error = decision.business_error(output)
                if error is not None:
                    raise error
            return dict(record.outputs)

        self._add(
            _Spec(
                type,
                decision.input_model,
                run,
                timeout_ms,
                max_running_jobs,
                max_running_jobs,
                retries,
                invalid_input_error,
            )
        )

    async def handle(
        self,
        job_type: str,
        variables: Mapping[str, Any],
        job: JobContext,
        services: RuntimeServices | None = None,
    ) -> dict[str, Any]:
        """Run one job of ``job_type`` as the worker would, minus Zeebe: validate ``variables``, run the
        handler (or decision), return the CompleteJob variables. Errors propagate as raised
        (:class:`BusinessError`, :class:`InvalidInputError`, …); :func:`workers.runtime.policy.decide`
        says what the worker would send for them. Meant for the groups' handler tests."""
        spec = self._specs.get(job_type)
        if spec is None:
            raise KeyError(f"router {self.group!r} has no task {job_type!r} (has: {', '.join(self._specs)})")
        request = validate_input(spec.input_model, variables)
        return await spec.run(request, job, services or RuntimeServices())  # type: ignore[no-any-return]

    def to_pyzeebe(self, services: RuntimeServices) -> ZeebeTaskRouter:
        """The pyzeebe router running these tasks with ``services``."""
        observer = services.observer
        router = ZeebeTaskRouter(before=[observer.before], after=[observer.after])
        for spec in self._specs.values():
            override = services.overrides.get(spec.job_type, TaskOverride())
            policy = RetryPolicy(
                base_ms=services.retry_policy.base_ms,
                max_ms=services.retry_policy.max_ms,
                budget_ms=services.retry_policy.budget_ms,
                initial_retries=override.retries or spec.retries,
            )
            max_running = override.max_running_jobs or spec.max_running_jobs
            timeout_ms = override.timeout_ms or spec.timeout_ms
            router.task(
                spec.job_type,
                exception_handler=_exception_handler(spec, policy, observer),
                variables_to_fetch=fetch_variables(spec.input_model),
                timeout_ms=timeout_ms,
                max_jobs_to_activate=min(override.max_jobs_to_activate or spec.max_jobs_to_activate, max_running),
                max_running_jobs=max_running,
            )(_job_function(spec, services, timeout_ms))
        return router


def _job_function(spec: _Spec, services: RuntimeServices, timeout_ms: int) -> Callable[..., Any]:
    """``timeout_ms``: the activation timeout requested for this type, so the handler's
    ``JobContext.activated_at`` (deadline − timeout) is on the engine's clock."""

    async def run_job(job: Job, **_fetched: Any) -> dict[str, Any]:
        request = validate_input(spec.input_model, job.variables)
        context = JobContext.from_job(job, timeout_ms=timeout_ms)
        variables = await run_within_deadline(
            spec.run(request, context, services),
            job_type=spec.job_type,
            timeout_ms=job_timeout_ms(context, timeout_ms),
            margin_ms=services.deadline_margin_ms,
        )
        services.observer.record(Complete(variables))
        return variables

    # pyzeebe finds the Job parameter by its annotation object (a string under PEP 563 would not match).
    signature = inspect.Signature(
        [
            inspect.Parameter("job", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Job),
            inspect.Parameter("_fetched", inspect.Parameter.VAR_KEYWORD),
        ]
    )
    setattr(run_job, "__signature__", signature)  # noqa: B010
    run_job.__name__ = run_job.__qualname__ = f"job[{spec.job_type}]"
    return run_job


def _exception_handler(spec: _Spec, policy: RetryPolicy, observer: JobObserver) -> Any:
    async def handle(error: Exception, job: Job, controller: Any) -> None:
        command = decide(error, retries=job.retries, policy=policy, invalid_input_error=spec.invalid_input_error)
        if isinstance(error, JobTimeoutError):
            observer.timed_out(job.type)
            if error.lock_expired:
                # The job belongs to whichever worker activates it next: send nothing for it.
                observer.record(command, error, sent=False)
                log.warning(
                    "handler cut off after the job's lock expired; sending nothing (the job is re-activated)",
                    timeout_ms=error.timeout_ms,
                    **job_fields(job),
                )
                return
            log.warning("handler cut off at the job's deadline", timeout_ms=error.timeout_ms, **job_fields(job))
        observer.record(command, error)
        log.warning(
            "job not completed",
            outcome=outcome_label(command),
            error=str(error),
            error_type=type(error).__name__,
            command=repr(command),
            exc_info=not isinstance(error, EXPECTED_ERRORS),
        )
        try:
            await apply(command, job, controller)
        except JOB_GONE_ERRORS as gone:
            log_lost_job(job, type(command).__name__, gone)
        except Exception:
            # The job times out and comes back; the after-hooks must still run.
            log.error("could not send the job's outcome to the gateway", exc_info=True)

    return handle
