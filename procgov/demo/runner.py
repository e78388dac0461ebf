"""``procgov demo``: the whole suite on one machine, no broker needed, then a summary.

What a run does, in order: open the embedded engine (controlled clock) on a fresh directory under
``var/demo/``; start a real SMTP server and a real webhook receiver on loopback; deploy every model in
``bpmn/`` over the Zeebe gateway protocol; start every worker group in-process (one
:class:`~workers.runtime.app.WorkerApp`, SQLite store in the same directory); run every scenario
module in :mod:`procgov.demo`; print the summary; stop everything. The directory is kept, so
``procgov audit`` can replay the run afterwards.

Writing a scenario (``procgov/demo/<family>.py``; modules whose name starts with ``_`` and this one
are not scenarios)::

    NAME = "rollout"                      # shown in progress and summary

    async def run(ctx: DemoContext) -> list[ScenarioResult]:
        key = await ctx.start("procgov-rollout", {"processId": "P-001", ...})
        await ctx.complete_user_task("approve-plan", {"approved": True}, instance_key=key)
        await ctx.zeebe.increase_time(timedelta(days=90))     # timers fire on the engine's clock
        await ctx.zeebe.instance(key).wait_completed()
        variables = ctx.zeebe.instance(key).variables()
        return [ScenarioResult("rollout: pilot succeeds", key, "COMPLETED", ok=True,
                               facts={"exam score": "92", "late fine": "0 yuan"})]

``DemoContext`` (stable; add fields, never rename):

- ``client``: pyzeebe ``ZeebeClient`` on the embedded engine's gateway (deploy, publish_message, ...).
- ``zeebe``: the :class:`~procgov_engine.testing.EmbeddedEngine` (``await increase_time(timedelta)``;
  ``instance(key)`` with the waiting assertions ``wait_completed()``, ``wait_element_passed(id)``,
  ``wait_element_active(id)``, ``wait_incident()`` (each waits up to 30 s here) and ``variables()``;
  ``records()``).
- ``data_dir``: this run's directory (engine log ``engine/records.db``, worker store ``procgov.db``).
- ``settings``: the :class:`WorkerSettings` the in-process workers run with.
- ``mail``: :class:`MailSink` (``messages``: every :class:`ReceivedMail` the SMTP server took).
- ``webhooks``: :class:`WebhookSink` (``requests``: every :class:`ReceivedWebhook`; ``url(name)``).
- ``channel`` (the gRPC channel ``client`` uses) and ``tracer_provider`` (the demo's and the
  workers'): for the runner's own use; scenarios rarely need them.
- ``await ctx.start(process_id, variables=None) -> int``: create an instance (latest version) with a
  fresh W3C ``traceparent`` variable (unless given) and return its process instance key.
- ``tasklist``: a :class:`~procgov.tasklist.Tasklist` on the engine's REST API (``rest_url``), as a
  person's Tasklist reaches it.
- ``await ctx.complete_user_task(element_id, variables, instance_key, *, timeout_s=30.0) -> int``:
  do the human step at ``element_id`` in ``instance_key`` as a person does in Tasklist, over the REST
  API: find the open user task (a search: nothing is locked), hold ``variables`` against its linked
  form (a completion that does not fit raises ``ValueError`` naming each problem), submit the form
  prefilled with the task's values; waits up to ``timeout_s`` (real time) for the task to open,
  returns the user task key, raises ``TimeoutError`` naming the open user tasks otherwise.

Optional: ``ORDER: int`` (default 100; lower runs earlier: the engine clock only moves forward, so a
scenario that needs an early date goes first) and ``LAST = True`` (after all others, whatever their
``ORDER``: audit, to replay what they did).

A scenario returns one :class:`ScenarioResult` per instance it drove; ``ok=False`` on any of them (or
an exception, or the per-scenario timeout) makes ``procgov demo`` exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import inspect
import os
import pkgutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import grpc
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from pyzeebe import ZeebeClient
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from procgov.demo._sinks import MailSink, ReceivedMail, ReceivedWebhook, WebhookSink
from procgov.tasklist import TaskFilter, Tasklist
from procgov_engine.clock import ControlledClock
from procgov_engine.testing import EmbeddedEngine
from workers.runtime.bundled import bundled
from workers.runtime.router import TaskRouter
from workers.runtime.settings import WorkerSettings
from workers.runtime.tracing import TRACEPARENT, create_tracer_provider, traceparent_of

#: Who claims the planning office's candidate-group tasks in the demo: its head, whom none of them fines
#: (the user task guard lets only the planning office do them, never the rule supervisor or the people fined).
PLANNING_OFFICE = "zhou.hua"

__all__ = [
    "DEMO_ROOT",
    "PLANNING_OFFICE",
    "DemoContext",
    "DemoReport",
    "MailSink",
    "ReceivedMail",
    "ReceivedWebhook",
    "RouterSource",
    "ScenarioResult",
    "WebhookSink",
    "discover_scenarios",
    "new_demo_dir",
    "render_summary",
    "run_demo",
]

DEMO_ROOT = Path("var/demo")
DEPLOYABLE_SUFFIXES = (".bpmn", ".dmn", ".form")
DEFAULT_SCENARIO_TIMEOUT_S = 300.0
DEMO_WORKER = "procgov-demo"
DEFAULT_ORDER = 100
# The demo's webhook receiver listens here (or on a free port if taken). The sample organisation
# directory names its chat channels by key only; like a deployment, the demo gives each its URL in the
# webhook settings (PROCGOV_WEBHOOKS__<CHANNEL>__URL), pointing at the receiver (see demo_webhooks).
DEMO_WEBHOOK_PORT = 8089
SAMPLE_ORG_DIRECTORY = bundled("data", "rollout", "org-directory.yaml")
# Monday 5 January 2026, 09:00 in Beijing: inside the official holiday data, and a repeatable run.
DEMO_START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
ASSERT_TIMEOUT_S = 30.0  # real-time limit of the engine's waiting assertions during the demo


@dataclass(frozen=True)
class ScenarioResult:
    """One instance a scenario drove, as the summary shows it."""

    scenario: str  # e.g. "rollout: pilot fails, no full rollout"
    process_instance_key: int | None
    state: str  # final state as observed: "COMPLETED", "ACTIVE", "INCIDENT", "TERMINATED", "ERROR" ...
    ok: bool  # did the instance end where the scenario expected it to?
    facts: Mapping[str, str] = field(default_factory=dict)  # key facts: fines, exam scores, versions ...
    duration_s: float | None = None  # None: the summary shows the scenario module's wall time
    detail: str = ""  # why it failed, when it did


@dataclass
class DemoContext:
    """What a scenario gets (see the module docstring for the contract)."""

    client: ZeebeClient
    zeebe: EmbeddedEngine
    data_dir: Path
    settings: WorkerSettings
    mail: MailSink
    webhooks: WebhookSink
    channel: grpc.aio.Channel
    tracer_provider: TracerProvider
    tasklist: Tasklist | None = None
    rest_url: str | None = None

    async def start(self, process_id: str, variables: Mapping[str, Any] | None = None) -> int:
        """Create an instance of ``process_id`` (latest version); returns its process instance key."""
        tracer = self.tracer_provider.get_tracer("procgov.demo")
        with tracer.start_as_current_span(f"start {process_id}", kind=SpanKind.PRODUCER) as span:
            payload = dict(variables or {})
            traceparent = traceparent_of(span)
            if traceparent is not None:
                payload.setdefault(TRACEPARENT, traceparent)
            response = await self.client.run_process(process_id, variables=payload)
            span.set_attribute("zeebe.process_instance_key", response.process_instance_key)
        return int(response.process_instance_key)

    async def complete_user_task(
        self,
        element_id: str,
        variables: Mapping[str, Any] | None,
        instance_key: int,
        *,
        timeout_s: float = 30.0,
        assignee: str | None = None,
    ) -> int:
        """Do the user task at ``element_id`` of ``instance_key`` over REST; returns the user task key.
        ``assignee``: claim it for that person first (a guarded candidate-group task is completed only by
        the person it is assigned to, as in Tasklist)."""
        from procgov.forms import check_completion, parse_form, submission

        if self.tasklist is None:
            raise RuntimeError("this DemoContext has no tasklist (the engine's REST API)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        where = TaskFilter(state="CREATED", process_instance_key=instance_key, element_id=element_id)
        while not (found := await self.tasklist.search(where, limit=1)):
            if loop.time() >= deadline:
                open_tasks = sorted(f"{t['processInstanceKey']}/{t['elementId']}"
                                    for t in await self.tasklist.search(TaskFilter(state="CREATED")))
                raise TimeoutError(
                    f"no user task {element_id!r} became active in instance {instance_key} within {timeout_s}s"
                    f" (open user tasks, instance/element: {', '.join(open_tasks) or 'none'})"
                )
            await asyncio.sleep(0.05)
        key = str(found[0]["userTaskKey"])
        given = dict(variables or {})
        schema, current = await asyncio.gather(self.tasklist.form(key), self.tasklist.variables(key))
        if schema is not None:
            form = parse_form(schema)
            problems = check_completion(form, given, current)
            if problems:
                raise ValueError(f"user task {element_id!r} ({key}) does not take these variables: "
                                 + "; ".join(problems))
            given = submission(form, given, current)
        if assignee is not None:
            await self.tasklist.assign(key, assignee)
        await self.tasklist.complete(key, given)
        return int(key)


def discover_scenarios(package: str = "procgov.demo") -> list[tuple[str, ModuleType | Exception]]:
    """Every scenario module of ``package``, or the error importing it, in run order: by ``ORDER``
    (default 100), then module name; modules declaring ``LAST = True`` (audit: it looks at what the
    others did) come after all the rest."""
    pkg = importlib.import_module(package)
    found: list[tuple[str, ModuleType | Exception]] = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "runner" or info.ispkg:
            continue
        try:
            found.append((info.name, importlib.import_module(f"{package}.{info.name}")))
        except Exception as error:  # reported as a failed scenario, never silently dropped
            found.append((info.name, error))
    return sorted(found, key=_run_order)  # stable: equal keys keep the module-name order


def _run_order(item: tuple[str, ModuleType | Exception]) -> tuple[bool, int]:
    module = item[1]
    order = getattr(module, "ORDER", DEFAULT_ORDER)
    return getattr(module, "LAST", False) is True, order if isinstance(order, int) else DEFAULT_ORDER


def _scenario_problem(module: ModuleType) -> str | None:
    name = getattr(module, "NAME", None)
    run = getattr(module, "run", None)
    if not isinstance(name, str) or not name:
        return f"{module.__name__} has no NAME (str)"
    if not callable(run) or not inspect.iscoroutinefunction(run):
        return f"{module.__name__} has no `async def run(ctx)`"
    return None


async def run_scenario(
    ctx: DemoContext, label: str, module: ModuleType | Exception, timeout_s: float
) -> list[ScenarioResult]:
    """Run one scenario module; any failure becomes a failed result naming it."""
    started = time.monotonic()
    if isinstance(module, Exception):
        failure = f"cannot import procgov.demo.{label}: {type(module).__name__}: {module}"
        return [ScenarioResult(label, None, "ERROR", ok=False, detail=failure)]
    problem = _scenario_problem(module)
    if problem is not None:
        return [ScenarioResult(label, None, "ERROR", ok=False, detail=problem)]
    name: str = module.NAME
    limit = asyncio.timeout(timeout_s)
    try:
        async with limit:
            results = await module.run(ctx)
    except TimeoutError as error:
        # The scenario's own wait (a user task, an assertion) timing out is an error with its message.
        detail = f"did not finish within {timeout_s:g}s" if limit.expired() else f"TimeoutError: {error}"
        results = [ScenarioResult(name, None, "TIMEOUT" if limit.expired() else "ERROR", ok=False, detail=detail)]
    except Exception as error:
        results = [ScenarioResult(name, None, "ERROR", ok=False, detail=f"{type(error).__name__}: {error}")]
    elapsed = time.monotonic() - started
    if not isinstance(results, list) or not all(isinstance(r, ScenarioResult) for r in results):
        got = type(results).__name__
        results = [
            ScenarioResult(name, None, "ERROR", ok=False, detail=f"run() returned {got}, not list[ScenarioResult]")
        ]
    if not results:
        results = [ScenarioResult(name, None, "ERROR", ok=False, detail="run() returned no results")]
    return [r if r.duration_s is not None else dataclasses.replace(r, duration_s=elapsed) for r in results]


@dataclass
class DemoReport:
    data_dir: Path
    results: list[ScenarioResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # set-up failures (deploy, worker groups ...)
    deployed: list[str] = field(default_factory=list)
    worker_groups: list[str] = field(default_factory=list)
    mails: list[ReceivedMail] = field(default_factory=list)
    webhook_calls: list[ReceivedWebhook] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def failed(self) -> list[ScenarioResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.failed and bool(self.results)


def new_demo_dir(root: Path = DEMO_ROOT) -> Path:
    """A fresh, timestamped directory for one run (kept afterwards for ``procgov audit``)."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=root))


