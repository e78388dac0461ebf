"""What an instance's engine records say about the rules, whatever the decision store holds.

Re-derived from the records only (element visits, variable writes, jobs), never from a variable the
assessed person could type:

* **start**: an instance must begin at a start event of its process (a ``CreateProcessInstance`` start
  instruction can begin it anywhere, e.g. at ``Step9_LockIn``);
* **the nine steps** (000A, 先僵化): a rollout runs ``Step1_Owner`` … ``Step9_LockIn`` each completed before
  the next begins; a step that begins before its predecessor completed, or a later step without an
  earlier one, is a skip;
* **owner** (000A step 1): the ``owner`` variable may only take a value the step-1 eligibility check
  (``rollout.check-owner``) granted, and never changes once step 1 completed (a re-appointment is an
  explicit, recorded act, not a task completion writing ``owner``);
* **fines** (100104): every penalty case the records show (``penaltyCases`` written in the instance) must
  be priced by a recorded ``slm.penalty-calculation`` decision of that instance naming that case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workers.audit.history import COMPLETED, InstanceHistory
from workers.audit.replay import DecisionVerdict

ROLLOUT = "procgov-rollout"
#: 000A: the nine steps of a rollout, in order (the sub-processes of bpmn/procgov-rollout.bpmn).
NINE_STEPS = ("Step1_Owner", "Step2_Plan", "Step3_Training", "Step4_Pilot", "Step5_Issuance",
              "Step6_FullRollout", "Step7_DailyManagement", "Step8_Reoptimise", "Step9_LockIn")
OWNER_CHECK_TYPE = "rollout.check-owner"
PENALTY_DECISION = "slm.penalty-calculation"


@dataclass(frozen=True)
class ConformanceFinding:
    process_instance_key: int
    rule: str  # the clause: "000A step 1", "100104 §2.3.2", "start event"
    detail: str

    def __str__(self) -> str:
        return f"instance {self.process_instance_key}: {self.rule}: {self.detail}"


def check_start(history: InstanceHistory) -> list[ConformanceFinding]:
    first = next((v for v in history.elements if v.flow_scope_key == history.process_instance_key), None)
    if first is None or first.element_type == "START_EVENT":
        return []
    return [ConformanceFinding(history.process_instance_key, "start event",
                               f"did not start at a start event: its first element was {first.element_id} "
                               f"({first.element_type}), as a start instruction would begin it")]


def check_nine_steps(history: InstanceHistory) -> list[ConformanceFinding]:
    if history.bpmn_process_id != ROLLOUT:
        return []
    findings: list[ConformanceFinding] = []
    top = [v for v in history.elements
           if v.flow_scope_key == history.process_instance_key and v.element_id in NINE_STEPS]
    for visit in top:
        number = NINE_STEPS.index(visit.element_id)
        for earlier in NINE_STEPS[:number]:
            done = [v for v in history.visits_of(earlier) if v.state == COMPLETED and v.ended_at is not None
                    and v.ended_at <= visit.started_at]
            if not done:
                findings.append(ConformanceFinding(
                    history.process_instance_key, f"000A step {NINE_STEPS.index(earlier) + 1}",
                    f"{visit.element_id} began without {earlier} completed before it: a mandatory step was skipped"))
    return findings


def _owner_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        raw = value.get("id")
        return raw if isinstance(raw, str) else None
    return None


def check_owner(history: InstanceHistory) -> list[ConformanceFinding]:
    if history.bpmn_process_id != ROLLOUT:
        return []
    granted = {_owner_id((job.variables or {}).get("owner")) for job in history.jobs
               if job.type == OWNER_CHECK_TYPE and job.outcome == COMPLETED and isinstance(job.variables, Mapping)}
    granted.discard(None)
    step1_done = min((v.ended_at for v in history.visits_of(NINE_STEPS[0]) if v.ended_at is not None), default=None)
    findings: list[ConformanceFinding] = []
    previous: str | None = None
    for change in history.variables:
        if change.name != "owner" or change.scope_key != history.process_instance_key:
            continue
        owner = _owner_id(change.value)
        if owner is None or owner == previous:
            continue
        if owner not in granted:
            findings.append(ConformanceFinding(
                history.process_instance_key, "000A step 1",
                f"owner became {owner!r} (record {change.position}) although the step-1 eligibility check granted "
                f"only {sorted(g for g in granted if g) or 'nobody'}: an owner change outside step 1"))
        elif previous is not None and step1_done is not None and change.at > step1_done:
            findings.append(ConformanceFinding(
                history.process_instance_key, "000A step 1",
                f"owner changed from {previous!r} to {owner!r} after step 1 (record {change.position}) "
                "without a recorded re-appointment"))
        previous = owner
    return findings


def _case_ids(value: Any) -> set[str]:
    if not isinstance(value, list):
        return set()
    return {str(c["caseId"]) for c in value if isinstance(c, Mapping) and c.get("caseId")}


def check_fines(history: InstanceHistory, verdicts: Iterable[DecisionVerdict],
                called: Iterable[int] = ()) -> list[ConformanceFinding]:
    """100104: every penalty case the engine's records show in the instance is priced by a recorded
    penalty decision of the instance or of an instance it called (a review's fines are priced in the
    review a rollout calls); a path that skips the calculation, or a deleted record, shows."""
    if history.state != COMPLETED:
        return []  # still running: its cases may be priced later
    cases: set[str] = set()
    for change in history.variables:
        if change.name == "penaltyCases":
            cases |= _case_ids(change.value)
    if not cases:
        return []
    priced: set[str] = set()
    pricing = {history.process_instance_key, *called}
    for verdict in verdicts:
        if verdict.process_instance_key in pricing and verdict.decision == PENALTY_DECISION:
            priced |= _case_ids(verdict.inputs.get("penaltyCases"))
    missing = sorted(cases - priced)
    if not missing:
        return []
    return [ConformanceFinding(history.process_instance_key, "100104 fines",
                               f"the engine's records show penalty case(s) {', '.join(missing)} but the decision "
                               "store holds no penalty decision pricing them")]


def check_instance(history: InstanceHistory, verdicts: Iterable[DecisionVerdict],
                   called: Iterable[int] = ()) -> list[ConformanceFinding]:
    """Every conformance finding of one instance, in the order of the checks above; ``called``: the
    instances it called, recursively."""
    return [*check_start(history), *check_nine_steps(history), *check_owner(history),
            *check_fines(history, verdicts, called)]
