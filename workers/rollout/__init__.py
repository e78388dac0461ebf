"""The nine-step rollout (流程落地九步法, seed 000 part A): workers for ``bpmn/procgov-rollout.bpmn``.

``build_router(deps)`` registers every job type; ``RolloutDeps.from_settings`` loads the rule data;
``DECISIONS`` are the recorded decisions audit replays (owner eligibility, plan validation, exam grading).
"""

from __future__ import annotations

from typing import Any

from workers.rollout.deps import RolloutDeps, RolloutSettings
from workers.rollout.grading import GRADE_EXAM
from workers.rollout.owner import OWNER_ELIGIBILITY
from workers.rollout.plan import PLAN_VALIDATION
from workers.rollout.router import build_router
from workers.runtime import Decision

DECISIONS: tuple[Decision[Any, Any, Any], ...] = (OWNER_ELIGIBILITY, PLAN_VALIDATION, GRADE_EXAM)

__all__ = ["DECISIONS", "RolloutDeps", "RolloutSettings", "build_router"]
