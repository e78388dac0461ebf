"""``procgov guard``: run the user task guard (``audit.guard-user-task``) until SIGTERM.

The completing and assigning task listener of procgov's user tasks (workers/audit/guard.py). It talks to
Camunda's REST API (``PROCGOV_REST_URL``, the transport's credentials), since a listener's denial travels
in the job result, and reads the engine's records where audit does (``PROCGOV_AUDIT_DATA_DIR``,
``PROCGOV_AUDIT_RECORDS_FILE`` or ``PROCGOV_AUDIT_ES_URL``). Rule data: ``PROCGOV_AUDIT_GUARD__RULES``,
``PROCGOV_AUDIT_GUARD__DIRECTORY``.
"""

from __future__ import annotations

import asyncio

import typer

from procgov.commands.workers import EXIT_USAGE, fail, settings_or_exit


def guard() -> None:
    """Run the user task guard: deny completions outside the form, protected writes, the wrong person."""
    from workers.audit.guard import run_guard
    from workers.audit.guard_rules import GuardRulesError
    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit()
    assert isinstance(settings, WorkerSettings)
    try:
        asyncio.run(run_guard(settings))
    except GuardRulesError as error:
        fail(str(error), EXIT_USAGE)
    except OSError as error:  # the health port is taken
        fail(f"cannot start the guard: {error}")


def register(app: typer.Typer) -> None:
    app.command(name="guard")(guard)
