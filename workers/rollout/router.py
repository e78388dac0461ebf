"""``build_router``: every job type of ``bpmn/procgov-rollout.bpmn``, one small handler each.

Job type → step of the nine-step rollout (000A):

=============================  ====  ==========================================================
``rollout.check-owner``        1     owner eligibility (recorded decision, org directory)
``rollout.validate-plan``      2     team > design team, goal ≥ 50 %, weekly plan (recorded decision)
``rollout.notify``             1–9   mail + chat from a template (task header ``template``)
``rollout.prepare-exam``       3     the exam paper, without answer keys
``rollout.grade-exam``         3     grading (recorded decision, exam catalogue)
``rollout.plan-pilot``         4     pilot scope and duration (3 / 6 months, overrides bounded)
``rollout.evaluate-pilot``     4     local success
``rollout.schedule-cutover``   6     cutover date after issuance, staging 50 % → 100 %
``rollout.check-readiness``    6     the four readiness criteria
``rollout.plan-reviews``       7–8   the six review months, each opening on the 1st
``rollout.check-lock-ins``     9     behaviour, performance, IT
``rollout.register-rollout``   1     the rollout in the process registry (one per process, the owner)
``rollout.registry-state``     4–5   lifecycle state pilot / issued (task header ``state``)
``rollout.end-rollout``        9     the rollout ends in the registry, the process in force
=============================  ====  ==========================================================
"""

from __future__ import annotations

from workers.rollout._data import CamelModel
from workers.rollout.cutover import CutoverPlan, CutoverRequest, ReadinessRequest, ReadinessResult, check_readiness
from workers.rollout.cutover import schedule_cutover as _schedule_cutover
from workers.rollout.deps import RolloutDeps
from workers.rollout.exams import ExamPaper, exam_paper
from workers.rollout.grading import GRADE_EXAM, ExamNotFoundError
from workers.rollout.lock_in import LockInRequest, LockInResult, check_lock_ins
from workers.rollout.management import ReviewPlan, ReviewPlanRequest, plan_reviews
from workers.rollout.notify.notifier import Notifier, NotifyRequest, NotifyResult
from workers.rollout.owner import OWNER_ELIGIBILITY
from workers.rollout.pilot import (
    PilotEvaluationResult,
    PilotPlan,
    PilotReportRequest,
    PilotRequest,
    evaluate_pilot,
    plan_pilot,
)
from workers.rollout.plan import PLAN_VALIDATION
from workers.rollout.registration import (
    RegistryEntryResult,
    RegistryStateResult,
    RolloutRef,
    RolloutRegistration,
    register_rollout,
    set_lifecycle_state,
)
from workers.runtime import JobContext, RuleSet, TaskRouter
from workers.runtime.errors import PermanentError
from workers.runtime.stores.registry import ProcessRegistry

Deps = RolloutDeps  # the name the composition root (procgov/groups.py) looks up


class ExamPaperRequest(CamelModel):
    exam_id: str


class ExamPaperResult(CamelModel):
    exam_paper: ExamPaper


def build_router(deps: RolloutDeps) -> TaskRouter:
    router = TaskRouter(group="rollout")
    notifier = Notifier(deps.directory.rules, deps.templates, deps.smtp, deps.store,
                        webhooks=deps.webhooks, http_timeout_s=deps.http_timeout_s)

    router.decision_task("rollout.check-owner", OWNER_ELIGIBILITY, rules=deps.directory)
    router.decision_task("rollout.grade-exam", GRADE_EXAM, rules=deps.exams)
    router.decision_task("rollout.validate-plan", PLAN_VALIDATION,
                         rules=RuleSet.from_text(PLAN_VALIDATION, deps.directory.text))

    @router.task("rollout.notify", timeout_ms=60_000, retries=5)
    async def notify(request: NotifyRequest, job: JobContext) -> NotifyResult:
        return await notifier.notify(request, job)

    @router.task("rollout.prepare-exam")
    def prepare_exam(request: ExamPaperRequest) -> ExamPaperResult:
        exam = deps.exams.rules.exams.get(request.exam_id)
        if exam is None:
            raise ExamNotFoundError(f"examId {request.exam_id!r} is not in the exam catalogue "
                                    f"(known: {', '.join(sorted(deps.exams.rules.exams))})")
        return ExamPaperResult(exam_paper=exam_paper(exam))

    @router.task("rollout.plan-pilot")
    def plan_the_pilot(request: PilotRequest, job: JobContext) -> PilotPlan:
        return plan_pilot(request, start=job.activated_at, demo_mode=deps.demo_mode)

    @router.task("rollout.evaluate-pilot")
    def evaluate_the_pilot(request: PilotReportRequest) -> PilotEvaluationResult:
        return evaluate_pilot(request)

    @router.task("rollout.schedule-cutover")
    def schedule_cutover(request: CutoverRequest) -> CutoverPlan:
        return _schedule_cutover(request)

    @router.task("rollout.check-readiness")
    def check_the_readiness(request: ReadinessRequest) -> ReadinessResult:
        return check_readiness(request)

    @router.task("rollout.plan-reviews")
    def plan_the_reviews(request: ReviewPlanRequest, job: JobContext) -> ReviewPlan:
        return plan_reviews(request, start=job.activated_at, demo_mode=deps.demo_mode)

    @router.task("rollout.check-lock-ins")
    def check_the_lock_ins(request: LockInRequest) -> LockInResult:
        return check_lock_ins(request)

    def registry() -> ProcessRegistry:
        if deps.registry is None:
            raise PermanentError("no process registry configured: RolloutDeps.registry (the workers' store, "
                                 "PROCGOV_STORE_URL)")
        return deps.registry

    @router.task("rollout.register-rollout")
    def register_the_rollout(request: RolloutRegistration, job: JobContext) -> RegistryEntryResult:
        return register_rollout(registry(), request, instance=str(job.process_instance_key))

    @router.task("rollout.registry-state")
    def set_the_state(request: RolloutRef, job: JobContext) -> RegistryStateResult:
        state = job.custom_headers.get("state", "")
        return set_lifecycle_state(registry(), request, state, instance=str(job.process_instance_key))

    @router.task("rollout.end-rollout")
    def end_the_rollout(request: RolloutRef, job: JobContext) -> None:
        registry().end_rollout(request.process_id, instance=str(job.process_instance_key))

    return router
