"""Penalties as job types: the recorded penalty decision (``slm.calculate-penalties``) and the notice to
everyone fined (``slm.notify-fines``), shared by change requests and monthly reviews."""

from __future__ import annotations

from collections import defaultdict

from pydantic import Field

from workers.runtime import JobContext, TaskRouter
from workers.slm.penalties import PENALTY_CALCULATION, PenaltyResult
from workers.slm.task_support import MONTH, TIMEOUT_MS, CamelModel, Input, TaskSupport


class FinesRequest(Input):
    penalties: PenaltyResult | None = None
    process_name: str | None = None
    review_month: str | None = Field(default=None, pattern=MONTH)


class FinesNotified(CamelModel):
    fines_unnotified: list[str]


def register(router: TaskRouter, ctx: TaskSupport) -> None:
    """Register this family's job types on ``router``."""
    deps = ctx.deps

    router.decision_task("slm.calculate-penalties", PENALTY_CALCULATION, deps.penalties, timeout_ms=TIMEOUT_MS)

    @router.task("slm.notify-fines", timeout_ms=TIMEOUT_MS)
    async def notify_fines(request: FinesRequest, job: JobContext) -> FinesNotified:
        """Each person fined gets their line items and total; who has no address is listed, not dropped."""
        if request.penalties is None:
            return FinesNotified(fines_unnotified=[])
        unnotified: list[str] = []
        items: dict[str, list[str]] = defaultdict(list)
        for item in request.penalties.line_items:
            items[item.person].append(f"{item.clause} {item.rule}: {item.quantity} {item.unit} × {item.rate_yuan} = "
                                      f"{item.amount_yuan} yuan ({item.role.value.replace('_', ' ')})")
        what = request.process_name or request.review_month or "process management"
        for person, lines in sorted(items.items()):
            total = sum(i.amount_yuan for i in request.penalties.line_items if i.person == person)
            body = (f"100104 fines for {what} (rule table {request.penalties.rule_version}):\n"
                    + "\n".join(lines) + f"\nTotal: {total} yuan")
            unnotified += await deps.mailer.notify(job.idempotency_key("fines"), [person], f"[procgov] fines: {what}",
                                                   body)
        return FinesNotified(fines_unnotified=unnotified)
