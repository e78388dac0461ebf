"""Routers the runtime tests run: small handlers in the shape every worker group uses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workers.runtime import (
    BusinessError,
    Decision,
    IdempotencyStore,
    JobContext,
    RuleDataError,
    RuleSet,
    TaskRouter,
    TransientError,
)

BPMN = Path(__file__).with_name("bpmn")


class GreetRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    owner_name: str = Field(alias="ownerName")
    department: str


class GreetResult(BaseModel):
    greeting: str
    handled_by: str = Field(serialization_alias="handledBy")


class MailRequest(BaseModel):
    recipient: str


class MailResult(BaseModel):
    message_id: str = Field(serialization_alias="messageId")


@dataclass
class Outbox:
    """Stands in for the SMTP server: what was 'sent', and how often sending fails first."""

    sent: list[str] = field(default_factory=list)
    failures_before_success: int = 0
    attempts: int = 0
    deliveries: int = 0
    hold_first_delivery: asyncio.Event | None = None  # the first handler 'hangs' after sending until set


def greet_router() -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task("runtime-test.greet", timeout_ms=30_000)
    async def greet(request: GreetRequest, job: JobContext) -> GreetResult:
        import structlog

        structlog.get_logger("tests.runtime").info("greeting", owner=request.owner_name)
        return GreetResult(greeting=f"你好 {request.owner_name} ({request.department})", handled_by=job.worker)

    return router


def mail_router(outbox: Outbox, store: IdempotencyStore | None = None) -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task("runtime-test.flaky", timeout_ms=30_000)
    async def send_mail(request: MailRequest, job: JobContext) -> MailResult:
        async def send() -> str:
            outbox.attempts += 1
            if outbox.attempts <= outbox.failures_before_success:
                raise TransientError(f"smtp 421 try again later (attempt {outbox.attempts})")
            outbox.sent.append(request.recipient)
            return f"<{job.key}@procgov>"

        outbox.deliveries += 1
        message_id = await store.run_once(job.idempotency_key("mail"), send) if store else await send()
        if outbox.hold_first_delivery is not None and outbox.deliveries == 1:
            await outbox.hold_first_delivery.wait()  # a stuck worker: the job times out meanwhile
        return MailResult(message_id=message_id)

    return router


class SlowRequest(BaseModel):
    step: str = "cutover"


class SlowResult(BaseModel):
    finished: str


def slow_router(started: asyncio.Event | None = None, seconds: float = 1.5) -> TaskRouter:
    router = TaskRouter(group="runtime-test")

    @router.task("runtime-test.slow", timeout_ms=60_000)
    async def slow(request: SlowRequest) -> SlowResult:
        if started is not None:
            started.set()
        print("slow job started", flush=True)
        await asyncio.sleep(seconds)
        return SlowResult(finished=request.step)

    return router


# A recorded decision, in the shape of rollout's exam grading.
class ExamInput(BaseModel):
    employee: str
    score: int = Field(ge=0, le=100)


class ExamOutput(BaseModel):
    passed: bool
    pass_mark: int = Field(serialization_alias="passMark")


def parse_pass_mark(text: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        key, _, value = line.partition("=")
        if key.strip() == "pass_mark":
            if not value.strip().isdigit():
                raise RuleDataError(f"not a number: {value.strip()!r}", row=number, field="pass_mark")
            return int(value)
    raise RuleDataError("missing", field="pass_mark")


def grade(exam: ExamInput, pass_mark: int) -> ExamOutput:
    return ExamOutput(passed=exam.score >= pass_mark, pass_mark=pass_mark)


def failed_exam(output: ExamOutput) -> BusinessError | None:
    if output.passed:
        return None
    return BusinessError("EXAM_FAILED", f"below the pass mark {output.pass_mark}", {"examPassed": False})


GRADE = Decision(
    name="runtime-test.exam-grade",
    input_model=ExamInput,
    output_model=ExamOutput,
    parse_rules=parse_pass_mark,
    evaluate=grade,
    business_error=failed_exam,
)


def grade_router(rule_text: str = "pass_mark = 60\n") -> TaskRouter:
    router = TaskRouter(group="runtime-test")
    router.decision_task("runtime-test.grade", GRADE, rules=RuleSet.from_text(GRADE, rule_text))
    return router
