"""What every slm task module shares: the input base model, the job timeout, and the engine's "today"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from workers.runtime import JobContext
from workers.slm.business_calendar import local_date
from workers.slm.camel import CamelModel
from workers.slm.deps import SlmDeps
from workers.slm.deps import engine_now as _engine_now
from workers.slm.penalty_rules import Role
from workers.slm.reviews import people_of

__all__ = ["MONTH", "TIMEOUT_MS", "CamelModel", "Input", "TaskSupport", "engine_now", "header"]

TIMEOUT_MS = 60_000
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"  # reviewMonth "YYYY-MM"; anything else is an incident naming the variable


class Input(CamelModel):
    """Job variables: camelCase in the process, extra variables ignored."""

    model_config = CamelModel.model_config | {"extra": "ignore"}


def header(job: JobContext, name: str, given: str | None) -> str:
    """A task header (``deadline``), unless the model passed the value as a variable of the same name."""
    value = given or job.custom_headers.get(name)
    if not value:
        raise ValueError(f"task {job.element_id!r} needs the task header {name!r} (or the variable {name!r})")
    return value


def engine_now(job: JobContext) -> datetime:
    """The engine's "now" for ``job`` (see :func:`workers.slm.deps.engine_now`)."""
    return _engine_now(job)


@dataclass(frozen=True)
class TaskSupport:
    deps: SlmDeps

    def today(self, job: JobContext) -> date:
        """The engine's date in the company's time zone (deadlines run on the engine's clock)."""
        return local_date(engine_now(job), self.deps.timezone)

    def roles_for(self, department: str, department_head: str | None) -> dict[Role, str]:
        """Who holds each fined role: the directory's department, the head a change request names, and the
        planning office's rule supervisor."""
        directory = self.deps.directory
        people: dict[Role, str] = {Role.RULE_SUPERVISOR: directory.rule_supervisor}
        if department in directory.departments:
            people.update(people_of(directory, department))
        if department_head:
            people[Role.DEPARTMENT_HEAD] = department_head
        return people