def deployable_resources(bpmn_dir: Path) -> list[Path]:
    """Every model, decision and form in ``bpmn_dir`` (empty if the directory does not exist)."""
    if not bpmn_dir.is_dir():
        return []
    return sorted(p for p in bpmn_dir.iterdir() if p.is_file() and p.suffix in DEPLOYABLE_SUFFIXES)


def demo_settings(data_dir: Path, gateway_address: str, mail: MailSink, webhooks: WebhookSink) -> WorkerSettings:
    """The in-process workers' settings: everything local, nothing read from ``.env``."""
    values: dict[str, Any] = {
        "gateway_address": gateway_address,
        "transport": "plaintext",
        "store_url": f"sqlite:///{(data_dir / 'procgov.db').resolve()}",
        "health_host": "127.0.0.1",
        "health_port": 0,
        "worker_name": DEMO_WORKER,
        "request_timeout_ms": 1_000,
        "shutdown_grace_s": 10.0,
        "otlp_endpoint": None,
        "service_name": "procgov-demo",
        "smtp": {"host": mail.host, "port": mail.port, "from_address": "procgov-demo@localhost"},
        "webhooks": demo_webhooks(webhooks),
    }
    return WorkerSettings(_env_file=None, **values)  # type: ignore[call-arg]


def demo_webhooks(webhooks: WebhookSink, directory: Path = SAMPLE_ORG_DIRECTORY) -> dict[str, dict[str, str]]:
    """Webhook settings sending every chat channel of the sample directory to the demo's receiver."""
    import yaml

    document = yaml.safe_load(directory.read_text(encoding="utf-8")) if directory.is_file() else None
    channels = document.get("channels") if isinstance(document, dict) else None
    return {str(name): {"url": webhooks.url(str(name))} for name in channels or {}}


