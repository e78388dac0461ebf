"""What the audit report says, derived from the records: final state, steps, deadlines, fines.

Pure: a history (and the model it ran) in, plain view objects out; the template only lays them out.
Every time is shown in the report's time zone with its UTC offset, so "09:00 +08:00" cannot be read
as 01:00 in another zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workers.audit.history import (
    ACTIVE,
    COMPLETED,
    TERMINATED,
    ElementVisit,
    InstanceHistory,
    JobHistory,
    UserTaskHistory,
)
from workers.audit.replay import DecisionVerdict
from workers.audit.report_model import ACTIVITIES, KIND_LABELS, SCOPES, STEPS, ModelElement, ProcessModel
from workers.audit.sla import Fine, format_duration
from workers.runtime.wording import ROLE_LABELS, local_time

DEFAULT_TIMEZONE = "Asia/Shanghai"
USER_TASK_JOB = "io.camunda.zeebe:userTask"  # job-worker user tasks, in records written before 8.8's user tasks
FILING_JOB = "audit.file-history"
HEADER_ASSIGNEE = "io.camunda.zeebe:assignee"
HEADER_CANDIDATES = "io.camunda.zeebe:candidateGroups"
_CONTAINER_TYPES = {"PROCESS", "SUB_PROCESS", "MULTI_INSTANCE_BODY", "EVENT_SUB_PROCESS"}

#: Element and instance states in the report's words.
STATE_LABELS = {COMPLETED: "已完成 completed", TERMINATED: "已终止 terminated", ACTIVE: "进行中 in progress",
                "COMPLETING": "完成中 completing", "NOT_REACHED": "未到达 not reached"}


class TimezoneError(ValueError):
    """An unknown time zone name (the message names it)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimezoneError(f"unknown time zone {name!r}: use an IANA name such as {DEFAULT_TIMEZONE}") from exc


@dataclass(frozen=True)
class Clock:
    """Formats epoch milliseconds in one zone, always with the offset."""

    tz: ZoneInfo

    def at(self, ms: int | None) -> str:
        if ms is None:
            return ""
        return local_time(datetime.fromtimestamp(ms / 1000, tz=self.tz), self.tz)

    @property
    def name(self) -> str:
        return str(self.tz.key)


@dataclass(frozen=True)
class FinalState:
    """``code`` is the state the instance ends in as far as the records say (COMPLETED, TERMINATED,
    ACTIVE); ``now`` is where it stood when the report was made (COMPLETING while its last task files
    this very report)."""

    code: str
    now: str
    text: str

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.now, self.now)


def _leaves(history: InstanceHistory) -> list[ElementVisit]:
    return [v for v in history.elements if v.state == ACTIVE and v.element_type not in _CONTAINER_TYPES]


def final_state(history: InstanceHistory, model: ProcessModel, clock: Clock) -> FinalState:
    """The instance's state from its records; a report filed by the model's last task says "completing".

    The engine writes ELEMENT_COMPLETED of the process only after the filing task completes, so a
    report filed from inside the instance sees it ACTIVE. When the only thing still running is the
    filing job and nothing but end events follows it, the outcome is fixed: the instance completes
    as soon as the filing does. Anything else still running is reported as in progress, by name.
    """
    if history.state == COMPLETED:
        took = format_duration(history.duration_ms)
        return FinalState(COMPLETED, COMPLETED, f"ended {clock.at(history.ended_at)} after {took}")
    if history.state == TERMINATED:
        return FinalState(TERMINATED, TERMINATED, f"cancelled {clock.at(history.ended_at)}")
    leaves = _leaves(history)
    filing = {j.element_instance_key for j in history.jobs if j.type == FILING_JOB and j.ended_at is None}
    if leaves and all(v.element_instance_key in filing for v in leaves):
        ends = model.ends_after(leaves[0].element_id)
        if ends:
            return FinalState(
                COMPLETED, "COMPLETING",
                f"all work done; its last task, “{model.label(leaves[0].element_id)}”, filed this report, and only "
                f"the end event “{', '.join(ends)}” follows: the instance completes when the filing completes",
            )
    names = ", ".join(dict.fromkeys(model.label(v.element_id) for v in leaves)) or "no element"
    return FinalState(ACTIVE, ACTIVE, f"waiting at {names}")


