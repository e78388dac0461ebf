"""Step 3 (000A step 3): grading the closed-book exam, as a recorded, replayable :class:`Decision`.

The grader gets the employee's answer sheet and the attempt number from the process, and the answer
key from the exam catalogue (rule data) — keys never enter process variables. The result gives the
score, pass/fail, per-topic scores and the attempt number; ``retakeAllowed`` tells the model whether
another attempt remains (the exam's ``attemptsAllowed``). A malformed answer sheet is not a crash: it
is the BPMN error ``EXAM_ANSWER_SHEET_INVALID`` naming the question id and the field, and the model
hands the sheet back to the employee without using up an attempt. An unknown exam id is a
configuration problem: :class:`ExamNotFoundError`, a ``PermanentError`` (an incident at once).

Scores are summed as exact fractions, so grading does not depend on the order of questions or answers,
and are rounded to two decimals only in the output.
"""

from __future__ import annotations

import unicodedata
from fractions import Fraction
from typing import Any

from pydantic import Field

from workers.rollout._data import CamelModel
from workers.rollout.exams import (
    ExamCatalogue,
    ExamDefinition,
    FillIn,
    MultipleChoice,
    PartialCredit,
    Question,
    SingleChoice,
    TrueFalse,
    parse_exam_catalogue,
)
from workers.rollout.rules import EXAM_TOPICS, cite
from workers.runtime.decisions import Decision
from workers.runtime.errors import BusinessError, PermanentError

ANSWER_SHEET_INVALID = "EXAM_ANSWER_SHEET_INVALID"

_TRUE = {"true", "t", "yes", "y", "1", "对", "是", "正确", "√"}
_FALSE = {"false", "f", "no", "n", "0", "错", "否", "错误", "×"}


class ExamNotFoundError(PermanentError, LookupError):
    """The process names an exam the catalogue does not have: a deployment problem no retry fixes, so
    an incident at once naming the id and the exams the catalogue has."""


class AnswerSheetError(ValueError):
    """One problem with one answer: names the question id and the field."""

    def __init__(self, question_id: str, field: str, message: str) -> None:
        super().__init__(f"question {question_id!r}, field {field!r}: {message}")
        self.question_id = question_id
        self.field = field


class GradeRequest(CamelModel):
    exam_id: str = Field(min_length=1)
    employee: str = Field(min_length=1, description="the person id of the employee taking the exam")
    attempt: int = Field(ge=1)
    answers: dict[str, Any] | list[Any] | None = None


class TopicScore(CamelModel):
    score: float
    max_score: float
    percent: float


class ExamResult(CamelModel):
    exam_id: str
    employee: str
    attempt: int
    attempts_allowed: int
    score: float
    max_score: float
    percent: float
    pass_mark_percent: float
    passed: bool
    retake_allowed: bool
    topic_scores: dict[str, TopicScore]
    unanswered: list[str] = Field(default_factory=list)
    sheet_problems: list[str] = Field(default_factory=list)
    rule: str = cite(3)


class GradeOutput(CamelModel):
    exam_result: ExamResult


# --- reading the sheet ---------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


