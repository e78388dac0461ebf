"""``audit.guard-user-task``: the completing and assigning task listener of procgov's user tasks.

Camunda docs, "User task listeners": a listener blocks the task's transition until its job completes, and
may deny it (``result.denied`` + ``deniedReason``): the task stays ``CREATED``, the engine writes
``USER_TASK COMPLETION_DENIED`` / ``ASSIGNMENT_DENIED`` with the reason, and the command that asked for
it is rejected (REST 409). This worker decides with :func:`workers.audit.guard_rules.judge` from:

- the listener job (REST ``POST /v2/jobs/activation``): the task's key, assignee (the new one when
  assigning) and form key in Zeebe's ``io.camunda.zeebe:*`` headers, and only the instance variables the
  rule table names (``fetchVariable``);
- the completion's variables: the ``USER_TASK COMPLETING`` record of this attempt in the engine's
  records (the audit record source: the embedded engine's log, an exporter file, or Elasticsearch), the
  last one of the task before this listener job was created. The records are the one place that holds
  exactly what the person sent: a listener job's variables are the instance's (Zeebe 8.8 merges the
  completion's variables into them, so which ones the person wrote cannot be told from them);
- the task's form (``GET /v2/user-tasks/{key}/form``), cached by form key (a deployed form never
  changes).

Answers go over REST (pyzeebe's CompleteJobRequest has no ``result``): :mod:`workers.runtime.rest_jobs`.
Anything the guard cannot establish (records not there yet, REST or the record source unreachable) is
FailJob with back-off, never an allow: the task waits, and after the retries an incident
(``TASK_LISTENER_NO_RETRIES``) says why. The same facts give the same verdict, so a re-delivered job is
answered alike.

    procgov guard                   # or: python -m workers.audit.guard
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.audit.guard_rules import (
    ASSIGNING,
    COMPLETING,
    Directory,
    FieldTree,
    GuardRequest,
    GuardRules,
    GuardRulesError,
    form_fields,
    judge,
    load_rules,
    parse_directory,
)
from workers.audit.records import Record
from workers.audit.router import AuditSettings
from workers.audit.sources import RecordSource, SourceError
from workers.runtime.bundled import bundled
from workers.runtime.errors import PermanentError, RetryLaterError, TransientError
from workers.runtime.health import HealthServer
from workers.runtime.jobs import JobObserver
from workers.runtime.logs import configure_logging, get_logger
from workers.runtime.metrics import WorkerMetrics
from workers.runtime.policy import RetryPolicy
from workers.runtime.rest_jobs import ListenerResult, RestJob, RestJobApi, RestJobWorker, rest_auth
from workers.runtime.settings import WorkerSettings, load_settings
from workers.runtime.tracing import TRACEPARENT, create_tracer_provider

GUARD_JOB_TYPE = "audit.guard-user-task"
TASK_KEY = "io.camunda.zeebe:userTaskKey"
ASSIGNEE = "io.camunda.zeebe:assignee"
FORM_KEY = "io.camunda.zeebe:formKey"

log = get_logger("workers.audit.guard")


class GuardSettings(BaseSettings):
    """``PROCGOV_AUDIT_GUARD__*``: the rule table, the directory, the listener job's lock and retries."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_AUDIT_GUARD__", env_file=".env", extra="ignore")

    rules: Path = Field(default_factory=lambda: bundled("data", "audit", "guard-rules.yaml"))
    directory: Path = Field(default_factory=lambda: bundled("data", "slm", "departments.yaml"))
    timeout_ms: int = Field(default=30_000, gt=0)
    retries: int = Field(default=3, ge=1)  # the models' listener retries, for the back-off's budget
    max_jobs: int = Field(default=8, gt=0)
    poll_ms: int = Field(default=10_000, gt=0)


class FormReader:
    """The fields of a task's linked form over REST, cached by form key."""

    def __init__(self, api: RestJobApi) -> None:
        self.api = api
        self._cache: dict[str, tuple[str | None, FieldTree]] = {}

    async def fields(self, task_key: int, form_key: str | None) -> tuple[str | None, FieldTree | None]:
        if not form_key:
            return None, None
        if form_key not in self._cache:
            form = await self.api.get(f"/user-tasks/{task_key}/form", f"the form of user task {task_key}")
            if form is None:
                return None, None
            schema = form.get("schema")
            parsed = json.loads(schema) if isinstance(schema, str) else schema
            if not isinstance(parsed, Mapping):
                raise PermanentError(f"the form of user task {task_key} (form key {form_key}) has no schema")
            self._cache[form_key] = (form.get("formId") or parsed.get("id"), form_fields(parsed))
        return self._cache[form_key]


def completing_record(records: list[Record], job_key: int, task_key: int) -> Record | None:
    """The ``USER_TASK COMPLETING`` event this listener job guards: the task's last one before the job was
    created. None while the job's own ``JOB CREATED`` is not in the records yet (an exporter lags)."""
    created = next((r.position for r in records if r.value_type == "JOB" and r.intent == "CREATED"
                    and r.key == job_key and r.is_event), None)
    if created is None:
        return None
    return next((r for r in sorted(records, key=lambda r: r.position, reverse=True)
                 if r.position < created and r.is_event and r.value_type == "USER_TASK"
                 and r.intent == "COMPLETING" and r.key == task_key), None)