@dataclass(frozen=True)
class ActivityRow:
    name: str
    kind: str
    who: str
    started: str
    ended: str
    duration: str
    outcome: str
    notes: tuple[str, ...] = ()
    breach: bool = False


@dataclass(frozen=True)
class DeadlineRow:
    name: str
    activity: str
    due: str
    done: str
    verdict: str  # met | missed | open
    text: str


@dataclass(frozen=True)
class DecisionRow:
    name: str
    element: str
    clauses: tuple[str, ...]
    rule_version: str
    rule_digest: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    status: str
    findings: tuple[str, ...]
    recorded_at: str


@dataclass(frozen=True)
class StepSection:
    element_id: str
    title: str
    kind: str
    state: str
    started: str
    ended: str
    duration: str
    activities: tuple[ActivityRow, ...] = ()
    deadlines: tuple[DeadlineRow, ...] = ()
    decisions: tuple[DecisionRow, ...] = ()
    called: tuple[str, ...] = ()

    @property
    def reached(self) -> bool:
        return self.state != "NOT_REACHED"

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


def _who_did(task: UserTaskHistory, clock: Clock) -> str:
    """A Camunda user task from its USER_TASK records: for whom, who had it, who completed it and when."""
    parts = [f"assigned to 指派给 {task.assignments[0].assignee}" if task.assignments and task.assignments[0].assignee
             else f"candidates 候选组 {', '.join(task.candidate_groups)}" if task.candidate_groups
             else "unassigned 未指派"]
    parts.append(f"opened 创建于 {clock.at(task.created_at)}")
    for change in task.assignments[1:]:
        parts.append(f"{change.action or 'assign'} → {change.assignee or '(nobody 无人)'} {clock.at(change.at)}")
    if task.outcome == "COMPLETED":
        by = task.assignee or "an unassigned user 未指派者"
        parts.append(f"completed by 完成人 {by} ({task.action or 'complete'}) {clock.at(task.ended_at)}")
    parts += [f"denied 被拒绝: {reason}" for reason in task.denials]
    return "; ".join(parts)


def _who(job: JobHistory | None, kind: str) -> str:
    if job is None:
        return ""
    parts = []
    if job.type == USER_TASK_JOB or kind == "userTask":
        assignee = job.custom_headers.get(HEADER_ASSIGNEE, "")
        groups = job.custom_headers.get(HEADER_CANDIDATES, "")
        parts.append(f"assigned to 指派给 {assignee}" if assignee else
                     f"candidates 候选组 {groups}" if groups else "unassigned 未指派")
        if job.outcome == "COMPLETED":
            parts.append(f"completed via 完成于 {job.worker}")
    elif job.worker:
        parts.append(f"worker 执行者 {job.worker}")
    return "; ".join(parts)


def _outcome(visit: ElementVisit, job: JobHistory | None) -> tuple[str, tuple[str, ...]]:
    notes: list[str] = []
    if job is not None:
        for attempt in job.attempts:
            if attempt.intent == "FAILED":
                notes.append(f"failed 失败: {attempt.error_message}")
            elif attempt.intent == "ERROR_THROWN":
                notes.append(f"business error 业务异常 {attempt.error_code}: {attempt.error_message}".rstrip(": "))
            elif attempt.intent == "TIMED_OUT":
                notes.append("timed out 超时")
    if visit.state == TERMINATED:
        return "interrupted 已中断", tuple(notes)
    return STATE_LABELS.get(visit.state, visit.state), tuple(notes)


def _sorted_by_start(visits: Iterable[ElementVisit]) -> list[ElementVisit]:
    return sorted(visits, key=lambda v: (v.started_at, v.element_instance_key))


@dataclass
class _Context:
    history: InstanceHistory
    model: ProcessModel
    clock: Clock
    breached: set[int] = field(default_factory=set)

    def user_task_at(self, visit: ElementVisit) -> UserTaskHistory | None:
        return next((t for t in reversed(self.history.user_tasks)
                     if t.element_instance_key == visit.element_instance_key), None)

    def job_at(self, visit: ElementVisit) -> JobHistory | None:
        return next((j for j in reversed(self.history.jobs) if j.element_instance_key == visit.element_instance_key),
                    None)


