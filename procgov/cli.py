"""The ``procgov`` command: assembles the sub-commands of :mod:`procgov.commands`."""

from __future__ import annotations

import typer

from procgov.commands import audit as audit_commands
from procgov.commands import console as console_commands
from procgov.commands import demo as demo_commands
from procgov.commands import deploy as deploy_commands
from procgov.commands import effects as effect_commands
from procgov.commands import engine as engine_commands
from procgov.commands import guard as guard_commands
from procgov.commands import incidents as incident_commands
from procgov.commands import instances as instance_commands
from procgov.commands import processes as process_commands
from procgov.commands import reports as report_commands
from procgov.commands import tasks as task_commands
from procgov.commands import workers as worker_commands

app = typer.Typer(name="procgov", help="Process governance on Camunda 8 (Zeebe).", no_args_is_help=True)
app.add_typer(engine_commands.app)
app.add_typer(audit_commands.app)
app.add_typer(process_commands.app)
app.add_typer(report_commands.app)
app.add_typer(console_commands.app)
worker_commands.register(app)
deploy_commands.register(app)
instance_commands.register(app)
task_commands.register(app)
incident_commands.register(app)
effect_commands.register(app)
demo_commands.register(app)
guard_commands.register(app)


@app.callback()
def _root() -> None:
    """Process governance on Camunda 8 (Zeebe)."""


@app.command()
def version() -> None:
    """Print the procgov version."""
    from procgov import __version__

    typer.echo(__version__)


def main() -> None:
    try:
        app()
    except ModuleNotFoundError as error:
        # The worker image installs this CLI without the procgov-engine distribution (Dockerfile):
        # the commands that run the engine (`procgov engine`, `procgov demo`) say so instead of a traceback.
        from importlib.util import find_spec

        if not (error.name or "").startswith("procgov_engine") or find_spec("procgov_engine") is not None:
            raise
        typer.echo(
            "procgov: this command runs the embedded engine, and the procgov-engine distribution is not "
            "installed here (the worker image leaves it out); `pip install .` in a procgov checkout installs it",
            err=True,
        )
        raise SystemExit(2) from None
