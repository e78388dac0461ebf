"""The numbers and lists the nine-step rollout (流程落地九步法, seed 000 part A) fixes.

Every constant cites the step of ``/work/shared/domain.md`` §1 it comes from. What the source leaves
open (exam pass mark, retakes, review interval overrides) is configuration elsewhere: exam definitions
in ``data/rollout/exams/`` and process variables with the defaults documented here.
"""

from __future__ import annotations

from typing import Final, Literal

SOURCE: Final = "000A"  # seed 000 part A: 流程落地九步法

#: 000A step 1 — the owner must be a senior executive (高级干部), never an ordinary employee.
OWNER_RANK: Final = "senior-executive"
RANKS: Final = ("senior-executive", "manager", "employee")
#: 000A step 1 — the owner's three duties (told to the owner when appointed).
OWNER_DUTIES: Final = ("lead the rollout", "drive the training", "lead the optimisation")

#: 000A step 2 — goal: improvement of at least 50 % (up to 100 %) on the target metric.
MIN_GOAL_IMPROVEMENT_PERCENT: Final = 50
MAX_GOAL_IMPROVEMENT_PERCENT: Final = 100

#: 000A step 3 — the closed-book exam covers exactly these three topics.
ExamTopic = Literal["understanding", "differences", "responsibilities"]
EXAM_TOPICS: Final[tuple[ExamTopic, ...]] = ("understanding", "differences", "responsibilities")
EXAM_TOPIC_NAMES: Final = {
    "understanding": "understanding of the new process (对新流程的理解)",
    "differences": "differences between the old and the new process (新旧流程的区别)",
    "responsibilities": "the employee's own responsibilities in it (自己负什么责任)",
}

#: 000A step 4 — the pilot scope is one of these four kinds (局部市场/客户/产品/部门).
PilotScopeKind = Literal["market", "customers", "products", "departments"]
PILOT_SCOPE_KINDS: Final[tuple[PilotScopeKind, ...]] = ("market", "customers", "products", "departments")
#: 000A step 4 — pilot duration: 3 months for a small company, 6 months for a large one.
CompanySize = Literal["small", "large"]
PILOT_DURATION: Final[dict[str, str]] = {"small": "P3M", "large": "P6M"}
PILOT_DURATION_MONTHS: Final[dict[str, int]] = {"small": 3, "large": 6}
#: 000A step 4 — the longest pilot the source names (6 months, large company): the ceiling of any override.
PILOT_MAX_MONTHS: Final = 6
#: 000A step 4 — the pilot's outputs: trained people, templates, lessons.
PILOT_OUTPUTS: Final = ("trainedPeople", "templates", "lessons")

#: 000A step 6 — the readiness gate's four criteria, checked at the cutover date.
READINESS_CRITERIA: Final = ("pilotAdequate", "publicityAdequate", "resourcesReady", "fullRolloutFeasible")
READINESS_CRITERION_NAMES: Final = {
    "pilotAdequate": "pilot adequate (试运行是否到位)",
    "publicityAdequate": "publicity adequate (宣贯是否到位)",
    "resourcesReady": "resources ready (资源准备是否到位)",
    "fullRolloutFeasible": "full rollout feasible (全面推行是否具有可能性)",
}
#: 000A step 6 — optional staged rollout: first 50 %, then 100 %.
STAGED_SHARES: Final = (50, 100)
FULL_SHARE: Final = (100,)

#: 000A step 7 — day-to-day management follows up monthly: the only review interval outside demo mode.
DEFAULT_REVIEW_INTERVAL: Final = "P1M"
#: 000A step 8 — re-optimise (version n+1) after 6 months: six monthly reviews, then step 8.
REOPTIMISE_AFTER_MONTHS: Final = 6

#: 000A step 9 — the three lock-ins (固化到行为、绩效和IT).
LOCK_INS: Final = ("behaviour", "performance", "it")
LOCK_IN_NAMES: Final = {
    "behaviour": "behaviour (行为)",
    "performance": "performance (绩效)",
    "it": "IT (信息化)",
}


def cite(step: int) -> str:
    """The citation used in reasons and rule rows, e.g. ``000A step 4``."""
    return f"{SOURCE} step {step}"
