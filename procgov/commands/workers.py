"""``procgov workers``: run the job workers of one or more groups until SIGTERM.

Settings come from the environment (``PROCGOV_*``, ``ZEEBE_ADDRESS``) and ``.env``; an invalid one stops
the start with one line naming it (exit 2).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, NoReturn

import typer

EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``procgov: message`` on stderr and exit with ``code``."""
    typer.echo(f"procgov: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(**overrides: object) -> object:
    """The worker settings, or exit 2 with one line naming the invalid setting."""
    from workers.runtime.settings import SettingsError, load_settings

    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as error:
        fail(str(error), EXIT_USAGE)


def workers(
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group",
            "-g",
            help="Worker group to run (rollout, slm, audit); repeat for several. "
            "Default: every group that is installed.",
        ),
    ] = None,
) -> None:
    """Run job workers against the Zeebe gateway (PROCGOV_GATEWAY_ADDRESS or ZEEBE_ADDRESS).

    Health on PROCGOV_HEALTH_PORT: /healthz, /readyz, /metrics. SIGTERM stops activating jobs, lets
    running jobs finish (PROCGOV_SHUTDOWN_GRACE_S) and exits 0.
    """
    from procgov.groups import GroupUnavailable, load_groups
    from workers.runtime.app import WorkerApp
    from workers.runtime.errors import RuleDataError
    from workers.runtime.logs import configure_logging, get_logger
    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit()
    assert isinstance(settings, WorkerSettings)
    configure_logging(settings.log_level, json=settings.log_json, secrets=settings.secret_values())
    log = get_logger("procgov.workers")
    try:
        groups, skipped = load_groups(group or None)
    except GroupUnavailable as error:
        fail(str(error), EXIT_USAGE)
    for reason in skipped:
        log.warning("worker group skipped", reason=reason)
    if not groups:
        fail("no worker group is available: " + "; ".join(skipped))
    try:
        routers = [g.build_router(settings) for g in groups]
    except (RuleDataError, GroupUnavailable, OSError, ValueError) as error:
        fail(f"cannot build the workers: {error}", EXIT_USAGE)
    import sqlalchemy.exc

    try:
        asyncio.run(WorkerApp(settings, routers).run())
    except (OSError, ValueError, sqlalchemy.exc.SQLAlchemyError) as error:
        # Store unreachable, health port taken, two groups claiming one job type: one line, exit 1.
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fail(f"workers cannot start: {type(error).__name__}: {detail}", EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("workers")(workers)
