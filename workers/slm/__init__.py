"""slm: process change requests (100104 §2.3) and monthly / annual SLA reviews (100104 §2.1–2.2).

``build_router(deps)`` registers every slm job type; ``SlmDeps.from_settings(settings)`` loads the rule
data (penalty table, indicator dictionary, department directory, business calendar overrides) and opens
the stores; ``DECISIONS`` lists the recorded decisions audit replays.
"""

from __future__ import annotations

from workers.slm.deps import SlmDeps, SlmSettings
from workers.slm.indicators import KPI_CHECK
from workers.slm.penalties import PENALTY_CALCULATION
from workers.slm.router import build_router

DECISIONS = (PENALTY_CALCULATION, KPI_CHECK)

__all__ = ["DECISIONS", "KPI_CHECK", "PENALTY_CALCULATION", "SlmDeps", "SlmSettings", "build_router"]