def _activity_rows(ctx: _Context, visits: Sequence[ElementVisit]) -> list[ActivityRow]:
    rows = []
    for visit in visits:
        element = ctx.model.elements.get(visit.element_id)
        kind = element.kind if element else ""
        fired_event = kind in {"boundaryEvent", "intermediateCatchEvent"}
        if kind not in ACTIVITIES and not fired_event:
            continue  # gateways, start and end events, scopes: routing, not work
        job = ctx.job_at(visit)
        outcome, notes = _outcome(visit, job)
        if fired_event:
            host = ctx.model.label(element.attached_to) if element and element.attached_to else ""
            outcome = "reached 已触发" + (f" on 于 “{host}”" if host else "")
        rows.append(ActivityRow(
            name=ctx.model.label(visit.element_id), kind=element.kind_label if element else visit.element_type,
            who=_who_did(user_task, ctx.clock) if (user_task := ctx.user_task_at(visit)) else _who(job, kind),
            started=ctx.clock.at(visit.started_at), ended=ctx.clock.at(visit.ended_at),
            duration="" if fired_event else format_duration(visit.duration_ms), outcome=outcome, notes=notes,
            breach=visit.element_instance_key in ctx.breached,
        ))
    return rows


def _deadline_rows(ctx: _Context, scope_keys: set[int]) -> list[DeadlineRow]:
    """Deadline timers (timer boundary events) of the step: when due, when the work was done."""
    grouped: dict[tuple[str, int], list[Any]] = {}
    for timer in ctx.history.timers:
        element = ctx.model.elements.get(timer.target_element_id)
        if element is None or element.kind != "boundaryEvent" or timer.element_instance_key not in scope_keys:
            continue
        grouped.setdefault((timer.target_element_id, timer.element_instance_key), []).append(timer)
    rows = []
    for (element_id, host_key), timers in grouped.items():
        element = ctx.model.elements[element_id]
        host = next((v for v in ctx.history.elements if v.element_instance_key == host_key), None)
        fired = [t for t in timers if t.outcome == "TRIGGERED"]
        first_due = min(t.due_date for t in timers)
        done = host.ended_at if host else None
        if fired:
            verdict = "missed"
            late = f", {format_duration(done - first_due)} late" if done and done > first_due else ""
            text = (f"逾期 missed: due {ctx.clock.at(first_due)}, done {ctx.clock.at(done) or 'not yet'}{late}"
                    + (f"; reminded {len(fired)} times 已提醒 {len(fired)} 次" if len(fired) > 1 else ""))
        elif done is not None:
            verdict, text = "met", f"按时 met: done {ctx.clock.at(done)}, before the due time {ctx.clock.at(first_due)}"
        else:
            verdict, text = "open", f"未到期 open: due {ctx.clock.at(first_due)}"
        rows.append(DeadlineRow(name=element.label, activity=ctx.model.label(element.attached_to),
                                due=ctx.clock.at(first_due), done=ctx.clock.at(done), verdict=verdict, text=text))
    return rows


def _clauses(value: Any) -> list[str]:
    """The rule clauses a decision's outputs cite (``clause`` / ``rule`` fields), in order, once each."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key in ("clause", "rule"):
            text = value.get(key)
            if isinstance(text, str) and " " in text and text not in found:  # "100104 §2.1.1", "000A step 1"
                found.append(text)
        for item in value.values():
            found += [c for c in _clauses(item) if c not in found]
    elif isinstance(value, list):
        for item in value:
            found += [c for c in _clauses(item) if c not in found]
    return found


def _rule_version(outputs: Mapping[str, Any]) -> str:
    for key in ("ruleVersion", "dictionaryVersion"):
        if isinstance(outputs.get(key), str):
            return str(outputs[key])
    for item in outputs.values():
        if isinstance(item, Mapping):
            found = _rule_version(item)
            if found:
                return found
    return ""


def decision_row(verdict: DecisionVerdict, model: ProcessModel, clock: Clock) -> DecisionRow:
    findings = tuple([str(d) for d in verdict.differences] + list(verdict.notes))
    return DecisionRow(
        name=verdict.decision, element=model.label(verdict.element_id), clauses=tuple(_clauses(dict(verdict.outputs))),
        rule_version=_rule_version(verdict.outputs), rule_digest=verdict.rule_version,
        inputs=verdict.inputs, outputs=verdict.outputs, status=verdict.status, findings=findings,
        recorded_at=_recorded_at(verdict.recorded_at, clock),
    )


def _recorded_at(text: str, clock: Clock) -> str:
    """The decision record's ISO time (UTC) in the report's zone; the text itself if it is not ISO."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return clock.at(int(moment.timestamp() * 1000)) if moment.tzinfo else text


