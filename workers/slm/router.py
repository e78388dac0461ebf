"""The slm job workers: change requests (100104 §2.3) and monthly / annual SLA reviews (§2.1–2.2).

``build_router(deps)`` registers every job type of ``bpmn/procgov-change-request.bpmn``,
``procgov-sla-review.bpmn`` and ``procgov-annual-sla-review.bpmn``, one module per family:
:mod:`~workers.slm.deadline_tasks`, :mod:`~workers.slm.change_tasks`, :mod:`~workers.slm.penalty_tasks`,
:mod:`~workers.slm.review_tasks`, :mod:`~workers.slm.annual_tasks`.
"""

from __future__ import annotations

from workers.runtime import TaskRouter
from workers.slm import annual_tasks, change_tasks, deadline_tasks, penalty_tasks, review_tasks
from workers.slm.deps import SlmDeps, SlmSettings
from workers.slm.task_support import TaskSupport

Deps = SlmDeps  # the name procgov.groups looks for
__all__ = ["Deps", "SlmDeps", "SlmSettings", "build_router"]


def build_router(deps: SlmDeps) -> TaskRouter:
    router = TaskRouter(group="slm")
    support = TaskSupport(deps)
    for family in (deadline_tasks, change_tasks, penalty_tasks, review_tasks, annual_tasks):
        family.register(router, support)
    return router