def normalise_text(value: str) -> str:
    """Fill-in comparison: full-width → half-width (NFKC), case-insensitive, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _option(question: SingleChoice | MultipleChoice, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise AnswerSheetError(question.id, "answer", f"expected an option key, got {raw!r}")
    key = unicodedata.normalize("NFKC", raw).strip().upper()
    if key not in question.options:
        raise AnswerSheetError(question.id, "answer",
                               f"{raw!r} is not one of the options {', '.join(sorted(question.options))}")
    return key


def _selection(question: MultipleChoice, raw: Any) -> frozenset[str]:
    if isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).replace(",", " ").replace("，", " ").replace(";", " ")
        parts: list[Any] = text.split() if " " in text.strip() else list(text.strip())
    elif isinstance(raw, list):
        parts = raw
    else:
        raise AnswerSheetError(question.id, "answer", f"expected a list of option keys, got {raw!r}")
    return frozenset(_option(question, part) for part in parts)


def _truth(question: TrueFalse, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().casefold() in _TRUE:
        return True
    if isinstance(raw, str) and raw.strip().casefold() in _FALSE:
        return False
    raise AnswerSheetError(question.id, "answer", f"expected true or false, got {raw!r}")


def read_sheet(exam: ExamDefinition, answers: dict[str, Any] | list[Any] | None) -> tuple[dict[str, Any], list[str]]:
    """The answers by question id, and every problem found (each naming question id and field)."""
    problems: list[str] = []
    by_question: dict[str, Any] = {}
    if answers is None:
        return by_question, problems
    if isinstance(answers, dict):
        items: list[tuple[str, Any]] = [(str(k), v) for k, v in answers.items()]
    else:
        items = []
        for index, item in enumerate(answers, start=1):
            if not isinstance(item, dict) or not isinstance(item.get("questionId"), str):
                problems.append(f"answer #{index}, field 'questionId': every answer needs the question's id")
                continue
            items.append((item["questionId"], item.get("answer")))
    for question_id, raw in items:
        if exam.question(question_id) is None:
            problems.append(f"question {question_id!r}, field 'questionId': not a question of exam {exam.id!r}")
        elif question_id in by_question:
            problems.append(f"question {question_id!r}, field 'questionId': answered twice")
        else:
            by_question[question_id] = raw
    return by_question, problems


# --- scoring ------------------------------------------------------------------------------------

def multiple_choice_credit(policy: PartialCredit, correct: frozenset[str], selected: frozenset[str]) -> Fraction:
    """The share of the points (0..1) a selection earns under ``policy`` (see :data:`PartialCredit`)."""
    right = len(selected & correct)
    wrong = len(selected - correct)
    if policy == "none":
        return Fraction(1) if selected == correct else Fraction(0)
    if policy == "no-wrong-picks":
        return Fraction(0) if wrong else Fraction(right, len(correct))
    return Fraction(max(0, right - wrong), len(correct))


def question_credit(exam: ExamDefinition, question: Question, raw: Any) -> Fraction:
    """Points earned on one question; raises :class:`AnswerSheetError` for a malformed answer."""
    points = Fraction(question.points)
    if _blank(raw):
        return Fraction(0)
    if isinstance(question, SingleChoice):
        return points if _option(question, raw) == question.answer else Fraction(0)
    if isinstance(question, MultipleChoice):
        selected = _selection(question, raw)
        return points * multiple_choice_credit(exam.policy_for(question), frozenset(question.answer), selected)
    if isinstance(question, TrueFalse):
        return points if _truth(question, raw) == question.answer else Fraction(0)
    assert isinstance(question, FillIn)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise AnswerSheetError(question.id, "answer", f"expected a short text, got {raw!r}")
    given = normalise_text(str(raw))
    return points if any(normalise_text(a) == given for a in question.answer) else Fraction(0)


def _money(value: Fraction) -> float:
    return float(round(value, 2))


def grade(request: GradeRequest, catalogue: ExamCatalogue) -> GradeOutput:
    """Pure: grade one answer sheet against the exam's key (000A step 3)."""
    exam = catalogue.exams.get(request.exam_id)
    if exam is None:
        known = ", ".join(sorted(catalogue.exams)) or "none"
        raise ExamNotFoundError(f"examId {request.exam_id!r} is not in the exam catalogue (known: {known})")
    answers, problems = read_sheet(exam, request.answers)
    earned = {topic: Fraction(0) for topic in EXAM_TOPICS}
    available = {topic: Fraction(0) for topic in EXAM_TOPICS}
    unanswered: list[str] = []
    for question in exam.questions:
        available[question.topic] += Fraction(question.points)
        raw = answers.get(question.id)
        if _blank(raw):
            unanswered.append(question.id)
            continue
        try:
            earned[question.topic] += question_credit(exam, question, raw)
        except AnswerSheetError as problem:
            problems.append(str(problem))
    score, max_score = sum(earned.values(), Fraction(0)), sum(available.values(), Fraction(0))
    passed = not problems and score * 100 >= Fraction(exam.pass_mark_percent) * max_score
    if problems:
        score = Fraction(0)
    return GradeOutput(exam_result=ExamResult(
        exam_id=exam.id,
        employee=request.employee,
        attempt=request.attempt,
        attempts_allowed=exam.attempts_allowed,
        score=_money(score),
        max_score=_money(max_score),
        percent=_money(score * 100 / max_score),
        pass_mark_percent=float(exam.pass_mark_percent),
        passed=passed,
        retake_allowed=not passed and not problems and request.attempt < exam.attempts_allowed,
        topic_scores={
            topic: TopicScore(score=_money(earned[topic] if not problems else Fraction(0)),
                              max_score=_money(available[topic]),
                              percent=_money((earned[topic] if not problems else 0) * 100 / available[topic]))
            for topic in EXAM_TOPICS
        },
        unanswered=unanswered,
        sheet_problems=problems,
    ))


def _sheet_invalid(output: GradeOutput) -> BusinessError | None:
    result = output.exam_result
    if not result.sheet_problems:
        return None
    return BusinessError(ANSWER_SHEET_INVALID,
                         f"answer sheet of {result.employee!r} for exam {result.exam_id!r}: "
                         + "; ".join(result.sheet_problems),
                         variables={"sheetProblems": result.sheet_problems})


GRADE_EXAM: Decision[GradeRequest, ExamCatalogue, GradeOutput] = Decision(
    name="rollout.exam-grade",
    input_model=GradeRequest,
    output_model=GradeOutput,
    parse_rules=parse_exam_catalogue,
    evaluate=grade,
    business_error=_sheet_invalid,
)
