"""``procgov audit``: instance histories, decision replay and the HTML audit report.

* ``history KEY``: the instance's timeline in the terminal, from the engine's log (``--data``), an
  exporter file (``--records``) or a search cluster (``--es``), with the instances its call activities
  started (``--follow-children`` prints their timelines too, recursively).
* ``replay [KEY | --all]``: re-decides every recorded decision with its recorded inputs and rule
  version, verifies the hash chain, prints a verdict per decision; exit 1 on any mismatch or tampering.
  With a history source, ``replay KEY`` also replays the instances KEY called (recursively): a rollout's
  replay re-checks the fines decided in the change requests it started.
* ``report KEY -o FILE.html [--pdf FILE.pdf]``: a self-contained page organised as an auditor reads
  it (final state, diagram with the path taken, one section per step, deadlines, decisions, fines,
  replay findings), times in ``--timezone`` (default Asia/Shanghai); ``--pdf`` also prints it with
  headless Chromium (the print stylesheet keeps the whole diagram on the page).

The decision registry comes from :func:`procgov.groups.decision_registry` (every group's
``DECISIONS``); :data:`registry_factory` is the one seam tests use to give their own decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from procgov.commands.workers import fail

app = typer.Typer(name="audit", help="Instance histories, decision replay and audit reports.", no_args_is_help=True)

EXIT_FINDINGS = 1  # replay found a mismatch or tampering
EXIT_USAGE = 2  # bad arguments, unreadable source or store


def _default_registry() -> dict[str, Any]:
    from procgov.groups import GroupUnavailable, decision_registry

    try:
        return decision_registry()
    except GroupUnavailable as error:
        _fail(str(error))


#: Returns ``{decision.name: Decision}``; replaced in tests to replay the tests' own decisions.
registry_factory: Callable[[], dict[str, Any]] = _default_registry

DataOption = Annotated[Path | None, typer.Option("--data", help="Engine data directory (DATA_DIR/records.db).")]
RecordsOption = Annotated[
    Path | None, typer.Option("--records", help="Exporter JSON: JSON lines, ES bulk body or _search response.")
]
EsOption = Annotated[str | None, typer.Option("--es", help="Elasticsearch/OpenSearch URL (zeebe-record* indices).")]
EsIndexOption = Annotated[str, typer.Option("--es-index", help="Index pattern of the exporter's documents.")]
StoreOption = Annotated[
    str | None,
    typer.Option("--store", help="Decision store URL (default: PROCGOV_STORE_URL, else sqlite:///var/procgov.db)."),
]


def _fail(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


def _store_url(store: str | None) -> str:
    if store:
        return store
    from workers.runtime.settings import SettingsError, load_settings

    try:
        return load_settings().store_url
    except SettingsError as error:
        _fail(str(error))


def _source(data: Path | None, records: Path | None, es: str | None, es_index: str) -> Any:
    from workers.audit.records import RecordFormatError
    from workers.audit.sources import SourceError, open_source

    try:
        return open_source(data_dir=data, records_file=records, es_url=es, es_index=es_index)
    except (SourceError, RecordFormatError) as error:
        _fail(str(error))


def _history(source: Any, key: int) -> Any:
    from workers.audit.history import HistoryError, load_history
    from workers.audit.records import RecordFormatError
    from workers.audit.sources import SourceError

    try:
        return load_history(source, key)
    except (SourceError, HistoryError, RecordFormatError) as error:
        _fail(str(error))


def _replay(store: str | None, keys: list[int] | None) -> Any:
    from workers.audit.replay import replay_log
    from workers.audit.store import DecisionStore, DecisionStoreError

    try:
        decision_store = DecisionStore.open(_store_url(store))
    except DecisionStoreError as error:
        _fail(str(error))
    try:
        return replay_log(
            decision_store.records(),
            registry=registry_factory(),
            rule_text=decision_store.rule_text,
            head=decision_store.head(),
            process_instance_keys=keys,
        )
    finally:
        decision_store.dispose()


@app.command()
def history(
    key: Annotated[int, typer.Argument(help="Process instance key.")],
    data: DataOption = None,
    records: RecordsOption = None,
    es: EsOption = None,
    es_index: EsIndexOption = "zeebe-record*",
    follow_children: Annotated[
        bool, typer.Option("--follow-children", help="Also print the called instances' histories, recursively.")
    ] = False,
) -> None:
    """Print one instance's history: element timeline, jobs, incidents, timers, messages, variables."""
    from workers.audit.console import history_view, print_view

    source = _source(data, records, es, es_index)
    print_view(history_view(_history(source, key)))
    if follow_children:
        for child in _descendants(source, key):
            print_view(history_view(_history(source, child)))


