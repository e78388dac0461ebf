"""The failure policy: the ONE place where a job's outcome becomes a Zeebe command.

=========================================  ============================================================
outcome                                    command
=========================================  ============================================================
handler returned (model or None)           CompleteJob(variables)
:class:`BusinessError`                     ThrowError(code, message, variables)
invalid input (:class:`InvalidInputError`)  FailJob(retries=0) → incident naming every bad variable, or
                                           ThrowError(code) when the task declares
                                           ``invalid_input_error``
:class:`PermanentError`                    FailJob(retries=0) → incident at once, with its message
:class:`RetryLaterError` (waiting for a     FailJob(SAME retries, retryBackOff = its ``retry_after_ms``
side effect another activation holds)      within the policy's bounds): waiting spends no retry
:class:`TransientError`, OSError, timeouts  FailJob(retries-1, retryBackOff exponential); the last one
                                           (no retries left) is an incident whose message begins
                                           "no retries left"
database unavailable or busy               (SQLAlchemy's OperationalError, e.g. "database is locked",
                                           a dropped PostgreSQL connection): the same
anything else                              FailJob(retries-1, the exception's message)
=========================================  ============================================================

:func:`decide` is pure (tested without Zeebe); :func:`apply` sends the command through pyzeebe's job
controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy.exc
import tenacity
from pydantic import ValidationError

from workers.runtime.errors import BusinessError, PermanentError, RetryLaterError, TransientError
from workers.runtime.redact import redact_text

MAX_MESSAGE_CHARS = 2000  # error messages end up in incidents and Operate; keep them readable


class InvalidInputError(Exception):
    """The job's variables do not fit the handler's input model (wraps the pydantic error)."""

    def __init__(self, model: type[Any], error: ValidationError) -> None:
        self.model = model
        self.error = error
        super().__init__(describe_validation_error(error))


def describe_validation_error(error: ValidationError) -> str:
    """``invalid input: variable 'score': Input should be a valid integer (got 'x'); ...``: one part
    per problem, each naming the variable (dotted path into nested objects) and what is wrong."""
    parts = []
    for problem in error.errors(include_url=False):
        location = ".".join(str(part) for part in problem["loc"]) or "(job variables)"
        part = f"variable {location!r}: {problem['msg']}"
        if problem["type"] != "missing":
            shown = repr(problem.get("input"))
            part += f" (got {shown[:80] + '…' if len(shown) > 80 else shown})"
        parts.append(part)
    return "invalid input: " + "; ".join(parts)


@dataclass(frozen=True)
class Complete:
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ThrowError:
    code: str
    message: str
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Fail:
    retries: int
    message: str
    retry_back_off_ms: int = 0

    @property
    def incident(self) -> bool:
        """Zeebe raises an incident when a job fails with no retries left."""
        return self.retries <= 0


Command = Complete | ThrowError | Fail


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off between retries of transient failures: ``start * 2**(attempt-1)``, each
    wait capped at ``max_ms``. ``initial_retries`` is the task's configured retries (Zeebe's default 3):
    the job only carries the retries left, so the attempt number is derived from it.

    ``budget_ms`` is how long the retries together should outlast an outage (a mail server, webhook
    or database down for minutes): the first wait ``start`` is ``base_ms``, or larger when the task's
    retries would otherwise be spent sooner, so that the waits sum to the budget (as far as
    ``max_ms`` allows). With the defaults (1 s, 300 s cap, 600 s budget), 5 retries wait 40, 80, 160,
    300 s (9.7 min) and 3 retries 200, 300 s (8.3 min) before the incident.
    """

    base_ms: int = 1_000
    max_ms: int = 300_000
    initial_retries: int = 3
    budget_ms: int = 0

    def attempt(self, retries_left: int) -> int:
        return max(1, self.initial_retries - retries_left + 1)

    @property
    def start_ms(self) -> int:
        """The first wait: ``base_ms``, raised so the ``initial_retries - 1`` waits cover ``budget_ms``."""
        waits = self.initial_retries - 1
        if waits < 1 or self.budget_ms <= 0:
            return self.base_ms
        return max(self.base_ms, -(-self.budget_ms // (2**waits - 1)))

    def backoff_ms(self, attempt: int) -> int:
        wait = tenacity.wait_exponential(multiplier=self.start_ms / 1000, max=self.max_ms / 1000, exp_base=2)
        state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return round(wait(state) * 1000)


TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientError,
    OSError,
    TimeoutError,
    sqlalchemy.exc.OperationalError,  # the database is down, busy or locked: worth a retry after a pause
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
)


def _truncate(text: str) -> str:
    """Redacted (incident messages end up in the engine's records and exports) and bounded."""
    text = redact_text(text)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _message(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if not isinstance(error, TransientError | PermanentError | InvalidInputError | BusinessError):
        text = f"{type(error).__name__}: {text}"
    return _truncate(text)


def decide(
    error: BaseException,
    *,
    retries: int,
    policy: RetryPolicy,
    invalid_input_error: str | None = None,
) -> Command:
    """Map a handler's exception to the command for a job that has ``retries`` left."""
    if isinstance(error, BusinessError):
        return ThrowError(error.code, _message(error), dict(error.variables))
    if isinstance(error, InvalidInputError):
        if invalid_input_error:
            return ThrowError(invalid_input_error, _message(error))
        return Fail(retries=0, message=_message(error))
    if isinstance(error, PermanentError):  # checked before OSError: retrying cannot fix it
        return Fail(retries=0, message=_message(error))
    if isinstance(error, RetryLaterError) and retries > 0:
        back_off = min(max(error.retry_after_ms, policy.base_ms), policy.max_ms)
        return Fail(retries=retries, message=_message(error), retry_back_off_ms=back_off)
    left = max(retries - 1, 0)
    if left == 0:
        return Fail(retries=0, message=_truncate(f"no retries left: {_message(error)}"))
    if isinstance(error, TRANSIENT_TYPES):
        back_off = policy.backoff_ms(policy.attempt(retries))
        return Fail(retries=left, message=_message(error), retry_back_off_ms=back_off)
    return Fail(retries=left, message=_message(error))


def outcome_label(command: Command) -> str:
    """The metrics/log label of a command: completed, bpmn_error, failed or incident."""
    if isinstance(command, Complete):
        return "completed"
    if isinstance(command, ThrowError):
        return "bpmn_error"
    return "incident" if command.incident else "failed"


async def apply(command: Command, job: Any, controller: Any) -> None:
    """Send ``command`` for ``job`` through pyzeebe's ``JobController``.

    ``set_failure_status`` always sends ``job.retries - 1``; an incident on the first attempt (invalid
    input) needs ``retries=0``, which only the controller's adapter can send.
    """
    if isinstance(command, Complete):
        await controller.set_success_status(variables=command.variables)
    elif isinstance(command, ThrowError):
        await controller.set_error_status(command.message, error_code=command.code, variables=command.variables)
    elif command.retries == job.retries - 1:
        await controller.set_failure_status(command.message, retry_back_off_ms=command.retry_back_off_ms)
    else:
        await controller._zeebe_adapter.fail_job(
            job_key=job.key,
            retries=command.retries,
            message=command.message,
            retry_back_off_ms=command.retry_back_off_ms,
            variables={},
        )
