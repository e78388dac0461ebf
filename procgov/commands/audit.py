"""``procgov audit``: instance histories, decision replay and the HTML audit report.

* ``history KEY``: the instance's timeline in the terminal, from the engine's log (``--data``), an
  exporter file (``--records``) or a search cluster (``--es``), with the instances its call activities
  started (``--follow-children`` prints their timelines too, recursively).
* ``replay [KEY | --all]``: re-decides every recorded decision with its recorded inputs and rule
  version, verifies the hash chain, prints a verdict per decision; exit 1 on any mismatch or tampering.
  With a history source, ``replay KEY`` also replays the instances KEY called (recursively): a rollout's
  replay re-checks the fines decided in the change requests it started.
* ``checkpoint [--every 1h]``: sign the heads of the decision chain (and, with ``--data``, the engine's
  log) with the audit key and write them as checkpoint files, once or periodically (a long-running
  service; the Kubernetes CronJob runs it once per schedule); ``replay`` holds both stores against every checkpoint,
  so a store rewritten and re-hashed, cut short or emptied after a checkpoint is found. With a history
  source, ``replay --all`` also checks every instance of the engine's log (not only those with
  records) for a start at a start event, the nine steps in order, owner changes and unpriced fines, and
  each decision's inputs and time against the job the engine activated.
* ``keygen -o FILE [--rotate]``: write an audit key ring, or append a new signing key to it.
* ``report KEY -o FILE.html [--pdf FILE.pdf]``: a self-contained page organised as an auditor reads
  it (final state, diagram with the path taken, one section per step, deadlines, decisions, fines,
  replay findings), times in ``--timezone`` (default Asia/Shanghai); ``--pdf`` also prints it with
  headless Chromium (the print stylesheet keeps the whole diagram on the page).

The decision registry comes from :func:`procgov.groups.decision_registry` (every group's
``DECISIONS``); :data:`registry_factory` is the one seam tests use to give their own decisions.
"""

from __future__ import annotations

import os
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


