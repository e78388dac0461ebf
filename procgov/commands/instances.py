"""``procgov start`` and ``procgov publish``: create process instances and publish messages.

``start`` opens a span and passes its W3C trace context as the process variable ``traceparent``, so
every job of the instance joins that one trace (docs/contracts.md).
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from procgov.commands.workers import EXIT_FAILED, EXIT_USAGE, fail, settings_or_exit

VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", "-v", help="Variable NAME=VALUE; VALUE is JSON when it parses, else a string. Repeatable."),
]
JsonOption = Annotated[
    Path | None,
    typer.Option(
        "--file", "-f", "--json", help="YAML or JSON file with an object of variables (*.json is read as JSON)."
    ),
]
GatewayOption = Annotated[str | None, typer.Option(help="Gateway host:port (default: settings).")]

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)?$")
_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_ttl(text: str) -> int:
    """``60s``, ``5m``, ``2h``, ``1d``, ``500ms``, a bare number of seconds, or ISO 8601 (``PT1H``) → ms."""
    match = _DURATION.match(text.strip())
    if match:
        return int(match.group(1)) * _UNITS_MS[match.group(2) or "s"]
    import isodate

    try:
        duration = isodate.parse_duration(text.strip())
    except (isodate.ISO8601Error, ValueError):
        raise typer.BadParameter(f"{text!r} is not a duration (60s, 5m, PT1H …)", param_hint="--ttl") from None
    if not isinstance(duration, timedelta):
        raise typer.BadParameter(f"{text!r}: use days or smaller units", param_hint="--ttl")
    return int(duration.total_seconds() * 1000)


def _variables(var: list[str] | None, json_file: Path | None) -> dict[str, Any]:
    from workers.runtime.variables import VariableError, collect_variables

    try:
        return collect_variables(var or (), json_file)
    except VariableError as error:
        fail(str(error), EXIT_USAGE)


def start(
    process: Annotated[str, typer.Argument(help="BPMN process id, e.g. procgov-rollout.")],
    var: VarOption = None,
    json_file: JsonOption = None,
    version: Annotated[int, typer.Option(help="Process version; -1 = latest.")] = -1,
    gateway: GatewayOption = None,
) -> None:
    """Start an instance of PROCESS with variables (and a traceparent); print its key."""
    from opentelemetry.trace import SpanKind

    from workers.runtime.settings import WorkerSettings
    from workers.runtime.tracing import TRACEPARENT, create_tracer_provider, traceparent_of

    settings = settings_or_exit(gateway_address=gateway)
    assert isinstance(settings, WorkerSettings)
    variables = _variables(var, json_file)
    _check_start_contract(process, variables)
    provider = create_tracer_provider(f"{settings.service_name}-cli", settings.otlp_endpoint)
    try:
        tracer = provider.get_tracer("procgov.cli")
        with tracer.start_as_current_span(
            f"start {process}",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "zeebe", "messaging.operation": "create", "zeebe.bpmn_process_id": process},
        ) as span:
            variables.setdefault(TRACEPARENT, traceparent_of(span))
            instance = asyncio.run(_start(settings, process, version, variables))
            span.set_attribute("zeebe.process_instance.key", instance.process_instance_key)
    finally:
        provider.shutdown()
    typer.echo(
        json.dumps(
            {
                "processInstanceKey": instance.process_instance_key,
                "bpmnProcessId": instance.bpmn_process_id,
                "version": instance.version,
                "traceparent": variables[TRACEPARENT],
            }
        )
    )


def _check_start_contract(process: str, variables: dict[str, Any]) -> None:
    """Refuse (exit 2) a start that misses a variable ``bpmn/start-contracts.yaml`` requires for PROCESS."""
    from procgov.commands.start_contracts import ContractError, load_contracts

    try:
        contract = load_contracts().get(process)
    except ContractError as error:
        fail(str(error), EXIT_USAGE)
    problems = contract.problems(variables) if contract is not None else []
    if contract is not None and problems:
        hint = f" (a complete example: --file {contract.sample})" if contract.sample else ""
        fail(f"{process} cannot start: {'; '.join(problems)}{hint}", EXIT_USAGE)


async def _start(settings: Any, process: str, version: int, variables: dict[str, Any]) -> Any:
    from workers.runtime.client import describe_gateway_error, gateway

    try:
        async with gateway(settings) as (client, _jobs):
            return await client.run_process(process, variables=variables, version=version)
    except Exception as error:
        fail(describe_gateway_error(error, settings.gateway_address), EXIT_FAILED)


def publish(
    message: Annotated[str, typer.Argument(help="Message name, as in the model's message definition.")],
    key: Annotated[str, typer.Option("--key", "-k", help="Correlation key.")],
    var: VarOption = None,
    json_file: JsonOption = None,
    ttl: Annotated[str, typer.Option(help="How long the message waits for a subscription (60s, 5m, PT1H).")] = "0s",
    message_id: Annotated[str | None, typer.Option("--id", help="Message id (publishing it twice is refused).")] = None,
    gateway: GatewayOption = None,
) -> None:
    """Publish MESSAGE with a correlation key; print the message key."""
    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit(gateway_address=gateway)
    assert isinstance(settings, WorkerSettings)
    variables = _variables(var, json_file)
    ttl_ms = parse_ttl(ttl)
    response = asyncio.run(_publish(settings, message, key, variables, ttl_ms, message_id))
    typer.echo(json.dumps({"messageKey": response.key}))


async def _publish(
    settings: Any, message: str, key: str, variables: dict[str, Any], ttl_ms: int, message_id: str | None
) -> Any:
    from workers.runtime.client import describe_gateway_error, gateway

    try:
        async with gateway(settings) as (client, _jobs):
            return await client.publish_message(
                message, key, variables=variables, time_to_live_in_milliseconds=ttl_ms, message_id=message_id
            )
    except Exception as error:
        fail(describe_gateway_error(error, settings.gateway_address), EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("start")(start)
    app.command("publish")(publish)