@dataclass
class Guard:
    """The listener handler: facts in, :class:`ListenerResult` out."""

    rules: GuardRules
    directory: Directory
    source: Callable[[], RecordSource]
    forms: FormReader
    retry_after_ms: int = 1_000

    def _completion(self, job: RestJob, task_key: int) -> Record:
        try:
            records = self.source().instance_records(job.process_instance_key)
        except SourceError as error:
            raise TransientError(f"cannot read the engine's records to guard user task {task_key}: {error}") from None
        record = completing_record(records, job.key, task_key)
        if record is None:
            raise RetryLaterError(f"the engine's records do not show the completion of user task {task_key} "
                                  f"that listener job {job.key} guards yet", retry_after_ms=self.retry_after_ms)
        return record

    async def __call__(self, job: RestJob) -> ListenerResult:
        event = job.listener_event_type
        if job.kind != "TASK_LISTENER" or event not in (COMPLETING, ASSIGNING) or TASK_KEY not in job.custom_headers:
            raise PermanentError(f"{GUARD_JOB_TYPE} guards the completing and assigning listeners of user tasks; "
                                 f"job {job.key} is a {job.kind} job ({event}) of element {job.element_id!r}: "
                                 "fix the model")
        task_key = int(job.custom_headers[TASK_KEY])
        person = job.custom_headers.get(ASSIGNEE, "")
        written: Mapping[str, Any] = {}
        form_id, fields = None, None
        if event == COMPLETING:
            record = await asyncio.to_thread(self._completion, job, task_key)
            written = record.value.get("variables") or {}
            person = str(record.value.get("assignee") or person)
            form_id, fields = await self.forms.fields(task_key, job.custom_headers.get(FORM_KEY))
        request = GuardRequest(event=event, process=job.bpmn_process_id, task=job.element_id, person=person,  # type: ignore[arg-type]
                               written=written, form_id=form_id, fields=fields, facts=job.variables)
        verdict = judge(request, self.rules, self.directory)
        if verdict.denied:
            log.warning("user task transition denied", user_task_key=task_key, listener_event=event, person=person,
                        offences=[f"{o.kind}:{o.subject}" for o in verdict.offences])
            return ListenerResult(denied=True, denied_reason=verdict.reason())
        log.info("user task transition allowed", user_task_key=task_key, listener_event=event, person=person)
        return ListenerResult()


def build_guard_worker(settings: WorkerSettings, session: aiohttp.ClientSession,
                       guard_settings: GuardSettings | None = None,
                       audit: AuditSettings | None = None) -> tuple[RestJobWorker, Guard]:
    """The guard's REST job worker on ``session``; rule data is read (and checked) here, at start."""
    guard_settings = guard_settings or GuardSettings()
    audit = audit or AuditSettings()
    rules = load_rules(guard_settings.rules)
    try:
        where = guard_settings.directory
        directory = parse_directory(where.read_text(encoding="utf-8"), str(where))
    except OSError as error:
        raise GuardRulesError(f"{where}: cannot read the directory ({error.strerror})") from None
    api = RestJobApi(session, settings.rest_url, rest_auth(settings, session))
    guard = Guard(rules, directory, audit.source_factory(), FormReader(api))
    tracer = create_tracer_provider(settings.service_name, settings.otlp_endpoint).get_tracer("procgov.guard")
    worker = RestJobWorker(
        api=api, job_type=GUARD_JOB_TYPE, handler=guard, worker=settings.worker_name,
        fetch_variables=[*rules.fetched_variables(), TRACEPARENT], timeout_ms=guard_settings.timeout_ms,
        max_jobs=guard_settings.max_jobs, poll_ms=guard_settings.poll_ms,
        policy=RetryPolicy(base_ms=settings.retry.base_ms, max_ms=settings.retry.max_ms,
                           initial_retries=guard_settings.retries, budget_ms=settings.retry.budget_ms),
        observer=JobObserver(tracer),
    )
    return worker, guard


@asynccontextmanager
async def guard_running(settings: WorkerSettings, guard_settings: GuardSettings | None = None,
                        audit: AuditSettings | None = None) -> AsyncIterator[Guard]:
    """The guard answering listener jobs for the duration of a block, in this event loop: for the demo and
    process tests, which complete guarded user tasks and so need it running (a completion waits for it)."""
    async with aiohttp.ClientSession() as session:
        worker, guard = build_guard_worker(settings, session, guard_settings, audit)
        task = asyncio.create_task(worker.run())
        try:
            yield guard
        finally:
            worker.stop()
            await asyncio.wait_for(task, worker.poll_ms / 1000 + 10)


async def run_guard(settings: WorkerSettings | None = None) -> None:
    """Run the guard until SIGTERM/SIGINT, with ``/healthz``, ``/readyz`` (the REST API answers its
    topology) and ``/metrics`` on the workers' health port, as every worker group has."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    metrics = WorkerMetrics()
    async with aiohttp.ClientSession() as session:
        worker, guard = build_guard_worker(settings, session)
        worker.observer.metrics = metrics

        async def ready() -> dict[str, Any]:
            try:
                topology = await guard.forms.api.get("/topology", "the REST API's topology")
            except TransientError as error:
                raise OSError(str(error)) from None
            return {"brokers": len((topology or {}).get("brokers", [])), "rest_url": settings.rest_url}

        health = HealthServer(settings.health_host, settings.health_port, ready, metrics.registry)
        await health.start()
        loop = asyncio.get_running_loop()

        def stop() -> None:
            health.stopping = True
            worker.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        log.info("guard started", job_type=GUARD_JOB_TYPE, rest_url=settings.rest_url, health_port=health.port)
        try:
            await worker.run()
        finally:
            await health.stop()


if __name__ == "__main__":
    asyncio.run(run_guard())