class RouterSource(Protocol):
    """A worker group as the demo needs it (:class:`procgov.groups.WorkerGroup` is one)."""

    @property
    def name(self) -> str: ...

    def build_router(self, settings: WorkerSettings) -> TaskRouter: ...


def _load_all_groups(report: DemoReport) -> list[RouterSource]:
    from procgov.groups import load_groups

    groups, skipped = load_groups()
    report.problems.extend(f"worker group not started: {reason}" for reason in skipped)
    return list(groups)


def demo_environment(data_dir: Path) -> dict[str, str]:
    """The worker groups' own settings (``PROCGOV_SLM_*``, ``PROCGOV_AUDIT_*``), pointed into the run's
    directory so a demo run writes nothing elsewhere and audit reads this run's engine log."""
    data = data_dir.resolve()
    return {
        "PROCGOV_SLM_KPI_URL": f"sqlite:///{data / 'kpi.db'}",
        "PROCGOV_SLM_ENGINE_RECORDS": str(data / "engine" / "records.db"),
        "PROCGOV_SLM_REPORT_DIR": str(data / "reports"),
        "PROCGOV_AUDIT_DATA_DIR": str(data / "engine"),
        "PROCGOV_AUDIT_ARCHIVE_DIR": str(data / "audit"),
    }