CheckpointsOption = Annotated[
    Path | None,
    typer.Option("--checkpoints", help="Checkpoint directory (default: PROCGOV_AUDIT_CHECKPOINT_DIR)."),
]
KeyFileOption = Annotated[
    Path | None, typer.Option("--key-file", help="Audit key ring file (default: PROCGOV_AUDIT_KEY_FILE / _KEY).")
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
    return _replay_with_records(store, keys)[0]


def _replay_with_records(store: str | None, keys: list[int] | None) -> tuple[Any, list[Any], str]:
    """The replay report, the whole log's records (chain order) and the store's description."""
    from workers.audit.replay import replay_log
    from workers.audit.store import DecisionStore, DecisionStoreError

    try:
        decision_store = DecisionStore.open(_store_url(store))
    except DecisionStoreError as error:
        _fail(str(error))
    try:
        records = list(decision_store.records())
        report = replay_log(
            records,
            registry=registry_factory(),
            rule_text=decision_store.rule_text,
            head=decision_store.head(),
            process_instance_keys=keys,
        )
        return report, records, decision_store.description
    finally:
        decision_store.dispose()


def _audit_settings() -> Any:
    from workers.runtime.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as error:
        _fail(str(error))


def _checkpoint_dir(checkpoints: Path | None) -> Path:
    return checkpoints if checkpoints is not None else Path(_audit_settings().audit_checkpoint_dir)


def _keyring(key_file: Path | None) -> Any:
    from workers.runtime.stores.checkpoints import AuditKeyError, Keyring

    settings = None if key_file else _audit_settings()
    try:
        return Keyring.load(
            key=settings.audit_key.get_secret_value() if settings and settings.audit_key else None,
            key_file=key_file or (settings.audit_key_file if settings else None),
        )
    except AuditKeyError as error:
        _fail(str(error))


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
    checkpoints: CheckpointsOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Re-decide every recorded decision, verify the hash chain; exit 1 on any mismatch or tampering.

    With a history source (--data, --records or --es) each instance's decision jobs are also checked
    against the engine's records: completed with the recorded outputs, none without a record, inputs the
    variables the engine gave the job, recorded within the job's life; and each instance against the
    rules (start event, nine steps, owner, fines). Both stores are held against the signed checkpoints.
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
    report, all_records, _ = _replay_with_records(store, wanted)
    if key is not None and not report.verdicts:
        typer.echo(f"no recorded decisions for process instance {key}", err=True)
    print_view(replay_view(report))
    findings: list[str] = []
    for verdict in report.verdicts:
        if not verdict.ok:
            why = "; ".join([*verdict.notes, *map(str, verdict.differences)][:3])
            findings.append(f"decision: instance {verdict.process_instance_key}: record {verdict.seq} "
                            f"({verdict.decision}, job {verdict.job_key}) {verdict.status}: {why}")
    instance_of = {r.seq: r.process_instance_key for r in all_records}
    for problem in report.chain_problems:
        if problem.seq in instance_of:
            findings.append(f"chain: instance {instance_of[problem.seq]}: {problem.detail}")
    registry = registry_factory()
    if source is not None:
        keys = wanted if wanted is not None else _all_instances(source, report)
        checked = 0
        for instance_key in keys:
            history = _history_or_none(source, instance_key)
            if history is None:
                findings.append(f"cross-check: instance {instance_key}: has decision records, but the engine's log "
                                "holds no records of it (deleted from the log, or records of a foreign instance)")
                continue
            checked += 1
            findings += [f"cross-check: instance {instance_key}: {f}" for f in cross_check(history, report, registry)]
            called = _descendants(source, instance_key) if history.children else []
            findings += [f"conformance: {f}" for f in _conformance(history, report, called)]
            findings += [f"user tasks: {f}" for f in _user_task_findings(source, instance_key)]
        if not findings:
            typer.echo(f"cross-check: decision jobs of {checked} instance(s) match their records (and the rules)")
    findings += _checkpoint_findings(checkpoints, key_file, all_records, data)
    for finding in findings:
        typer.secho(finding, fg="red", err=True)
    if not report.ok or findings:
        raise typer.Exit(EXIT_FINDINGS)


def _history_or_none(source: Any, key: int) -> Any:
    """The instance's history; ``None`` when the source has no records of it (a finding for replay)."""
    from workers.audit.history import HistoryError, NoInstanceRecords, load_history
    from workers.audit.records import RecordFormatError
    from workers.audit.sources import SourceError

    try:
        return load_history(source, key)
    except (HistoryError, NoInstanceRecords):
        return None
    except (SourceError, RecordFormatError) as error:
        _fail(str(error))


def _all_instances(source: Any, report: Any) -> list[int]:
    """Every instance the engine's log knows, and every one the store has records of (a record of an
    instance the log does not know is itself a finding of the cross-check)."""
    from workers.audit.records import RecordFormatError
    from workers.audit.sources import SourceError

    try:
        known = list(source.instance_keys())
    except (SourceError, RecordFormatError) as error:
        _fail(str(error))
    recorded = {v.process_instance_key for v in report.verdicts}
    return known + sorted(recorded - set(known))


def _user_task_findings(source: Any, key: int) -> list[Any]:
    """Denied attempts and protected writes in the instance's USER_TASK records (the guard's rule table)."""
    from workers.audit.guard import GuardSettings
    from workers.audit.guard_rules import GuardRulesError, load_rules
    from workers.audit.guarded_writes import user_task_findings

    try:
        rules = load_rules(GuardSettings().rules)
    except GuardRulesError as error:
        _fail(str(error))
    return user_task_findings(source.instance_records(key), {p.name: p.rule for p in rules.protected})


def _conformance(history: Any, report: Any, called: list[int]) -> list[Any]:
    from workers.audit.conformance import check_instance

    return check_instance(history, report.verdicts, called)


def _checkpoint_findings(checkpoints: Path | None, key_file: Path | None, records: list[Any],
                         data: Path | None) -> list[str]:
    """Both stores against every signed checkpoint; the engine log's own chain when --data is given."""
    from workers.audit.checkpoint_audit import check_decisions, check_engine_log
    from workers.audit.engine_chain import read_engine_chain
    from workers.runtime.stores.checkpoints import read_checkpoints

    directory = _checkpoint_dir(checkpoints)
    findings: list[str] = []
    chain = read_engine_chain(data) if data is not None else None
    if chain is not None:
        findings += [f"engine log: {p}" for p in chain.problems]
    if not directory.is_dir() or not any(directory.glob("*.json")):
        typer.secho(f"checkpoints: none in {directory}: a store rewritten and re-hashed as a whole cannot be told "
                    "from an intact one (write them with `procgov audit checkpoint`)", fg="yellow", err=True)
        return findings
    signed, problems = read_checkpoints(directory, _keyring(key_file))
    findings += [f"checkpoints: {p}" for p in problems]
    findings += [f"checkpoints: {f}" for f in check_decisions(signed, records)]
    if chain is not None:
        findings += [f"checkpoints: {f}" for f in check_engine_log(signed, chain)]
    if not findings:
        typer.echo(f"checkpoints: {len(signed)} signed checkpoint(s) in {directory} hold")
    return findings


def _sign_heads(store: str | None, data: Path | None, directory: Path, keyring: Any,
                last: tuple[Any, Any] | None) -> tuple[Any, Any]:
    """One round: verify both chains, then sign the heads that moved since ``last`` (``None``: sign both).

    Returns the heads now, (decision head, engine-log head). Exits 1 without signing when a chain does
    not verify: a checkpoint must never vouch for an edit.
    """
    from workers.audit.chain import verify_chain
    from workers.audit.checkpoint_audit import checkpoint_decisions, checkpoint_engine_log
    from workers.audit.engine_chain import read_engine_chain
    from workers.audit.store import DecisionStore, DecisionStoreError

    try:
        decision_store = DecisionStore.open(_store_url(store))
    except DecisionStoreError as error:
        _fail(str(error))
    try:
        records = list(decision_store.records())
        head = decision_store.head()
        problems = verify_chain(records, head)
        description = decision_store.description
    finally:
        decision_store.dispose()
    chain = read_engine_chain(data) if data is not None else None
    engine_problems = list(chain.problems) if chain is not None else []
    if problems or engine_problems:
        for problem in [p.detail for p in problems] + engine_problems:
            typer.secho(problem, fg="red", err=True)
        typer.secho("not signed: the chain does not verify (replay it first)", fg="red", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    engine_head = (chain.head_seq, chain.head_hash) if chain is not None else None
    if last is not None and last[0] == head:
        typer.echo(f"decision chain unchanged since the last checkpoint ({len(records)} record(s)): not signed again")
    else:
        path = checkpoint_decisions(directory, keyring, records, description)
        typer.echo(f"wrote {path} (decision chain: {len(records)} record(s), key {keyring.signing_id})")
    if data is not None and chain is not None:
        if last is not None and last[1] == engine_head:
            typer.echo(f"engine log unchanged since the last checkpoint (commit {chain.head_seq}): not signed again")
        else:
            engine_path, signed = checkpoint_engine_log(directory, keyring, data)
            typer.echo(f"wrote {engine_path} (engine log: {signed.records} record(s), commit {signed.head_seq})")
    return head, engine_head


def _every_ms(every: str) -> int:
    from procgov.commands.instances import parse_ttl

    try:
        interval = parse_ttl(every)
    except typer.BadParameter as error:
        raise typer.BadParameter(str(error.message), param_hint="--every") from None
    if interval < 1000:
        raise typer.BadParameter(f"{every!r}: at least one second between checkpoints", param_hint="--every")
    return interval


@app.command()
def checkpoint(
    store: StoreOption = None,
    data: DataOption = None,
    checkpoints: CheckpointsOption = None,
    key_file: KeyFileOption = None,
    every: Annotated[str | None, typer.Option(
        "--every", help="Keep running and sign the heads every DURATION (1h, 15m, PT6H); stops on SIGTERM.")] = None,
    count: Annotated[int | None, typer.Option(
        "--count", min=1, help="With --every: stop after this many rounds (default: until stopped).")] = None,
) -> None:
    """Sign the decision chain's head (and the engine log's, with --data) and write checkpoint files.

    With --every it keeps doing so (a compose service; the Kubernetes CronJob runs it once per
    schedule instead): each round signs the heads that moved since the last one. Refuses (exit 1) to
    sign a chain that does not verify: a checkpoint must never vouch for an edit.
    """
    import signal
    import threading

    if count is not None and every is None:
        _fail("--count needs --every")
    interval_ms = _every_ms(every) if every is not None else None
    keyring = _keyring(key_file)
    directory = _checkpoint_dir(checkpoints)
    if interval_ms is None:
        _sign_heads(store, data, directory, keyring, None)
        return
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        typer.echo(f"signing checkpoints every {every} into {directory}" + (f", {count} round(s)" if count else ""))
        last, rounds = None, 0
        while not stop.is_set():
            last = _sign_heads(store, data, directory, keyring, last)
            rounds += 1
            if count is not None and rounds >= count:
                break
            stop.wait(interval_ms / 1000)
        typer.echo(f"stopped after {rounds} round(s)")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command()
def keygen(
    output: Annotated[Path, typer.Option("--output", "-o", help="The key ring file to write.")],
    rotate: Annotated[bool, typer.Option("--rotate", help="Append a new signing key to an existing ring.")] = False,
) -> None:
    """Write an audit key ring (``KEY_ID:SECRET``, mode 0600), or with --rotate append a new signing key.

    Keep the file off the hosts of the databases it protects; checkpoints signed by older keys still
    verify after a rotation, because every key of the ring verifies and only the last one signs.
    """
    from workers.runtime.stores.checkpoints import AuditKeyError, Keyring, new_key_entry

    existing: Keyring | None = None
    if output.exists():
        if not rotate:
            _fail(f"{output} exists: pass --rotate to append a new signing key, or choose another file")
        try:
            existing = Keyring.load(key_file=output)
        except AuditKeyError as error:
            _fail(str(error))
    elif rotate:
        _fail(f"{output} does not exist: nothing to rotate (leave out --rotate to create it)")
    entry = new_key_entry(existing)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as file:
        file.write(entry + "\n")
    os.chmod(output, 0o600)
    typer.echo(f"{'appended' if existing else 'wrote'} audit key {entry.partition(':')[0]} to {output} (mode 0600)")


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
