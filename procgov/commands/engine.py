"""``procgov engine``: run the embedded Zeebe-compatible engine, or export its record log.

Imports of the engine happen inside the commands so that ``procgov --help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from procgov.commands.addresses import check_host, check_port

app = typer.Typer(
    name="engine",
    help="Run the embedded engine (Zeebe gateway protocol on loopback) or export its records.",
    invoke_without_command=True,
)

DataDir = Annotated[Path, typer.Option("--data", help="Engine data directory (holds records.db).")]


@app.callback()
def engine(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(callback=check_host, help="Address to listen on; loopback by default (no authentication).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(callback=check_port, help="gRPC port of the Zeebe gateway protocol (0: any free port).")
    ] = 26500,
    rest_port: Annotated[
        int,
        typer.Option(
            callback=check_port, help="Port of Camunda's Orchestration Cluster REST API (/v2), on the same host."
        ),
    ] = 8080,
    data: DataDir = Path("var/engine"),
    snapshot_every: Annotated[
        int,
        typer.Option(
            min=0,
            help="Commands between snapshots of the engine's state; a start restores the latest one and "
            "replays only the commands after it (0: no snapshots, every start replays the whole log; default: "
            "procgov_engine.core.snapshot.SNAPSHOT_EVERY_COMMANDS)."
        ),
    ] = 100_000,
) -> None:
    """Serve the Zeebe gateway protocol and the REST API until SIGTERM/SIGINT (then stop gracefully)."""
    if ctx.invoked_subcommand is not None:
        return
    from procgov_engine.server import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data.mkdir(parents=True, exist_ok=True)
    try:
        run(host, port, data, snapshot_every, rest_port)
    except OSError as error:  # e.g. the port is taken: say so instead of a traceback
        typer.echo(f"procgov engine: {error}", err=True)
        raise typer.Exit(1) from None


@app.command("export")
def export(
    data: DataDir,
    output: Annotated[Path, typer.Option("-o", "--output", help="JSON Lines file to write.")],
) -> None:
    """Write every record of the log as Zeebe's Elasticsearch exporter documents, one JSON per line."""
    from procgov_engine.export import export_jsonl

    if not (data / "records.db").exists():
        raise typer.BadParameter(f"no engine log at {data / 'records.db'}", param_hint="--data")
    count = export_jsonl(data, output)
    typer.echo(f"exported {count} records to {output}")