@contextlib.contextmanager
def _environment(overrides: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore what was there."""
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def run_demo(
    data_dir: Path,
    *,
    bpmn_dir: Path,
    console: Console | None = None,
    scenarios: Sequence[tuple[str, ModuleType | Exception]] | None = None,
    scenario_timeout_s: float = DEFAULT_SCENARIO_TIMEOUT_S,
    groups: Sequence[RouterSource] | None = None,
    webhook_port: int = DEMO_WEBHOOK_PORT,
    start: datetime = DEMO_START,
) -> DemoReport:
    """Run the demo in ``data_dir``; returns the report (``render_summary`` shows it).

    ``scenarios`` default to every module of :mod:`procgov.demo`, ``groups`` to every worker group of
    :mod:`procgov.groups` (one that cannot be loaded is a problem: the demo then exits non-zero).
    ``webhook_port``: where the webhook receiver listens (0: any free port).
    ``start``: where the engine's controlled clock begins; a fixed date keeps fines and deadlines
    (which depend on weekdays and holidays) the same in every run.
    """
    console = console or Console()
    report = DemoReport(data_dir=data_dir)
    started = time.monotonic()
    found = list(scenarios) if scenarios is not None else discover_scenarios()
    if not found:
        report.problems.append("no scenario modules in procgov/demo/")
    resources = await asyncio.to_thread(deployable_resources, bpmn_dir)
    if not resources:
        report.problems.append(f"nothing to deploy in {bpmn_dir}/ ({', '.join(DEPLOYABLE_SUFFIXES)})")

    mail, webhooks = MailSink(), WebhookSink(port=webhook_port)
    await mail.start()
    await webhooks.start()
    tracer_provider = create_tracer_provider("procgov-demo", None)
    try:
        with _environment(demo_environment(data_dir)):
            async with EmbeddedEngine(
                data_dir / "engine", clock=ControlledClock(start), assert_timeout_s=ASSERT_TIMEOUT_S
            ) as zeebe:
                settings = demo_settings(data_dir, zeebe.address, mail, webhooks)
                sinks = (mail, webhooks)
                await _with_engine(
                    report,
                    zeebe,
                    settings,
                    sinks,
                    tracer_provider,
                    console,
                    bpmn_dir,
                    resources,
                    groups,
                    found,
                    scenario_timeout_s,
                )
    finally:
        await asyncio.to_thread(tracer_provider.shutdown)
        await webhooks.stop()
        await mail.stop()
        report.mails = list(mail.messages)
        report.webhook_calls = list(webhooks.requests)
        report.duration_s = time.monotonic() - started
    return report


async def _with_engine(
    report: DemoReport,
    zeebe: EmbeddedEngine,
    settings: WorkerSettings,
    sinks: tuple[MailSink, WebhookSink],
    tracer_provider: TracerProvider,
    console: Console,
    bpmn_dir: Path,
    resources: Sequence[Path],
    groups: Sequence[RouterSource] | None,
    found: Sequence[tuple[str, ModuleType | Exception]],
    scenario_timeout_s: float,
) -> None:
    """Deploy, start the workers, run the scenarios; the workers stop before the engine does."""
    import httpx

    from procgov_engine.rest import RestServer
    from workers.runtime.app import WorkerApp, create_channel

    channel = create_channel(settings)
    app: WorkerApp | None = None
    guard: Any = None
    rest = RestServer("127.0.0.1", 0)  # people do their tasks over REST, as in Tasklist
    await rest.start(zeebe.engine)
    http = httpx.AsyncClient(base_url=rest.address, timeout=30)
    try:
        client = ZeebeClient(channel)
        if resources:
            try:
                with console.status("deploying models ..."):
                    await client.deploy_resource(*resources)
            except Exception as error:  # the gateway's rejection names the model and the problem
                report.problems.append(f"deploying {bpmn_dir}/ failed: {type(error).__name__}: {error}")
                return
            report.deployed = [p.name for p in resources]
            console.print(f"[green]deployed[/] {len(resources)} resources from {bpmn_dir}/")

        routers: list[TaskRouter] = []
        for source in list(groups) if groups is not None else _load_all_groups(report):
            try:
                routers.append(source.build_router(settings))
                report.worker_groups.append(source.name)
            except Exception as error:  # bad rule data, missing files: name the group and the reason
                report.problems.append(f"worker group {source.name} not started: {type(error).__name__}: {error}")
        if routers:
            app = WorkerApp(settings, routers, tracer_provider=tracer_provider)
            await app.start()
        console.print(f"[green]workers[/] {', '.join(report.worker_groups) or 'none'} on {zeebe.address}")
        # the user task guard answers the listeners of guarded user tasks (tools/task_listeners.py)
        guard = await _start_guard(settings, rest.address, report)

        ctx = DemoContext(client, zeebe, report.data_dir, settings, *sinks, channel, tracer_provider,
                          tasklist=Tasklist(http, rest.address), rest_url=rest.address)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            for label, module in found:
                shown = getattr(module, "NAME", label) if isinstance(module, ModuleType) else label
                task = progress.add_task(f"scenario {shown}", total=1)
                results = await run_scenario(ctx, label, module, scenario_timeout_s)
                report.results.extend(results)
                verdict = "[green]ok[/]" if all(r.ok for r in results) else "[red]FAILED[/]"
                progress.update(task, completed=1, description=f"scenario {shown}: {verdict}")
    finally:
        if guard is not None:
            await guard.__aexit__(None, None, None)
        if app is not None:
            await app.stop(grace_s=5.0)
        await channel.close()
        await http.aclose()
        await rest.stop()


async def _start_guard(settings: WorkerSettings, rest_url: str, report: DemoReport) -> Any:
    """``audit.guard-user-task`` on the demo engine's REST API and records; None (a problem) if it fails."""
    from workers.audit.guard import guard_running
    from workers.audit.router import AuditSettings

    running = guard_running(settings.model_copy(update={"rest_url": rest_url}),
                            audit=AuditSettings(data_dir=report.data_dir / "engine"))
    try:
        await running.__aenter__()
    except Exception as error:  # bad rule data: name it, like a worker group that cannot start
        report.problems.append(f"the user task guard not started: {type(error).__name__}: {error}")
        return None
    return running


def _short(detail: str, limit: int = 120) -> str:
    """First line of a failure, cut to ``limit`` characters (the full text is printed under the table)."""
    line = detail.strip().splitlines()[0] if detail.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _facts(facts: Mapping[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in facts.items())


def render_summary(report: DemoReport) -> Table:
    """The summary table: one row per instance a scenario drove."""
    table = Table(title="procgov demo", show_lines=True)
    table.add_column("scenario")
    table.add_column("instance", justify="right")
    table.add_column("final state")
    table.add_column("key facts")
    table.add_column("duration", justify="right")
    table.add_column("result")
    for r in report.results:
        verdict = "[green]ok[/]" if r.ok else f"[red]FAILED[/]\n{_short(r.detail)}" if r.detail else "[red]FAILED[/]"
        table.add_row(
            r.scenario,
            str(r.process_instance_key) if r.process_instance_key is not None else "-",
            r.state,
            _facts(r.facts),
            f"{r.duration_s:.1f}s" if r.duration_s is not None else "-",
            verdict,
        )
    table.caption = (
        f"{len(report.results) - len(report.failed)}/{len(report.results)} ok · "
        f"mail sent: {len(report.mails)} · webhook calls: {len(report.webhook_calls)} · "
        f"{report.duration_s:.1f}s · records in {report.data_dir}"
    )
    return table