def _descendants(history: InstanceHistory, root_key: int) -> set[int]:
    keys = {root_key}
    changed = True
    while changed:
        changed = False
        for visit in history.elements:
            if visit.flow_scope_key in keys and visit.element_instance_key not in keys:
                keys.add(visit.element_instance_key)
                changed = True
    return keys


def _section(ctx: _Context, element_id: str, title: str, kind: str, visits: Sequence[ElementVisit],
             keys: set[int], verdicts: Sequence[DecisionVerdict], state: str) -> StepSection:
    """A section over the element instances ``keys``: their activities, deadlines, decisions, calls."""
    history, model, clock = ctx.history, ctx.model, ctx.clock
    inner = _sorted_by_start(v for v in history.elements if v.element_instance_key in keys)
    started, ended = visits[0].started_at, visits[-1].ended_at
    jobs = {j.key for j in history.jobs if j.element_instance_key in keys}
    return StepSection(
        element_id=element_id, title=title, kind=kind, state=state, started=clock.at(started),
        ended=clock.at(ended), duration=format_duration(None if ended is None else ended - started),
        activities=tuple(_activity_rows(ctx, inner)),
        deadlines=tuple(_deadline_rows(ctx, keys)),
        decisions=tuple(decision_row(v, model, clock) for v in verdicts if v.job_key in jobs),
        called=tuple(f"{c.bpmn_process_id} {c.process_instance_key} ({STATE_LABELS.get(c.state, c.state)})"
                     for c in history.children if c.call_activity_instance_key in keys),
    )


def step_sections(history: InstanceHistory, model: ProcessModel, clock: Clock,
                  verdicts: Sequence[DecisionVerdict] = (), breached: Iterable[int] = ()) -> list[StepSection]:
    """The process's steps as sections, in the order they ran.

    Each sub-process at the top level is a step of its own (the rollout's nine steps of 000A; one that
    was never reached is listed as such at the end). Top-level tasks that ran one after another
    between them are one section, titled by its first and last activity: a flat process (a change
    request) reads as one table instead of one section per task repeating each task's times.
    """
    ctx = _Context(history, model, clock, set(breached))
    top = [v for v in _sorted_by_start(history.elements) if v.flow_scope_key == history.process_instance_key]
    groups: list[tuple[ModelElement | None, list[ElementVisit]]] = []
    by_scope: dict[str, list[ElementVisit]] = {}
    for visit in top:
        element = model.elements.get(visit.element_id)
        if element is None or element.kind not in STEPS:
            continue
        if element.kind in SCOPES:
            if element.element_id not in by_scope:
                by_scope[element.element_id] = []
                groups.append((element, by_scope[element.element_id]))
            by_scope[element.element_id].append(visit)
        elif groups and groups[-1][0] is None:
            groups[-1][1].append(visit)
        else:
            groups.append((None, [visit]))
    sections = []
    for scope, visits in groups:
        keys = set().union(*(_descendants(history, v.element_instance_key) for v in visits))
        if scope is not None:
            sections.append(_section(ctx, scope.element_id, scope.label, scope.kind_label, visits, keys, verdicts,
                                     visits[-1].state))
            continue
        names = list(dict.fromkeys(model.label(v.element_id) for v in visits))
        title = names[0] if len(names) == 1 else f"{names[0]} → {names[-1]}"
        state = ACTIVE if any(v.state == ACTIVE for v in visits) else visits[-1].state
        sections.append(_section(ctx, visits[0].element_id, title, KIND_LABELS["activities"], visits, keys, verdicts,
                                 state))
    for step in model.steps():
        if step.kind in SCOPES and step.element_id not in by_scope:
            sections.append(StepSection(element_id=step.element_id, title=step.label, kind=step.kind_label,
                                        state="NOT_REACHED", started="", ended="", duration=""))
    return sections


