"""Change request job types (100104 §2.3): the form's completeness (§2.3.3), returning or rejecting a
request, and publishing: the new version is filed (备案) and the optimisation log gets its row (seed 002)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import Field

from workers.runtime import JobContext, TaskRouter
from workers.runtime.errors import PermanentError
from workers.runtime.stores.registry import ProcessRegistry, RegistryConflict
from workers.slm.changes import form_problems, next_version
from workers.slm.task_support import TIMEOUT_MS, CamelModel, Input, TaskSupport


class ChangeForm(Input):
    process_id: str | None = None
    process_name: str | None = None
    current_version: str | None = None
    origin: str | None = None
    scope: str | None = None
    department: str | None = None
    department_head: str | None = None
    requester: str | None = None
    problem: str | None = None
    proposed_change: str | None = None


class FormCheck(CamelModel):
    form_complete: bool
    missing_fields: list[str]


class CloseRequest(Input):
    requester: str | None = None
    process_name: str | None = None
    missing_fields: list[str] = Field(default_factory=list)
    approval_comment: str | None = None


class Outcome(CamelModel):
    change_outcome: Literal["published", "returned", "rejected"]
    unnotified: list[str] = Field(default_factory=list, description="people who could not be told (no address)")


class ApprovalDecision(Input):
    approved: Any = None  # whatever the completion wrote (or nothing): reported, never taken as a decision
    department_head: str | None = None
    process_name: str | None = None


class ApprovalRefused(CamelModel):
    approval_refusal: str
    approved: None = None  # cleared, so the next completion must decide again


class FileRequest(Input):
    process_id: str
    process_name: str
    current_version: str
    scope: str
    department: str
    department_head: str
    requester: str
    problem: str
    proposed_change: str
    change_effect: str | None = None  # what the planning office expects (optimisation log "effect")


class Filed(CamelModel):
    new_version: str
    change_outcome: Literal["published"]
    published_on: date


def register(router: TaskRouter, ctx: TaskSupport) -> None:
    """Register this family's job types on ``router``."""
    deps = ctx.deps
    today = ctx.today

    @router.task("slm.check-change-request", timeout_ms=TIMEOUT_MS)
    def check_change_request(request: ChangeForm) -> FormCheck:
        problems = form_problems(request.model_dump(by_alias=True))
        return FormCheck(form_complete=not problems, missing_fields=problems)

    async def close(request: CloseRequest, job: JobContext, outcome: Literal["returned", "rejected"]) -> Outcome:
        what = request.process_name or "the process"
        if outcome == "returned":
            body = ("100104 §2.3.3: the change request form is incomplete and is returned to you: "
                    + "; ".join(request.missing_fields))
        else:
            body = f"The department head rejected the change request for {what}. {request.approval_comment or ''}"
        if not request.requester:
            return Outcome(change_outcome=outcome, unnotified=["requester (missing from the form)"])
        unnotified = await deps.mailer.notify(job.idempotency_key(outcome), [request.requester],
                                              f"[procgov] change request {outcome}: {what}", body)
        return Outcome(change_outcome=outcome, unnotified=unnotified)

    @router.task("slm.return-change-request", timeout_ms=TIMEOUT_MS)
    async def return_change_request(request: CloseRequest, job: JobContext) -> Outcome:
        return await close(request, job, "returned")

    @router.task("slm.reject-change-request", timeout_ms=TIMEOUT_MS)
    async def reject_change_request(request: CloseRequest, job: JobContext) -> Outcome:
        return await close(request, job, "rejected")

    @router.task("slm.refuse-approval", timeout_ms=TIMEOUT_MS)
    async def refuse_approval(request: ApprovalDecision, job: JobContext) -> ApprovalRefused:
        """100104 §2.3: the department head decides; a completion without ``approved = true|false`` is no
        decision, so it is refused with a message (mailed to the head) and the approval task opens again."""
        got = "nothing" if request.approved is None else repr(request.approved)
        message = (f"100104 §2.3: the approval of the change to {request.process_name or 'the process'} needs an "
                   f"explicit decision, approved = true or false; the completion gave {got}. Please decide again.")
        if request.department_head:
            await deps.mailer.notify(job.idempotency_key("approval-refused"), [request.department_head],
                                     "[procgov] change approval refused: no decision", message)
        return ApprovalRefused(approval_refusal=message)

    @router.task("slm.file-change", timeout_ms=TIMEOUT_MS)
    def file_change(request: FileRequest, job: JobContext) -> Filed:
        """Publish through the process registry: the version check, the filing (备案) and the optimisation
        log row in one transaction. A change raised on a version that is no longer current is refused
        with an incident naming the current version and who published it (never an overwrite)."""
        new_version = next_version(request.current_version)
        published = today(job)
        change_request = str(job.process_instance_key)

        def file(connection: sa.Connection) -> None:
            deps.store.file_version(process_id=request.process_id, version=new_version,
                                    process_name=request.process_name, published_on=published,
                                    previous_version=request.current_version, change_request=change_request,
                                    scope=request.scope, department=request.department, connection=connection)
            deps.store.log_optimisation(
                f"{request.process_id}:{new_version}", connection, logged_on=published,
                process_id=request.process_id, process_name=request.process_name, background=request.problem,
                measures=request.proposed_change,
                effect=request.change_effect or "to be verified in the next monthly review",
                owner=request.department_head,
                remarks=f"{request.current_version} → {new_version}, {request.scope} change, requested by "
                        f"{request.requester}, instance {job.process_instance_key}")

        try:
            ProcessRegistry(deps.store.engine).publish_change(
                request.process_id, name=request.process_name, from_version=request.current_version,
                new_version=new_version, change_request=change_request, published_on=published.isoformat(),
                department=request.department, also=file)
        except RegistryConflict as conflict:
            raise PermanentError(str(conflict)) from None
        return Filed(new_version=new_version, change_outcome="published", published_on=published)
