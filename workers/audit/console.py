"""Terminal views of a history and a replay (rich), for ``procgov audit history`` and ``replay``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from workers.audit.history import ACTIVE, COMPLETED, InstanceHistory
from workers.audit.replay import OK, ReplayReport
from workers.audit.sla import format_duration

_STATE_STYLE = {COMPLETED: "green", ACTIVE: "yellow"}
_VERDICT_STYLE = {OK: "green"}


def _time(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _json(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def history_view(h: InstanceHistory) -> Group:
    """The instance's timeline: elements, then jobs, incidents, timers, messages and variables."""
    title = Text.assemble(
        (f"{h.bpmn_process_id} v{h.version} ", "bold"),
        f"instance {h.process_instance_key}: ",
        (h.state, _STATE_STYLE.get(h.state, "red")),
        f", started {_time(h.started_at)}",
        f", took {format_duration(h.duration_ms)}" if h.ended_at else "",
    )
    parts: list[Any] = [title]

    timeline = Table(title="Element timeline", title_justify="left")
    for column in ("#", "element", "type", "started", "duration", "state"):
        timeline.add_column(column, justify="right" if column in {"#", "duration"} else "left")
    for i, e in enumerate(h.elements, start=1):
        timeline.add_row(str(i), e.element_id, e.element_type, _time(e.started_at), format_duration(e.duration_ms),
                         Text(e.state, _STATE_STYLE.get(e.state, "red")))
    parts.append(timeline)

    if h.jobs:
        jobs = Table(title="Jobs", title_justify="left")
        for column in ("job", "type", "element", "worker", "activated by", "retries", "failures", "outcome"):
            jobs.add_column(column)
        for j in h.jobs:
            failures = str(j.failures)
            messages = [a.error_message for a in j.attempts if a.error_message]
            if messages:
                failures += f" ({messages[-1]})"
            activated = "\n".join(f"{a.worker} at {_time(a.at)} (timeout {format_duration(a.timeout_ms)})"
                                  for a in j.activations)
            jobs.add_row(str(j.key), j.type, j.element_id, j.worker, activated, str(j.retries), failures,
                         Text(j.outcome, "green" if j.outcome == "COMPLETED" else "yellow"))
        parts.append(jobs)

    if h.parent_process_instance_key > 0:
        parts.append(Text(f"called by instance {h.parent_process_instance_key} "
                          f"(call activity instance {h.parent_element_instance_key})"))

    if h.children:
        called = Table(title="Called instances", title_justify="left")
        for column in ("instance", "process", "call activity", "started", "state"):
            called.add_column(column)
        for c in h.children:
            called.add_row(str(c.process_instance_key), c.bpmn_process_id, c.call_activity_id, _time(c.started_at),
                           Text(c.state, _STATE_STYLE.get(c.state, "red")))
        parts.append(called)

    if h.incidents:
        incidents = Table(title="Incidents", title_justify="left")
        for column in ("incident", "element", "type", "message", "created", "resolved"):
            incidents.add_column(column)
        for incident in h.incidents:
            incidents.add_row(str(incident.key), incident.element_id, incident.error_type, incident.error_message,
                              _time(incident.created_at),
                              _time(incident.resolved_at) if incident.resolved else Text("open", "red"))
        parts.append(incidents)

    if h.timers or h.messages:
        events = Table(title="Timers and messages", title_justify="left")
        for column in ("kind", "element", "detail", "opened", "outcome"):
            events.add_column(column)
        for t in h.timers:
            events.add_row("timer", t.target_element_id, f"due {_time(t.due_date)}", _time(t.created_at),
                           f"{t.outcome} {_time(t.ended_at)}")
        for m in h.messages:
            events.add_row("message", m.element_id, f"{m.message_name} / {m.correlation_key}", _time(m.opened_at),
                           f"CORRELATED {_time(m.correlated_at)}" if m.correlated_at else "waiting")
        parts.append(events)

    if h.variables:
        variables = Table(title="Variables over time", title_justify="left")
        for column in ("at", "name", "value", "scope", "change"):
            variables.add_column(column)
        for v in h.variables:
            scope = "process" if v.scope_key == h.process_instance_key else str(v.scope_key)
            variables.add_row(_time(v.at), v.name, _json(v.value), scope, v.intent)
        parts.append(variables)
    return Group(*parts)


def replay_view(report: ReplayReport) -> Group:
    """One line per decision with its verdict and differences, then the chain, then the summary."""
    table = Table(title="Decision replay", title_justify="left")
    for column in ("seq", "instance", "element", "decision", "rule version", "verdict", "details"):
        table.add_column(column)
    for v in report.verdicts:
        details = [str(d) for d in v.differences] + list(v.notes)
        table.add_row(str(v.seq), str(v.process_instance_key), v.element_id, v.decision, v.rule_version[:19] + "…",
                      Text(v.status.upper(), _VERDICT_STYLE.get(v.status, "bold red")), "\n".join(details))
    parts: list[Any] = [table]
    if report.chain_problems:
        for p in report.chain_problems:
            parts.append(Text(f"chain: record {p.seq}: {p.kind}: {p.detail}", "bold red"))
    else:
        parts.append(Text(f"hash chain intact over {report.records_checked} records", "green"))
    counts = ", ".join(
        f"{n} {s}" for s in ("ok", "mismatch", "tampered", "error") if (n := report.count(s))
    ) or "no decisions"
    parts.append(Text(f"{'PASS' if report.ok else 'FAIL'}: {counts}", "bold green" if report.ok else "bold red"))
    return Group(*parts)


def print_view(view: Group, console: Console | None = None) -> None:
    (console or Console()).print(view)
