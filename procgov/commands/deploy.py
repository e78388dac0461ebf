"""``procgov deploy``: lint the BPMN models, then deploy models, decisions and forms over gRPC."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer

from procgov.commands.workers import EXIT_FAILED, EXIT_USAGE, fail, settings_or_exit

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
BPMNLINT = TOOLS / "node_modules" / ".bin" / "bpmnlint"
RESOURCE_SUFFIXES = (".bpmn", ".dmn", ".form")
_LINT_SUMMARY = re.compile(r"\d+ problems? \(")  # bpmnlint's last line when it reported on the models


def collect_resources(paths: list[Path]) -> list[Path]:
    """Files to deploy: each file as given, each directory's ``*.bpmn|*.dmn|*.form`` (sorted)."""
    resources: list[Path] = []
    for path in paths:
        if path.is_dir():
            resources.extend(sorted(p for p in path.iterdir() if p.suffix in RESOURCE_SUFFIXES and p.is_file()))
        elif path.is_file():
            if path.suffix not in RESOURCE_SUFFIXES:
                fail(f"{path}: not a deployable resource (expected {', '.join(RESOURCE_SUFFIXES)})", EXIT_USAGE)
            resources.append(path)
        else:
            fail(f"{path}: no such file or directory", EXIT_USAGE)
    return resources


def lint_config(model: Path) -> Path | None:
    """The model's own ``.bpmnlintrc``, else the checkout's; absolute, since bpmnlint runs in tools/."""
    for candidate in (model.parent / ".bpmnlintrc", ROOT / "bpmn" / ".bpmnlintrc"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def lint(models: list[Path]) -> subprocess.CompletedProcess[str] | None:
    """Run bpmnlint (from tools/, where its plug-ins resolve) on ``models``; None when not installed."""
    if not models or not BPMNLINT.exists():
        return None
    config = lint_config(models[0])
    command = [str(BPMNLINT), *(["--config", str(config)] if config else []), *(str(m.resolve()) for m in models)]
    return subprocess.run(command, cwd=TOOLS, capture_output=True, text=True, timeout=300, check=False)


def deploy(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or directories to deploy. Default: bpmn/")] = None,
    no_lint: Annotated[bool, typer.Option("--no-lint", help="Deploy without running bpmnlint first.")] = False,
    gateway: Annotated[str | None, typer.Option(help="Gateway host:port (default: settings).")] = None,
) -> None:
    """Lint bpmn/*.bpmn with bpmnlint (when tools/ has it), then deploy *.bpmn, *.dmn and *.form."""
    from rich.console import Console

    from workers.runtime.settings import WorkerSettings

    console = Console(stderr=True)
    settings = settings_or_exit(gateway_address=gateway)
    assert isinstance(settings, WorkerSettings)
    resources = collect_resources(paths or [Path("bpmn")])
    if not resources:
        fail("nothing to deploy (no .bpmn, .dmn or .form files)", EXIT_USAGE)
    models = [r for r in resources if r.suffix == ".bpmn"]
    if not no_lint:
        with console.status(f"bpmnlint {len(models)} model(s)…"):
            result = lint(models)
        if result is None and models:
            console.print("[yellow]bpmnlint not installed (tools/node_modules): models not linted[/yellow]")
        elif result is not None and result.returncode != 0:
            if not _LINT_SUMMARY.search(result.stdout):  # bpmnlint itself failed (config, plug-in): not the models
                detail = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[0]
                fail(f"bpmnlint could not run (exit {result.returncode}): {detail}")
            typer.echo(result.stdout + result.stderr, err=True)
            fail(f"bpmnlint found problems in the models (exit {result.returncode}); fix them or use --no-lint")
    with console.status(f"deploying {len(resources)} resource(s) to {settings.gateway_address}…"):
        response = asyncio.run(_deploy(settings, resources))
    for line in describe_deployment(response):
        typer.echo(line)


async def _deploy(settings: Any, resources: list[Path]) -> Any:
    from workers.runtime.client import describe_gateway_error, gateway

    try:
        async with gateway(settings) as (client, _jobs):
            return await client.deploy_resource(*resources)
    except Exception as error:
        fail(describe_gateway_error(error, settings.gateway_address), EXIT_FAILED)


def describe_deployment(response: Any) -> list[str]:
    """One line per deployed resource: kind, id, version, key."""
    lines = [f"deployment {response.key}"]
    for item in response.deployments:
        if hasattr(item, "bpmn_process_id"):
            lines.append(
                f"  process   {item.bpmn_process_id} v{item.version} key={item.process_definition_key}"
                f" ({item.resource_name})"
            )
        elif hasattr(item, "dmn_decision_id"):
            lines.append(f"  decision  {item.dmn_decision_id} v{item.version} key={item.decision_key}")
        elif hasattr(item, "dmn_decision_requirements_id"):
            lines.append(
                f"  drd       {item.dmn_decision_requirements_id} v{item.version}"
                f" key={item.decision_requirements_key} ({item.resource_name})"
            )
        elif hasattr(item, "form_id"):
            lines.append(f"  form      {item.form_id} v{item.version} key={item.form_key} ({item.resource_name})")
    return lines


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
