"""The demo runner, end to end on the real parts: embedded engine over gRPC, a WorkerApp with a test
router, the runner's SMTP and webhook sinks, Camunda user tasks done over the REST API, and the summary.

The scenarios here are tiny and defined in the test (as modules), so the runner is tested apart from
the process families' scenarios (which ``procgov demo`` runs).
"""

from __future__ import annotations

import io
import types
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import pytest
from pydantic import BaseModel
from rich.console import Console
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.demo.runner import (
    DemoContext,
    ScenarioResult,
    discover_scenarios,
    render_summary,
    run_demo,
)
from workers.runtime import TaskRouter
from workers.runtime.settings import WorkerSettings

MODELS = Path(__file__).resolve().parent / "models"


class NotifyIn(BaseModel):
    owner: str


class NotifyOut(BaseModel):
    notified: str


class MailingGroup:
    """A worker group whose one task mails the owner through the SMTP server the settings name."""

    name = "demo-test"

    def build_router(self, settings: WorkerSettings) -> TaskRouter:
        router = TaskRouter(group="demo-test")

        @router.task("demo-test.notify")
        async def notify(request: NotifyIn) -> NotifyOut:
            message = EmailMessage()
            message["From"] = settings.smtp.from_address
            message["To"] = request.owner
            message["Subject"] = "You own a new process"
            message.set_content("Lead the rollout, drive training, lead optimisation.")
            await aiosmtplib.send(message, hostname=settings.smtp.host, port=settings.smtp.port)
            return NotifyOut(notified=request.owner)

        return router


def scenario_module(name: str, **attrs: Any) -> types.ModuleType:
    module = types.ModuleType(f"procgov.demo.{name}")
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


async def approve_sample(ctx: DemoContext) -> list[ScenarioResult]:
    key = await ctx.start("demo-sample", {"owner": "vp-rnd@example.com"})
    task_key = await ctx.complete_user_task("approve", {"approved": True}, instance_key=key)
    await ctx.zeebe.instance(key).wait_completed()
    variables = ctx.zeebe.instance(key).variables()
    async with aiohttp.ClientSession() as session, session.post(ctx.webhooks.url("pmo"), json={"n": key}) as reply:
        assert reply.status == 200
    return [
        ScenarioResult(
            "sample: approved",
            key,
            "COMPLETED",
            ok=variables.get("approved") is True,
            facts={"notified": str(variables.get("notified")), "user task": str(task_key)},
        )
    ]


async def broken(ctx: DemoContext) -> list[ScenarioResult]:
    raise RuntimeError("the pilot report is missing")


async def test_demo_runs_scenarios_against_engine_workers_and_sinks(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=200)
    report = await run_demo(
        tmp_path,
        bpmn_dir=MODELS,
        console=console,
        scenarios=[
            ("sample", scenario_module("sample", NAME="sample", run=approve_sample)),
            ("broken", scenario_module("broken", NAME="broken", run=broken)),
            ("nameless", scenario_module("nameless", run=approve_sample)),
        ],
        groups=[MailingGroup()],
        scenario_timeout_s=60,
        webhook_port=0,
    )

    assert report.deployed == ["demo-sample.bpmn"]
    assert report.worker_groups == ["demo-test"]
    assert report.problems == []
    by_name = {r.scenario: r for r in report.results}
    sample = by_name["sample: approved"]
    assert sample.ok, sample
    assert sample.process_instance_key is not None
    assert sample.facts["notified"] == "vp-rnd@example.com"
    assert sample.duration_s is not None

    # the worker's mail went through the real SMTP sink; the webhook call reached the HTTP sink
    assert [(m.recipients, m.subject) for m in report.mails] == [(("vp-rnd@example.com",), "You own a new process")]
    assert [w.path for w in report.webhook_calls] == ["/hooks/pmo"]

    # failures are results, not crashes: an exception, a module without NAME
    assert by_name["broken"].state == "ERROR" and not by_name["broken"].ok
    assert "RuntimeError: the pilot report is missing" in by_name["broken"].detail
    assert "has no NAME" in by_name["nameless"].detail
    assert not report.ok

    # the traceparent the runner set travelled with the instance
    records = [r for r in _records(tmp_path) if r["valueType"] == "VARIABLE" and r["value"]["name"] == "traceparent"]
    assert records and records[0]["value"]["value"].strip('"').startswith("00-")

    out = Console(file=io.StringIO(), width=250)
    out.print(render_summary(report))
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert str(sample.process_instance_key) in text
    assert "notified: vp-rnd@example.com" in text
    assert "FAILED" in text and "1/3 ok" in text
    assert "mail sent: 1" in text and "webhook calls: 1" in text


def _records(data_dir: Path) -> list[dict[str, Any]]:
    from procgov_engine.testing.assertions import read_records

    return read_records(data_dir / "engine" / "records.db")


async def test_user_task_that_never_comes_times_out_naming_it(tmp_path: Path) -> None:
    async def wrong_element(ctx: DemoContext) -> list[ScenarioResult]:
        key = await ctx.start("demo-sample", {"owner": "cmo@example.com"})
        await ctx.complete_user_task("sign-off", None, key, timeout_s=1.0)
        return [ScenarioResult("unreachable", key, "COMPLETED", ok=True)]

    report = await run_demo(
        tmp_path,
        bpmn_dir=MODELS,
        console=Console(file=io.StringIO()),
        scenarios=[("wrong", scenario_module("wrong", NAME="wrong", run=wrong_element))],
        groups=[MailingGroup()],
        scenario_timeout_s=60,
        webhook_port=0,
    )
    [result] = report.results
    assert not result.ok
    assert "TimeoutError: no user task 'sign-off' became active" in result.detail
    assert "/approve" in result.detail  # the user task that is open is named