@dataclass(frozen=True)
class FineTable:
    """A fine variable laid out for a person: scalar facts and tables of cases or line items."""

    variable: str
    title: str
    set_at: str
    facts: tuple[tuple[str, str], ...]
    tables: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]], ...]  # (title, columns, rows)
    empty: bool


#: Column headings for the fields fines and penalty cases carry.
FIELD_LABELS = {
    "clause": "条款 clause", "person": "责任人 person", "role": "角色 role", "department": "部门 department",
    "amountYuan": "金额 amount (yuan)", "rateYuan": "单价 rate (yuan)", "quantity": "数量 quantity",
    "unit": "单位 unit", "caseId": "案件 case", "rule": "规则 rule", "totalYuan": "合计 total (yuan)",
    "dueDate": "期限 due", "doneDate": "完成 done", "daysLate": "逾期天数 days late", "items": "缺项 items",
    "people": "相关人员 people", "description": "说明 description", "reason": "原因 reason",
    "ruleVersion": "罚则版本 rule version", "ruleDigest": "罚则摘要 rule digest",
    "totalFinesYuan": "罚款合计 total fines (yuan)", "calendarSource": "日历 calendar",
    "selfReported": "自查发现 self-reported",
    "lineItems": "罚款明细 line items", "byDepartment": "按部门 by department", "byPerson": "按人员 by person",
    "exemptions": "免罚 not fined again", "penaltyCases": "罚款案件 penalty cases",
    "penalties": "罚款决定 penalties decided", "finesUnnotified": "未通知的罚款 fines not yet notified",
}
#: The parts of a fine variable, most important first: the total, then who pays what under which clause.
_TABLE_ORDER = ("totalFinesYuan", "lineItems", "byPerson", "byDepartment", "exemptions")
_FIRST = ("clause", "person", "role", "department", "amountYuan")


def _cell(key: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if key == "role":
        return ROLE_LABELS.get(str(value), str(value))
    if isinstance(value, Mapping):
        return "; ".join(f"{ROLE_LABELS.get(str(k), str(k))}: {_cell(str(k), v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_cell(key, v) for v in value) or "—"
    if isinstance(value, bool):
        return "yes 是" if value else "no 否"
    return str(value)


def _table(title: str, items: list[Mapping[str, Any]]) -> tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]:
    keys: list[str] = []
    for item in items:
        keys += [k for k in item if k not in keys and any(i.get(k) not in (None, "", [], {}) for i in items)]
    order = list(keys)
    keys.sort(key=lambda k: (_FIRST.index(k) if k in _FIRST else len(_FIRST), order.index(k)))
    columns = tuple(FIELD_LABELS.get(k, k) for k in keys)
    rows = tuple(tuple(_cell(k, item.get(k)) for k in keys) for item in items)
    return (FIELD_LABELS.get(title, title), columns, rows)


def fine_tables(fines: Sequence[Fine], clock: Clock) -> list[FineTable]:
    views = []
    for fine in fines:
        facts: list[tuple[str, str]] = []
        tables = []
        value = fine.value
        if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            if value:
                tables.append(_table(fine.variable, value))
        elif isinstance(value, Mapping):
            for key, item in sorted(value.items(), key=lambda kv: (
                    _TABLE_ORDER.index(kv[0]) if kv[0] in _TABLE_ORDER else len(_TABLE_ORDER), str(kv[0]))):
                if isinstance(item, list) and item and all(isinstance(v, Mapping) for v in item):
                    tables.append(_table(key, item))
                elif not isinstance(item, list) or item:
                    facts.append((FIELD_LABELS.get(str(key), str(key)), _cell(str(key), item)))
        else:
            facts.append((FIELD_LABELS.get(fine.variable, fine.variable), _cell(fine.variable, value)))
        amounts = [text for label, text in facts if "版本" not in label and "摘要" not in label]
        empty = not tables and all(text in ("—", "0.00", "0") for text in amounts)
        views.append(FineTable(variable=fine.variable, title=FIELD_LABELS.get(fine.variable, fine.variable),
                               set_at=clock.at(fine.at), facts=tuple(facts),
                               tables=tuple(tables), empty=empty))
    return views
