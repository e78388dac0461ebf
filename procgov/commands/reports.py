"""``procgov reports``: the reports kept in the shared report store.

* ``list [PREFIX]``: every report (audit records and reports, monthly SLA reports, improvement plans)
  with its size, time and location; ``--store`` or ``PROCGOV_REPORTS_URL`` (default ``var/reports``)
  names the store, the same one every worker replica files into: a directory, or
  ``s3://bucket[/prefix]`` on S3-compatible object storage (``PROCGOV_REPORTS__ENDPOINT_URL`` and
  the other ``PROCGOV_REPORTS__*`` settings).
* ``get KEY -o FILE``: copy one report out of the store. An audit record (``audit/<process>/<key>.json``
  or ``.html``) was filed by the instance's last task, before its end event, and says so; given the
  engine's records (``--data``, ``--records`` or ``--es``, as for ``procgov audit``), ``get`` re-derives
  its final state from them as they are now: the JSON gets ``state.final``/``state.now`` as read, the
  HTML is rendered again from the records (with the decision replay unless ``--no-replay``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from procgov.commands import audit as audit_commands
from procgov.commands.workers import fail

app = typer.Typer(name="reports", help="Reports kept in the shared report store.", no_args_is_help=True)

EXIT_UNAVAILABLE = 1  # the store could not be reached: worth trying again
EXIT_USAGE = 2
#: An audit record's key: ``[audit/]<bpmnProcessId>/<processInstanceKey>.json|.html``.
AUDIT_KEY = re.compile(r"(?:^|/)(?P<process>[^/]+)/(?P<instance>\d+)\.(?P<ext>json|html)$")
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Report store: a directory, file:///path or s3://bucket/prefix "
                                 "(default: PROCGOV_REPORTS_URL, else var/reports)."),
]


def _store(url: str | None) -> Any:
    from workers.runtime.reports import DEFAULT_REPORTS_URL, ReportStoreError, ReportStoreSettings, open_report_store

    try:
        return open_report_store(url or ReportStoreSettings().url.strip() or DEFAULT_REPORTS_URL)
    except ReportStoreError as error:
        fail(str(error), EXIT_USAGE)


@app.command("list")
def list_reports(
    prefix: Annotated[str, typer.Argument(help="Only keys starting with this, e.g. audit/procgov-rollout/.")] = "",
    store: StoreOption = None,
) -> None:
    """List the stored reports: key, kind, size, time (UTC) and location."""
    from rich.console import Console
    from rich.table import Table

    from workers.runtime.reports import ReportStoreUnavailable

    opened = _store(store)
    try:
        reports = opened.list(prefix)
    except ReportStoreUnavailable as error:
        fail(str(error), EXIT_UNAVAILABLE)
    if not reports:
        typer.echo(f"no reports{f' under {prefix!r}' if prefix else ''} in {opened.describe()}")
        return
    table = Table("key", "kind", "size", "modified (UTC)", "location", title=f"{len(reports)} report(s) in "
                  f"{opened.describe()}")
    for r in reports:
        table.add_row(r.key, r.kind, f"{r.size:,}", r.modified.strftime("%Y-%m-%d %H:%M:%S"), r.location)
    console = Console() if Console().is_terminal else Console(width=200)
    console.print(table)


@app.command()
def get(
    key: Annotated[str, typer.Argument(help="The report's key, as `procgov reports list` shows it.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the copy.")],
    store: StoreOption = None,
    data: audit_commands.DataOption = None,
    records: audit_commands.RecordsOption = None,
    es: audit_commands.EsOption = None,
    es_index: audit_commands.EsIndexOption = "zeebe-record*",
    decisions: Annotated[str | None, typer.Option(
        "--decisions", help="Decision store for the re-rendered HTML's replay (default: PROCGOV_STORE_URL).")] = None,
    no_replay: Annotated[bool, typer.Option("--no-replay", help="Re-render the HTML without the replay.")] = False,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the re-derived times.")] = "Asia/Shanghai",
) -> None:
    """Copy one report out of the store; an audit record with its final state re-derived from the
    engine's records when --data, --records or --es names them."""
    from workers.runtime.reports import ReportStoreError, ReportStoreUnavailable

    try:
        body = _store(store).get(key)
    except ReportStoreError as error:
        fail(str(error), EXIT_USAGE)
    except ReportStoreUnavailable as error:
        fail(str(error), EXIT_UNAVAILABLE)
    note = ""
    if data or records or es:
        body, note = _rederived(key, body, audit_commands._source(data, records, es, es_index), decisions,
                                no_replay, timezone)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(body)
    typer.echo(f"wrote {output} ({len(body):,} bytes){note}")


def _rederived(key: str, body: bytes, source: Any, decisions: str | None, no_replay: bool,
               timezone: str) -> tuple[bytes, str]:
    """The audit record ``body`` with its state from ``source``'s records now, and a note saying so."""
    from workers.audit.filing import state_from_records
    from workers.audit.report import instance_state, render_report
    from workers.audit.report_view import TimezoneError, zone

    match = AUDIT_KEY.search(key)
    if match is None:
        fail(f"{key!r} is not an audit record (audit/<process>/<key>.json or .html): only those are re-derived "
             "from the engine's records; leave out --data/--records/--es to copy it as stored", EXIT_USAGE)
    try:
        zone(timezone)
    except TimezoneError as error:
        fail(str(error), EXIT_USAGE)
    instance = int(match["instance"])
    history = audit_commands._history(source, instance)
    if match["ext"] == "json":
        try:
            document = state_from_records(json.loads(body), history, source=source.describe(), timezone=timezone)
        except ValueError as error:  # not JSON, or another instance's records
            fail(f"{key}: {error}", EXIT_USAGE)
        rendered = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    else:
        replayed = None if no_replay else audit_commands._replay(decisions, [instance])
        rendered = render_report(history, replay=replayed, source=source.describe(),
                                 timezone=timezone).encode("utf-8")
    state = instance_state(history, timezone=timezone)
    return rendered, f"; final state {state.code} ({state.now.lower()}) from {source.describe()}"