def _descendants(source: Any, key: int) -> list[int]:
    from workers.audit.history import descendant_keys
    from workers.audit.records import RecordFormatError
    from workers.audit.sources import SourceError

    try:
        return descendant_keys(source, key)
    except (SourceError, RecordFormatError) as error:
        _fail(str(error))


@app.command()
def replay(
    key: Annotated[int | None, typer.Argument(help="Process instance key (or --all).")] = None,
    all_instances: Annotated[bool, typer.Option("--all", help="Replay every recorded decision.")] = False,
    store: StoreOption = None,
    data: DataOption = None,
    records: RecordsOption = None,
    es: EsOption = None,
    es_index: EsIndexOption = "zeebe-record*",
) -> None:
    """Re-decide every recorded decision, verify the hash chain; exit 1 on any mismatch or tampering.

    With a history source (--data, --records or --es) each instance's decision jobs are also checked
    against the engine's records: completed with the recorded outputs, none without a record.
    """
    from workers.audit.console import print_view, replay_view
    from workers.audit.crosscheck import cross_check

    if (key is None) == (not all_instances):
        _fail("give a process instance KEY or --all (not both)")
    source = _source(data, records, es, es_index) if data or records or es else None
    # The instance and, when a history source can say which, every instance it called (recursively).
    wanted = None if key is None else [key] + (_descendants(source, key) if source is not None else [])
    if wanted is not None and len(wanted) > 1:
        typer.echo(f"replaying instance {key} and the {len(wanted) - 1} instance(s) it called: "
                   + ", ".join(map(str, wanted[1:])))
    report = _replay(store, wanted)
    if key is not None and not report.verdicts:
        typer.echo(f"no recorded decisions for process instance {key}", err=True)
    print_view(replay_view(report))
    findings = []
    if source is not None:
        keys = wanted if wanted is not None else sorted({v.process_instance_key for v in report.verdicts})
        for instance_key in keys:
            findings += [f"instance {instance_key}: {f}" for f in cross_check(_history(source, instance_key), report)]
        for finding in findings:
            typer.secho(f"cross-check: {finding}", fg="red", err=True)
        if not findings:
            typer.echo(f"cross-check: decision jobs of {len(keys)} instance(s) match their records")
    if not report.ok or findings:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def report(
    key: Annotated[int, typer.Argument(help="Process instance key.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The HTML file to write.")] = None,
    data: DataOption = None,
    records: RecordsOption = None,
    es: EsOption = None,
    es_index: EsIndexOption = "zeebe-record*",
    bpmn: Annotated[Path | None, typer.Option(help="BPMN file to draw instead of the deployed resource.")] = None,
    store: StoreOption = None,
    no_replay: Annotated[bool, typer.Option("--no-replay", help="Leave out the decision replay.")] = False,
    sla: Annotated[Path | None, typer.Option(help="SLA policy YAML: limits {elementId: ISO duration}.")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="Also print it to a PDF (headless Chromium).")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone the report's times are shown in.")] = "Asia/Shanghai",
) -> None:
    """Write a self-contained HTML report (and with --pdf a PDF): final state, steps, decisions, fines."""
    from workers.audit.crosscheck import cross_check
    from workers.audit.report import render_report, write_report
    from workers.audit.report_pdf import PdfError, print_pdf
    from workers.audit.report_view import TimezoneError, zone
    from workers.audit.sla import SlaPolicy, SlaPolicyError

    if output is None and pdf is None:
        _fail("give --output FILE.html, --pdf FILE.pdf or both")
    try:
        zone(timezone)
    except TimezoneError as error:
        _fail(str(error))

    source = _source(data, records, es, es_index)
    instance = _history(source, key)
    try:
        policy = SlaPolicy.from_file(sla) if sla else SlaPolicy()
    except (OSError, SlaPolicyError) as error:
        _fail(str(error))
    try:
        bpmn_xml = bpmn.read_text(encoding="utf-8") if bpmn else None
    except OSError as error:
        _fail(f"cannot read {bpmn}: {error}")
    replayed = None if no_replay else _replay(store, [key])
    html = render_report(instance, replay=replayed, policy=policy, bpmn_xml=bpmn_xml, source=source.describe(),
                         timezone=timezone)
    path = write_report(output if output is not None else pdf.with_suffix(".html"), html)  # type: ignore[union-attr]
    if pdf is not None:
        try:
            print_pdf(path, pdf)
        except PdfError as error:
            _fail(str(error))
        typer.echo(f"wrote {pdf}")
    findings = [] if replayed is None else cross_check(instance, replayed)
    for finding in findings:
        typer.secho(f"cross-check: {finding}", fg="red", err=True)
    verdict = "" if replayed is None else f"; decisions {'PASS' if replayed.ok and not findings else 'FAIL'}"
    typer.echo(f"wrote {path}{verdict}")
