"""Deadlines of 100104 as job types: ``slm.schedule-deadline`` (the due date and the timer instant of the
deadline row named by the task header ``deadline``, with the calendar source and the number of overdue
reminders), ``slm.record-deadline`` (when the work was done: a late case for the penalty decision, its
days late counted here against the business calendar) and ``slm.notify-overdue`` (the daily reminder with
the fine so far)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from workers.runtime import JobContext, TaskRouter
from workers.slm.business_calendar import CalendarSource
from workers.slm.deadlines import due_date, timer_instant
from workers.slm.penalties import PenaltyCase
from workers.slm.penalty_rules import Role
from workers.slm.task_support import MONTH, TIMEOUT_MS, CamelModel, Input, TaskSupport, header


class ScheduleRequest(Input):
    deadline: str | None = None  # overrides the task header (the model passes it when it depends on scope)
    review_month: str | None = Field(default=None, pattern=MONTH)
    overdue_reminders: int | None = Field(default=None, ge=1, le=366)  # per instance; default: the setting


class Schedule(CamelModel):
    deadline: str
    clause: str
    due_date: date
    due_at: str
    due_calendar: CalendarSource
    started_on: date
    overdue_reminders: int  # the overdue timer's repetitions: R<n>/<dueAt>/P1D


class RecordRequest(Input):
    deadline: str | None = None
    due_date: date
    department: str = Field(min_length=1)
    department_head: str | None = None  # the change request names its head (a person id)
    penalty_cases: list[PenaltyCase] = Field(default_factory=list)


class Recorded(CamelModel):
    penalty_cases: list[PenaltyCase]
    done_date: date


class OverdueRequest(Input):
    deadline: str | None = None
    due_date: date
    department: str = Field(min_length=1)
    department_head: str | None = None
    process_name: str | None = None
    review_month: str | None = Field(default=None, pattern=MONTH)


class OverdueNotified(CamelModel):
    overdue_unnotified: list[str]


def register(router: TaskRouter, ctx: TaskSupport) -> None:
    """Register this family's job types on ``router``."""
    deps = ctx.deps
    rules = ctx.deps.penalties.rules
    today = ctx.today
    roles_for = ctx.roles_for

    @router.task("slm.schedule-deadline", timeout_ms=TIMEOUT_MS)
    def schedule_deadline(request: ScheduleRequest, job: JobContext) -> Schedule:
        rule = rules.deadline(header(job, "deadline", request.deadline))
        started = today(job)
        due = due_date(rule, deps.calendar, start=started, review_month=request.review_month)
        return Schedule(deadline=rule.id, clause=rule.clause, due_date=due.value,
                        due_at=timer_instant(due.value, deps.timezone), due_calendar=due.source, started_on=started,
                        overdue_reminders=request.overdue_reminders or deps.overdue_reminders)

    @router.task("slm.record-deadline", timeout_ms=TIMEOUT_MS)
    def record_deadline(request: RecordRequest, job: JobContext) -> Recorded:
        rule = rules.deadline(header(job, "deadline", request.deadline))
        done = today(job)
        cases = [c for c in request.penalty_cases if c.case_id != f"{rule.id}:{request.department}"]
        if rule.late_fine is not None:
            fine = rules.rule(rule.late_fine)
            assert fine.day_count is not None
            late = deps.calendar.days_late(request.due_date, done, fine.day_count)
            cases.append(PenaltyCase(case_id=f"{rule.id}:{request.department}", rule=rule.late_fine,
                                     department=request.department,
                                     people=roles_for(request.department, request.department_head),
                                     due_date=request.due_date, done_date=done, days_late=late.value,
                                     calendar_source=late.source,
                                     description=f"{rule.clause}: due {request.due_date}, done {done}, "
                                                 f"{late.value} {fine.day_count.value} day(s) late "
                                                 f"(calendar: {late.source.value})"))
        return Recorded(penalty_cases=cases, done_date=done)

    @router.task("slm.notify-overdue", timeout_ms=TIMEOUT_MS)
    async def notify_overdue(request: OverdueRequest, job: JobContext) -> OverdueNotified:
        """Fired at the deadline and daily after it, ``overdueReminders`` times in all (the model's timer
        cycle): remind the roles the late fine charges, with the fine accrued so far (100104 §2.1.2,
        §2.3.2, §2.3.4); the self-check (§2.1.1) has no daily fine, so its reminder goes to the process
        supervisor who submits it."""
        rule = rules.deadline(header(job, "deadline", request.deadline))
        people = roles_for(request.department, request.department_head)
        on = today(job)
        if rule.late_fine is not None:
            fine = rules.rule(rule.late_fine)
            assert fine.day_count is not None
            counted = deps.calendar.days_late(request.due_date, on, fine.day_count)
            late = counted.value
            roles = [f.role for f in fine.fines]
            accrued = "; ".join(f"{f.role.value.replace('_', ' ')} {people.get(f.role, '?')}: {f.yuan} yuan/day, "
                                f"{f.yuan * late} yuan so far" for f in fine.fines)
            status = (f"{late} {fine.day_count.value} day(s) late on {on} (calendar: {counted.source.value}). "
                      f"{accrued}.")
        else:
            roles = [Role.PROCESS_SUPERVISOR]
            status = f"still open on {on}; no daily fine, but each missing item of the record costs 10 yuan."
        recipients = [people[r] for r in roles if r in people]
        what = request.process_name or request.review_month or request.department
        body = f"{rule.clause}: {rule.id} for {what} ({request.department}) was due {request.due_date}: {status}"
        missing_roles = [f"{r.value} of {request.department} (not in the directory)" for r in roles if r not in people]
        unreachable = await deps.mailer.notify(job.idempotency_key("overdue"), recipients,
                                               f"[procgov] overdue: {rule.id} ({request.department})", body)
        return OverdueNotified(overdue_unnotified=missing_roles + unreachable)
