"""Step 3 (000A step 3): grading is a pure, recorded decision; invariants checked with hypothesis."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rollout.conftest import EXAM_ID, PERFECT_ANSWERS
from workers.rollout.exams import ExamCatalogue
from workers.rollout.grading import (
    ANSWER_SHEET_INVALID,
    GRADE_EXAM,
    ExamNotFoundError,
    GradeRequest,
    grade,
    multiple_choice_credit,
)


def request(answers: Any, attempt: int = 1) -> GradeRequest:
    return GradeRequest(exam_id=EXAM_ID, employee="wang.fang", attempt=attempt, answers=answers)


def test_a_perfect_sheet_passes_with_full_marks_per_topic(catalogue: ExamCatalogue) -> None:
    result = grade(request(PERFECT_ANSWERS), catalogue).exam_result
    assert (result.score, result.max_score, result.percent, result.passed) == (100, 100, 100, True)
    assert {t: s.score for t, s in result.topic_scores.items()} == {
        "understanding": 30, "differences": 30, "responsibilities": 40}
    assert result.retake_allowed is False and result.attempt == 1 and result.attempts_allowed == 3


def test_a_failed_sheet_may_be_retaken_until_the_last_attempt(catalogue: ExamCatalogue) -> None:
    answers = {**PERFECT_ANSWERS, "r1": "A", "r2": "5%"}  # 60 points: below the 80 % pass mark
    first = grade(request(answers, attempt=1), catalogue).exam_result
    assert (first.score, first.passed, first.retake_allowed) == (60, False, True)
    assert first.topic_scores["responsibilities"].score == 0
    last = grade(request(answers, attempt=3), catalogue).exam_result
    assert (last.passed, last.retake_allowed, last.attempt) == (False, False, 3)


def test_the_pass_mark_is_inclusive(catalogue: ExamCatalogue) -> None:
    result = grade(request({**PERFECT_ANSWERS, "r1": "A"}), catalogue).exam_result  # exactly 80 of 100
    assert (result.percent, result.passed) == (80, True)


def test_answers_are_read_leniently_where_unambiguous(catalogue: ExamCatalogue) -> None:
    answers = {"u1": "b", "u2": " ３０ ", "u3": "对", "d1": "C, A", "d2": "错", "r1": "Ｂ", "r2": "2 %"}
    assert grade(request(answers), catalogue).exam_result.score == 100
    as_list = [{"questionId": k, "answer": v} for k, v in PERFECT_ANSWERS.items()]
    assert grade(request(as_list), catalogue).exam_result.score == 100


def test_unanswered_questions_score_zero_without_being_malformed(catalogue: ExamCatalogue) -> None:
    result = grade(request({"u1": "B", "u2": ""}), catalogue).exam_result
    assert result.score == 10 and result.unanswered == ["u2", "u3", "d1", "d2", "r1", "r2"]
    assert result.sheet_problems == []


def test_a_malformed_sheet_is_a_bpmn_error_naming_question_and_field(catalogue: ExamCatalogue) -> None:
    sheet = {**PERFECT_ANSWERS, "u1": "E", "d1": {"A": True}, "u3": "perhaps", "x9": "A"}
    output = grade(request(sheet), catalogue)
    result = output.exam_result
    assert result.passed is False and result.score == 0 and result.retake_allowed is False
    assert result.sheet_problems == [
        "question 'x9', field 'questionId': not a question of exam 'order-fulfilment-v2'",
        "question 'u1', field 'answer': 'E' is not one of the options A, B, C, D",
        "question 'u3', field 'answer': expected true or false, got 'perhaps'",
        "question 'd1', field 'answer': expected a list of option keys, got {'A': True}",
    ]
    assert GRADE_EXAM.business_error is not None
    error = GRADE_EXAM.business_error(output)
    assert error is not None and error.code == ANSWER_SHEET_INVALID and "question 'u1'" in error.message


def test_a_list_sheet_without_question_ids_is_malformed(catalogue: ExamCatalogue) -> None:
    result = grade(request([{"answer": "B"}]), catalogue).exam_result
    assert result.sheet_problems == ["answer #1, field 'questionId': every answer needs the question's id"]


def test_an_unknown_exam_is_a_configuration_error(catalogue: ExamCatalogue) -> None:
    with pytest.raises(ExamNotFoundError, match="examId 'nope' is not in the exam catalogue"):
        grade(GradeRequest(exam_id="nope", employee="a", attempt=1, answers={}), catalogue)


@pytest.mark.parametrize(("policy", "selected", "credit"), [
    ("none", "AC", 1), ("none", "A", 0), ("no-wrong-picks", "A", Fraction(1, 2)), ("no-wrong-picks", "AB", 0),
    ("proportional", "AB", 0), ("proportional", "ACD", Fraction(1, 2)), ("proportional", "", 0),
])
def test_partial_credit_policies(policy: Any, selected: str, credit: Fraction) -> None:
    assert multiple_choice_credit(policy, frozenset("AC"), frozenset(selected)) == credit


# --- invariants ------------------------------------------------------------------------------------

QUESTION_IDS = list(PERFECT_ANSWERS)
answer_values = st.one_of(st.none(), st.sampled_from(["A", "B", "C", "D", "30", "2%", "x", ""]), st.booleans(),
                          st.lists(st.sampled_from("ABCD"), max_size=4, unique=True))
sheets = st.dictionaries(st.sampled_from(QUESTION_IDS), answer_values)
options = st.frozensets(st.sampled_from("ABCDEF"))
policies = st.sampled_from(["none", "no-wrong-picks", "proportional"])


@settings(max_examples=150, deadline=None)
@given(sheet=sheets, attempt=st.integers(min_value=1, max_value=5))
def test_the_score_stays_within_bounds_and_matches_pass_fail(catalogue: ExamCatalogue, sheet: dict[str, Any],
                                                             attempt: int) -> None:
    result = grade(request(sheet, attempt), catalogue).exam_result
    assert 0 <= result.score <= result.max_score == 100
    assert all(0 <= s.score <= s.max_score for s in result.topic_scores.values())
    assert result.passed == (not result.sheet_problems and result.percent >= result.pass_mark_percent)
    assert not (result.passed and result.retake_allowed)


@settings(max_examples=100, deadline=None)
@given(sheet=sheets, seed=st.integers())
def test_grading_does_not_depend_on_the_order_of_answers(catalogue: ExamCatalogue, sheet: dict[str, Any],
                                                         seed: int) -> None:
    items = list(sheet.items())
    random.Random(seed).shuffle(items)
    shuffled = grade(request(dict(items)), catalogue).exam_result
    as_list = grade(request([{"questionId": k, "answer": v} for k, v in items]), catalogue).exam_result
    original = grade(request(sheet), catalogue).exam_result
    assert shuffled.model_dump() == original.model_dump()
    assert as_list.score == original.score and as_list.topic_scores == original.topic_scores


@settings(max_examples=300, deadline=None)
@given(policy=policies, correct=options.filter(bool), selected=options, extra=st.sampled_from("ABCDEF"))
def test_partial_credit_is_monotone(policy: Any, correct: frozenset[str], selected: frozenset[str],
                                    extra: str) -> None:
    before = multiple_choice_credit(policy, correct, selected)
    after = multiple_choice_credit(policy, correct, selected | {extra})
    assert 0 <= before <= 1
    if extra in correct:
        if not (selected - correct) or policy == "proportional":
            assert after >= before  # picking one more right option never costs points
    else:
        assert after <= before  # picking a wrong option never earns points
    assert multiple_choice_credit(policy, correct, correct) == 1
