"""``procgov reports``: the reports kept in the shared report store.

* ``list [PREFIX]``: every report (audit records and reports, monthly SLA reports, improvement plans)
  with its size, time and location; ``--store`` or ``PROCGOV_REPORTS_URL`` (default ``var/reports``)
  names the store, the same one every worker replica files into: a directory, or
  ``s3://bucket[/prefix]`` on S3-compatible object storage (``PROCGOV_REPORTS__ENDPOINT_URL`` and
  the other ``PROCGOV_REPORTS__*`` settings).
* ``get KEY -o FILE``: copy one report out of the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from procgov.commands.workers import fail

app = typer.Typer(name="reports", help="Reports kept in the shared report store.", no_args_is_help=True)

EXIT_UNAVAILABLE = 1  # the store could not be reached: worth trying again
EXIT_USAGE = 2
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
) -> None:
    """Copy one report out of the store."""
    from workers.runtime.reports import ReportStoreError, ReportStoreUnavailable

    try:
        data = _store(store).get(key)
    except ReportStoreError as error:
        fail(str(error), EXIT_USAGE)
    except ReportStoreUnavailable as error:
        fail(str(error), EXIT_UNAVAILABLE)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    typer.echo(f"wrote {output} ({len(data):,} bytes)")