async def test_demo_with_nothing_to_deploy_is_a_problem(tmp_path: Path) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    report = await run_demo(
        tmp_path / "run",
        bpmn_dir=empty,
        console=Console(file=io.StringIO()),
        scenarios=[],
        groups=[],
        webhook_port=0,
    )
    assert any("nothing to deploy" in p for p in report.problems)
    assert any("no scenario modules" in p for p in report.problems)
    assert not report.ok


def test_scenario_modules_are_discovered_not_the_runner() -> None:
    names = [name for name, _ in discover_scenarios()]
    assert "runner" not in names
    assert not [n for n in names if n.startswith("_")]


def test_cli_rejects_an_unknown_scenario(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--root", str(tmp_path), "--scenario", "no-such-family"])
    assert result.exit_code == 2
    assert "no-such-family" in result.output


@pytest.mark.parametrize("missing", ["NAME", "run"])
def test_scenario_contract_violations_are_named(missing: str) -> None:
    from procgov.demo.runner import _scenario_problem

    attrs: dict[str, Any] = {"NAME": "x", "run": broken}
    del attrs[missing]
    problem = _scenario_problem(scenario_module("x", **attrs))
    assert problem is not None and (missing if missing == "NAME" else "async def run") in problem


async def test_a_scenario_over_its_time_limit_is_reported_as_timeout(tmp_path: Path) -> None:
    async def endless(ctx: DemoContext) -> list[ScenarioResult]:
        key = await ctx.start("demo-sample", {"owner": "cmo@example.com"})
        await ctx.zeebe.instance(key).wait_completed(timeout_s=30)  # nobody completes "approve"
        return []

    report = await run_demo(
        tmp_path,
        bpmn_dir=MODELS,
        console=Console(file=io.StringIO()),
        scenarios=[("endless", scenario_module("endless", NAME="endless", run=endless))],
        groups=[MailingGroup()],
        scenario_timeout_s=1.5,
        webhook_port=0,
    )
    [result] = report.results
    assert (result.state, result.ok, result.detail) == ("TIMEOUT", False, "did not finish within 1.5s")


def test_discovery_orders_by_order_then_name_last_at_the_end_and_reports_import_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "demo_discovery_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "audit.py").write_text("NAME = 'audit'\nLAST = True\nasync def run(ctx):\n    return []\n")
    (package / "rollout.py").write_text("NAME = 'rollout'\nasync def run(ctx):\n    return []\n")
    (package / "zz_early.py").write_text("NAME = 'early'\nORDER = 10\nasync def run(ctx):\n    return []\n")
    (package / "slm.py").write_text("import no_such_module_for_the_demo\n")
    (package / "_helpers.py").write_text("")
    (package / "runner.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    found = discover_scenarios("demo_discovery_pkg")

    assert [name for name, _ in found] == ["zz_early", "rollout", "slm", "audit"]
    slm = dict(found)["slm"]
    assert isinstance(slm, ModuleNotFoundError) and "no_such_module_for_the_demo" in str(slm)


def test_demo_environment_points_the_groups_settings_into_the_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from procgov.demo.runner import demo_environment
    from workers.audit.router import AuditSettings
    from workers.slm.deps import SlmSettings

    for name, value in demo_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    slm, audit = SlmSettings(), AuditSettings(_env_file=None)  # type: ignore[call-arg]
    run = tmp_path.resolve()
    assert slm.kpi_url == f"sqlite:///{run / 'kpi.db'}"
    assert slm.engine_records == run / "engine" / "records.db"
    assert slm.report_dir == run / "reports"
    assert audit.data_dir == run / "engine"
    assert audit.archive_dir == run / "audit"


async def test_user_tasks_are_found_by_instance_and_never_locked(tmp_path: Path) -> None:
    # A search locks nothing (unlike activating job-worker user tasks): B's task, seen while doing A's,
    # is still there to be done after the clock has moved a long way.
    from datetime import timedelta

    async def two_instances(ctx: DemoContext) -> list[ScenarioResult]:
        first = await ctx.start("demo-sample", {"owner": "a@example.com"})
        second = await ctx.start("demo-sample", {"owner": "b@example.com"})
        await ctx.zeebe.instance(second).wait_element_active("approve")
        await ctx.complete_user_task("approve", {"approved": True}, first)
        await ctx.zeebe.increase_time(timedelta(days=30))
        await ctx.complete_user_task("approve", {"approved": False}, second)
        for key in (first, second):
            await ctx.zeebe.instance(key).wait_completed()
        approved = [ctx.zeebe.instance(k).variables().get("approved") for k in (first, second)]
        return [ScenarioResult("two", second, "COMPLETED", ok=approved == [True, False], detail=str(approved))]

    report = await run_demo(
        tmp_path,
        bpmn_dir=MODELS,
        console=Console(file=io.StringIO()),
        scenarios=[("two", scenario_module("two", NAME="two", run=two_instances))],
        groups=[MailingGroup()],
        scenario_timeout_s=60,
        webhook_port=0,
    )
    [result] = report.results
    assert result.ok, result
