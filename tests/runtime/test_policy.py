"""The failure policy: every outcome maps to exactly one Zeebe command (pure, no gateway)."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from pydantic import BaseModel, Field, ValidationError

from workers.runtime import BusinessError, PermanentError, TransientError
from workers.runtime.errors import RetryLaterError
from workers.runtime.policy import (
    Complete,
    Fail,
    InvalidInputError,
    RetryPolicy,
    ThrowError,
    decide,
    describe_validation_error,
    outcome_label,
)

POLICY = RetryPolicy(base_ms=1_000, max_ms=60_000, initial_retries=5)


class Pilot(BaseModel):
    department: str
    score: int = Field(ge=0, le=100)


def invalid_input(**variables: object) -> InvalidInputError:
    try:
        Pilot.model_validate(variables)
    except ValidationError as error:
        return InvalidInputError(Pilot, error)
    raise AssertionError("expected invalid input")


def test_business_error_throws_the_bpmn_error_with_its_variables() -> None:
    command = decide(BusinessError("EXAM_FAILED", "score 40 < 60", {"score": 40}), retries=3, policy=POLICY)
    assert command == ThrowError("EXAM_FAILED", "score 40 < 60", {"score": 40})
    assert outcome_label(command) == "bpmn_error"


def test_invalid_input_is_an_incident_naming_each_variable_and_problem() -> None:
    command = decide(invalid_input(score="high"), retries=3, policy=POLICY)
    assert isinstance(command, Fail)
    assert command.retries == 0 and command.incident
    assert "variable 'department': Field required" in command.message
    assert "variable 'score': Input should be a valid integer" in command.message
    assert "(got 'high')" in command.message
    assert outcome_label(command) == "incident"


def test_invalid_input_throws_the_declared_error_code_instead() -> None:
    command = decide(invalid_input(department="IT", score=101), retries=3, policy=POLICY, invalid_input_error="BAD")
    assert isinstance(command, ThrowError)
    assert command.code == "BAD"
    assert "variable 'score': Input should be less than or equal to 100" in command.message


@pytest.mark.parametrize(
    "error",
    [
        TransientError("smtp 421"),
        ConnectionRefusedError("refused"),
        TimeoutError("slow"),
        TimeoutError(),
        sqlalchemy.exc.OperationalError("INSERT …", {}, Exception("database is locked")),
        sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=["transient", "refused", "timeout", "bare-timeout", "db-locked", "pool-timeout"],
)
def test_transient_failures_retry_with_exponential_back_off(error: BaseException) -> None:
    back_offs = []
    for retries in (5, 4, 3, 2):
        command = decide(error, retries=retries, policy=POLICY)
        assert isinstance(command, Fail)
        assert command.retries == retries - 1
        back_offs.append(command.retry_back_off_ms)
    assert back_offs == [1_000, 2_000, 4_000, 8_000]


def test_the_last_transient_failure_becomes_an_incident_without_back_off() -> None:
    command = decide(TransientError("smtp 421"), retries=1, policy=POLICY)
    assert command == Fail(retries=0, message="no retries left: smtp 421", retry_back_off_ms=0)
    assert command.incident


def test_a_retry_with_retries_left_does_not_claim_to_be_the_last() -> None:
    command = decide(TransientError("SMTP server mail:25 unreachable"), retries=3, policy=POLICY)
    assert isinstance(command, Fail) and not command.message.startswith("no retries left")


def test_waiting_for_another_activation_spends_no_retry() -> None:
    """RetryLaterError: FailJob with the SAME retries and a back-off (Camunda: FailJob ``retries`` is
    "the amount of retries the job should have left", ``retryBackOff`` the wait before the next try)."""
    command = decide(RetryLaterError("in progress", retry_after_ms=45_000), retries=2, policy=POLICY)
    assert command == Fail(retries=2, message="in progress", retry_back_off_ms=45_000)
    capped = decide(RetryLaterError("in progress", retry_after_ms=10**9), retries=2, policy=POLICY)
    assert isinstance(capped, Fail) and capped.retry_back_off_ms == POLICY.max_ms


def test_the_retry_budget_outlasts_an_outage_of_minutes() -> None:
    """Defaults (README, Configuration): waits sum to about the 10 min budget, each capped at 5 min."""
    five = RetryPolicy(base_ms=1_000, max_ms=300_000, initial_retries=5, budget_ms=600_000)
    assert [five.backoff_ms(attempt) for attempt in range(1, 5)] == [40_000, 80_000, 160_000, 300_000]
    three = RetryPolicy(base_ms=1_000, max_ms=300_000, initial_retries=3, budget_ms=600_000)
    assert [three.backoff_ms(attempt) for attempt in range(1, 3)] == [200_000, 300_000]
    assert RetryPolicy(base_ms=1_000, initial_retries=5, budget_ms=0).backoff_ms(1) == 1_000


def test_back_off_is_capped() -> None:
    assert RetryPolicy(base_ms=1_000, max_ms=5_000).backoff_ms(10) == 5_000
    assert RetryPolicy(initial_retries=3).attempt(3) == 1
    assert RetryPolicy(initial_retries=3).attempt(7) == 1  # more retries than declared: still attempt 1


def test_any_other_exception_fails_with_its_message() -> None:
    command = decide(KeyError("owner"), retries=3, policy=POLICY)
    assert command == Fail(retries=2, message="KeyError: 'owner'")
    assert outcome_label(command) == "failed"


def test_long_messages_are_cut() -> None:
    command = decide(RuntimeError("x" * 10_000), retries=3, policy=POLICY)
    assert isinstance(command, Fail)
    assert len(command.message) == 2_000


def test_complete_label() -> None:
    assert outcome_label(Complete({"a": 1})) == "completed"


def test_nested_locations_are_dotted() -> None:
    class Outer(BaseModel):
        pilot: Pilot

    with pytest.raises(ValidationError) as caught:
        Outer.model_validate({"pilot": {"department": "IT", "score": -1}})
    assert "variable 'pilot.score'" in describe_validation_error(caught.value)


def test_a_permanent_error_is_an_incident_at_once_even_with_retries_left() -> None:
    error = PermanentError("webhook https://hooks.example.com/x refused the message with HTTP 400: bad key")
    command = decide(error, retries=5, policy=RetryPolicy())
    assert command == Fail(retries=0, message=error.message)
    assert command.incident and outcome_label(command) == "incident"
