"""``procgov demo``: embedded engine + every worker group + every scenario, then a summary table.

Exits 1 if any scenario failed or the set-up (deploy, a worker group) did; the run's directory under
``var/demo/`` is kept (engine records, worker store, ``demo.log``) for ``procgov audit``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from workers.runtime.bundled import bundled

_SOURCE_BPMN = bundled("bpmn")


def _default_bpmn_dir() -> Path:
    """``./bpmn`` when run from a checkout's root (``make demo``), else the checkout procgov lives in."""
    local = Path("bpmn")
    return local if local.is_dir() else _SOURCE_BPMN


def demo(
    bpmn: Annotated[
        Path | None, typer.Option("--bpmn", help="Directory of models to deploy (default: ./bpmn).")
    ] = None,
    root: Annotated[Path, typer.Option("--root", help="Where each run's directory is created.")] = Path("var/demo"),
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Run only these scenario modules (repeatable).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Per-scenario limit in seconds (real time).", min=1)] = 300.0,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--start",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d"],
            help="Where the engine clock starts (default 2026-01-05 09:00 Beijing time, for repeatable fines).",
        ),
    ] = None,
) -> None:
    """Run the embedded engine, deploy bpmn/, start all workers, run every demo scenario."""
    from rich.console import Console

    from procgov.demo.runner import DEMO_START, discover_scenarios, new_demo_dir, render_summary, run_demo
    from workers.runtime.logs import configure_logging

    console = Console()
    if not console.is_terminal:  # CI logs, pipes: wide enough for the summary table
        console = Console(width=160)
    bpmn_dir = bpmn if bpmn is not None else _default_bpmn_dir()
    found = discover_scenarios()
    if scenario:
        unknown = sorted(set(scenario) - {name for name, _ in found})
        if unknown:
            known = ", ".join(name for name, _ in found) or "none"
            raise typer.BadParameter(f"unknown scenario {', '.join(unknown)} (known: {known})", param_hint="--scenario")
        found = [(name, module) for name, module in found if name in scenario]

    data_dir = new_demo_dir(root)
    log_path = data_dir / "demo.log"
    with log_path.open("a", encoding="utf-8") as log_stream:
        # Workers log as in production (JSON lines), into the run's directory: the console is the summary's.
        configure_logging("INFO", json=True, stream=log_stream)
        try:
            report = asyncio.run(
                run_demo(
                    data_dir,
                    bpmn_dir=bpmn_dir,
                    console=console,
                    scenarios=found,
                    scenario_timeout_s=timeout,
                    start=_aware(start) if start is not None else DEMO_START,
                )
            )
        finally:
            configure_logging("WARNING", json=False)  # detach the log file before it is closed

    console.print(render_summary(report))
    for failed in report.failed:
        console.print(f"[red]failed:[/] {failed.scenario}: {failed.detail}", markup=True, highlight=False)
    for problem in report.problems:
        console.print(f"[red]problem:[/] {problem}")
    console.print(f"logs: {log_path}")
    if not report.ok:
        raise typer.Exit(1)


def _aware(moment: datetime) -> datetime:
    """A date given without a zone is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
