"""``procgov effects``: the side effects (mail, chat webhooks) the workers recorded, and an operator's
verdict on those whose outcome is uncertain.

* ``list``: the claims of the worker store (key, status, job, the effect's own reference such as the
  Message-ID, claim time); ``--status uncertain`` (the default) shows what waits for an operator.
* ``settle KEY --happened | --not-happened``: after checking with the receiver. ``--happened`` records
  the effect as done (the retried job does not repeat it); ``--not-happened`` drops the claim (the
  retried job runs it). Then retry the job (``procgov incidents retry INCIDENT_KEY``). Only an
  ``uncertain`` claim can be settled: a running one belongs to a live activation, a done one is final.

The store is the workers' own (``PROCGOV_STORE_URL``, :mod:`workers.runtime.settings`); it is opened
without migrating, so a wrong URL is reported instead of creating an empty store.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer

from procgov.commands.audit import StoreOption
from procgov.commands.workers import EXIT_USAGE, fail, settings_or_exit

app = typer.Typer(name="effects", help="Recorded side effects; settle an uncertain one.", no_args_is_help=True)

COLUMNS = ("key", "status", "job_key", "effect_ref", "claimed_at")


class StatusFilter(StrEnum):
    uncertain = "uncertain"
    running = "running"
    done = "done"
    all = "all"


def _fail(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


def _store(store: str | None) -> Any:
    """The workers' idempotency store at ``--store`` or ``PROCGOV_STORE_URL``; exit 2 if it is none."""
    import sqlalchemy as sa

    from workers.runtime.stores.db import create_store_engine
    from workers.runtime.stores.idempotency import IdempotencyStore

    if store is None:
        from workers.runtime.settings import WorkerSettings

        settings = settings_or_exit()
        assert isinstance(settings, WorkerSettings)
        store = settings.store_url
    url = store
    shown = sa.make_url(url).render_as_string(hide_password=True)
    try:
        engine = create_store_engine(url)
        found = sa.inspect(engine).has_table("idempotency_keys")
    except Exception as error:  # a driver's error names the host, never the password (URL hidden above)
        _fail(f"cannot open the worker store {shown}: {type(error).__name__}: {str(error).splitlines()[0]}")
    if not found:
        engine.dispose()
        _fail(f"no worker store at {shown} (no idempotency_keys table): check PROCGOV_STORE_URL or --store")
    return IdempotencyStore(engine)


def _claimed(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")


@app.command("list")
def list_effects(
    status: Annotated[StatusFilter, typer.Option("--status", help="Which claims to show.")] = StatusFilter.uncertain,
    store: StoreOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per claim.")] = False,
) -> None:
    """Print the recorded side effects: key, status, job key, effect reference, claim time (UTC)."""
    from rich.console import Console
    from rich.table import Table

    claims = _store(store).claims(None if status is StatusFilter.all else status.value)
    rows = [{**asdict(claim), "claimed_at": _claimed(claim.claimed_at)} for claim in claims]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(*COLUMNS)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in COLUMNS))
    Console().print(table)
    typer.echo(f"{len(rows)} side effect(s) {status.value if status is not StatusFilter.all else 'in all'}")


@app.command("settle")
def settle(
    key: Annotated[str, typer.Argument(help="The side effect's key (from the incident or `effects list`).")],
    happened: Annotated[
        bool | None,
        typer.Option("--happened/--not-happened", help="Whether the receiver got it (check with the receiver)."),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Record whether an uncertain side effect happened, so the retried job skips or repeats it."""
    if happened is None:
        _fail("say what the receiver reported: --happened or --not-happened")
    once = _store(store)
    current = once.status(key)
    if current != "uncertain":
        state = "no such side effect" if current is None else f"it is {current}, not uncertain"
        _fail(f"cannot settle {key!r}: {state}; only an uncertain side effect is settled "
              "(see `procgov effects list --status all`)")
    if not once.settle(key, happened=happened):
        _fail(f"cannot settle {key!r}: it changed meanwhile (see `procgov effects list --status all`)")
    verdict = "done: the retried job will not repeat it" if happened else "released: the retried job sends it again"
    typer.echo(f"settled {key!r} as {verdict}; now retry the job (`procgov incidents retry INCIDENT_KEY`)")


def register(root: typer.Typer) -> None:
    root.add_typer(app)
