"""The decision the audit tests record and replay: grade a closed-book exam (domain.md §1 step 3).

Rule text is CSV ``question,answer,points`` with a first line ``pass_mark,<n>``; the pass mark is a
test value here (in production it is configuration, 000 part A step 3 gives none).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from workers.runtime import Decision, RuleDataError


class ExamInput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    employee: str
    answers: dict[str, str]


class ExamOutput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    score: int
    passed: bool
    wrong_questions: list[str] = Field(alias="wrongQuestions")


@dataclass(frozen=True)
class ExamKey:
    pass_mark: int
    answers: dict[str, tuple[str, int]]


def parse_exam_key(text: str) -> ExamKey:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("pass_mark,"):
        raise RuleDataError("first line must be 'pass_mark,<points>'", row=1, field="pass_mark")
    try:
        pass_mark = int(lines[0].split(",", 1)[1])
    except ValueError as exc:
        raise RuleDataError(f"not an integer: {lines[0]!r}", row=1, field="pass_mark") from exc
    answers: dict[str, tuple[str, int]] = {}
    for row, line in enumerate(lines[1:], start=2):
        parts = line.split(",")
        if len(parts) != 3:
            raise RuleDataError(f"expected question,answer,points, got {line!r}", row=row)
        question, answer, points = parts
        try:
            answers[question] = (answer, int(points))
        except ValueError as exc:
            raise RuleDataError(f"not an integer: {points!r}", row=row, field="points") from exc
    return ExamKey(pass_mark=pass_mark, answers=answers)


def grade_exam(exam: ExamInput, key: ExamKey) -> ExamOutput:
    score = 0
    wrong = []
    for question, (answer, points) in sorted(key.answers.items()):
        if exam.answers.get(question, "").strip().lower() == answer.lower():
            score += points
        else:
            wrong.append(question)
    return ExamOutput(score=score, passed=score >= key.pass_mark, wrong_questions=wrong)


GRADE_EXAM: Decision[ExamInput, ExamKey, ExamOutput] = Decision(
    name="audit-test.exam-grade",
    input_model=ExamInput,
    output_model=ExamOutput,
    parse_rules=parse_exam_key,
    evaluate=grade_exam,
)

EXAM_KEY_V1 = "pass_mark,60\nq1,owner,40\nq2,pilot,30\nq3,cutover,30\n"
EXAM_KEY_V2 = "pass_mark,80\nq1,owner,40\nq2,pilot,30\nq3,cutover,30\n"  # stricter pass mark

REGISTRY = {GRADE_EXAM.name: GRADE_EXAM}
