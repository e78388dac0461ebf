"""The error types handlers raise; :mod:`workers.runtime.policy` maps each to one Zeebe command.

Handlers never talk to Zeebe: they raise one of these (or let any other exception escape) and the
runtime decides, in one place, whether that becomes a BPMN error, a retry with back-off or an incident.
"""

from __future__ import annotations

from typing import Any


class BusinessError(Exception):
    """A business outcome the BPMN model catches with an error boundary event (ThrowError).

    ``code`` is the BPMN ``errorCode``; ``variables`` are set on the task's scope with the error, so the
    catching path can read why (e.g. the failed exam's score).
    """

    def __init__(self, code: str, message: str, variables: dict[str, Any] | None = None) -> None:
        if not code:
            raise ValueError("BusinessError needs a non-empty BPMN error code")
        super().__init__(message)
        self.code = code
        self.message = message
        self.variables: dict[str, Any] = dict(variables or {})

    def __repr__(self) -> str:
        return f"BusinessError(code={self.code!r}, message={self.message!r})"


class TransientError(Exception):
    """A failure that may go away by itself (mail server down, webhook 503): retry with back-off.

    Contrast :class:`PermanentError`, which no retry can fix.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RetryLaterError(TransientError):
    """Not a failure of this attempt: something it waits for (another activation's claim on a side
    effect) is not settled yet. The job is failed with the SAME retries and a back-off of
    ``retry_after_ms``, so waiting never spends the retries meant for real outages."""

    def __init__(self, message: str, *, retry_after_ms: int = 0) -> None:
        super().__init__(message)
        self.retry_after_ms = max(int(retry_after_ms), 0)


class MaybeDoneError(TransientError):
    """A side effect's call failed in a way that leaves open whether it took effect: the request went
    out but no answer came back (a timeout, a dropped connection). Retryable where the channel
    recognises a repeat; otherwise the idempotency store records the outcome as uncertain instead of
    letting a retry repeat it."""


class PermanentError(Exception):
    """A technical failure that retrying cannot fix: an incident at once (FailJob with retries=0).

    For what needs a person to change configuration or data before the job can succeed: an exam id the
    rule data does not have, a webhook answering 4xx (other than 408/429), a mail server refusing a
    recipient with a permanent 5xx. Retrying such a job only delays the incident and, for side effects,
    repeats what already went out. The ``message`` becomes the incident's error message, so it says
    *which* server or id and *why*, in words an operator can act on.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RuleDataError(ValueError):
    """Rule data (penalty table, exam key, org directory …) that cannot be parsed.

    The message names the row and field so whoever maintains the data can fix it without reading code.
    """

    def __init__(self, message: str, *, row: int | str | None = None, field: str | None = None) -> None:
        where = ", ".join(
            part for part in (f"row {row}" if row is not None else "", f"field {field!r}" if field else "") if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.row = row
        self.field = field


class JobTimeoutError(TransientError):
    """The runtime cut a handler off at its job's deadline (raised by the runtime, not by handlers).

    Transient: the job is failed with retries−1 and a back-off, like any retryable failure, so a
    handler that is only occasionally slow gets another go. ``lock_expired`` is true when the cut-off
    came after the activation timeout itself (the event loop was blocked): the job then belongs to
    whichever worker activates it next, and this worker must send nothing for it.
    """

    def __init__(self, job_type: str, timeout_ms: int, *, lock_expired: bool = False) -> None:
        super().__init__(
            f"handler exceeded the job timeout of {timeout_ms} ms; raise the task's timeout "
            f"(PROCGOV_TASKS__{job_type}__TIMEOUT_MS) or make the handler faster"
        )
        self.job_type = job_type
        self.timeout_ms = timeout_ms
        self.lock_expired = lock_expired
