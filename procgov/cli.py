"""The ``procgov`` command: assembles the sub-commands of :mod:`procgov.commands`."""

from __future__ import annotations

import typer

from procgov.commands import engine as engine_commands

app = typer.Typer(name="procgov", help="Process governance on Camunda 8 (Zeebe).", no_args_is_help=True)
app.add_typer(engine_commands.app)


@app.callback()
def _root() -> None:
    """Process governance on Camunda 8 (Zeebe)."""


@app.command()
def version() -> None:
    """Print the procgov version."""
    from procgov import __version__

    typer.echo(__version__)


def main() -> None:
    app()
