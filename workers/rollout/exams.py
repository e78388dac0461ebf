"""Step 3 (000A step 3): the closed-book exam (闭卷考) — definitions and the exam catalogue.

Exam definitions are rule data in ``data/rollout/exams/*.yaml``: a question bank of single choice,
multiple choice, true/false and short fill-in questions with points, a partial-credit policy, a pass
mark and the attempts allowed. Every question is tagged with one of the three mandated topics, and
every exam must cover all three (000A step 3). The answer keys live only here; the process only ever
sees :func:`exam_paper`, the paper without keys.

The catalogue's canonical text (what decision records store as the rule version) is the sorted JSON
of every definition, so the grader is replayable from one text.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from workers.rollout._data import CamelModel, StrictCamelModel, load_yaml, validate_model
from workers.rollout.rules import EXAM_TOPIC_NAMES, EXAM_TOPICS, ExamTopic, cite
from workers.runtime.errors import RuleDataError

PartialCredit = Literal["none", "no-wrong-picks", "proportional"]
"""How a multiple-choice question scores an incomplete answer:

- ``none``: full points only for exactly the right options;
- ``no-wrong-picks`` (少选得分、错选不得分): any wrong option scores 0, else points × right picks / right options;
- ``proportional``: points × max(0, right picks − wrong picks) / right options.
"""

Points = Annotated[Decimal, Field(gt=0, max_digits=6, decimal_places=2)]
OptionKey = Annotated[str, Field(pattern=r"^[A-Z]$")]


class _Question(StrictCamelModel):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    topic: ExamTopic
    points: Points
    prompt: str = Field(min_length=1)


class _ChoiceQuestion(_Question):
    options: dict[OptionKey, str] = Field(min_length=2)


class SingleChoice(_ChoiceQuestion):
    kind: Literal["single-choice"]
    answer: OptionKey

    @model_validator(mode="after")
    def _answer_is_option(self) -> SingleChoice:
        if self.answer not in self.options:
            raise ValueError(f"answer {self.answer!r} is not one of the options {sorted(self.options)}")
        return self


class MultipleChoice(_ChoiceQuestion):
    kind: Literal["multiple-choice"]
    answer: list[OptionKey] = Field(min_length=1)
    partial_credit: PartialCredit | None = None  # None: the exam's policy

    @model_validator(mode="after")
    def _answers_are_options(self) -> MultipleChoice:
        unknown = sorted(set(self.answer) - set(self.options))
        if unknown:
            raise ValueError(f"answer {unknown} not among the options {sorted(self.options)}")
        if len(set(self.answer)) != len(self.answer):
            raise ValueError("answer lists an option twice")
        return self


class TrueFalse(_Question):
    kind: Literal["true-false"]
    answer: bool


class FillIn(_Question):
    kind: Literal["fill-in"]
    answer: list[str] = Field(min_length=1, description="accepted answers, compared after normalising")

    @field_validator("answer", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value

    @field_validator("answer")
    @classmethod
    def _not_blank(cls, value: list[str]) -> list[str]:
        if any(not str(v).strip() for v in value):
            raise ValueError("an accepted answer is blank")
        return [str(v) for v in value]


Question = Annotated[SingleChoice | MultipleChoice | TrueFalse | FillIn, Field(discriminator="kind")]


class ExamDefinition(StrictCamelModel):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1)
    process: str = ""
    closed_book: Literal[True] = Field(description="000A step 3: the exam is closed-book (闭卷考)")
    pass_mark_percent: Annotated[Decimal, Field(gt=0, le=100)]
    attempts_allowed: int = Field(ge=1, le=10)
    partial_credit: PartialCredit = "no-wrong-picks"
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _three_topics_and_unique_ids(self) -> ExamDefinition:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} appears twice")
            seen.add(question.id)
        missing = [t for t in EXAM_TOPICS if all(q.topic != t for q in self.questions)]
        if missing:
            names = "; ".join(EXAM_TOPIC_NAMES[t] for t in missing)
            raise ValueError(f"{cite(3)}: the exam must cover all three topics, missing: {names}")
        return self

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def policy_for(self, question: MultipleChoice) -> PartialCredit:
        return question.partial_credit or self.partial_credit


class ExamCatalogue(StrictCamelModel):
    exams: dict[str, ExamDefinition]

    @model_validator(mode="after")
    def _keys_match_ids(self) -> ExamCatalogue:
        for key, exam in self.exams.items():
            if key != exam.id:
                raise ValueError(f"catalogue key {key!r} differs from the exam's id {exam.id!r}")
        return self


def parse_exam_catalogue(text: str) -> ExamCatalogue:
    """Parse the canonical catalogue text (JSON, or the same shape in YAML); errors name exam,
    question id and field."""
    document = load_yaml(text, "exam catalogue")
    if not isinstance(document, dict) or not isinstance(document.get("exams"), dict) or not document["exams"]:
        raise RuleDataError("exam catalogue must be a mapping {'exams': {exam id: definition, ...}}", field="exams")
    for exam_id, definition in document["exams"].items():
        validate_model(ExamDefinition, definition, f"exam {exam_id!r}")
    return validate_model(ExamCatalogue, document, "exam catalogue")


def catalogue_text(directory: str | Path) -> str:
    """Read every ``*.yaml`` exam definition under ``directory`` into the catalogue's canonical text.

    Each file is validated on its own first, so an error names the file, the question and the field.
    """
    exams: dict[str, Any] = {}
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise RuleDataError(f"no exam definitions (*.yaml) in {directory}")
    for path in files:
        document = load_yaml(path.read_text(encoding="utf-8"), f"exam definition {path.name}")
        exam = validate_model(ExamDefinition, document, f"exam definition {path.name}")
        if exam.id in exams:
            raise RuleDataError(f"exam definition {path.name}: exam id {exam.id!r} is defined twice", field="id")
        exams[exam.id] = exam.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps({"exams": exams}, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


class PaperQuestion(CamelModel):
    question_id: str
    topic: ExamTopic
    kind: str
    points: float
    prompt: str
    options: dict[str, str] = Field(default_factory=dict)
    options_text: str = ""  # "A. …  B. …" for the form's text view
    answer: Any = None  # what the employee fills in; the form binds to it


class ExamPaper(CamelModel):
    """The exam as an employee sees it: every question, never the key."""

    exam_id: str
    title: str
    closed_book: bool
    pass_mark_percent: float
    attempts_allowed: int
    questions: list[PaperQuestion]


def exam_paper(exam: ExamDefinition) -> ExamPaper:
    return ExamPaper(
        exam_id=exam.id,
        title=exam.title,
        closed_book=exam.closed_book,
        pass_mark_percent=float(exam.pass_mark_percent),
        attempts_allowed=exam.attempts_allowed,
        questions=[
            PaperQuestion(question_id=q.id, topic=q.topic, kind=q.kind, points=float(q.points), prompt=q.prompt,
                          options=dict(q.options) if isinstance(q, SingleChoice | MultipleChoice) else {},
                          options_text="   ".join(f"{k}. {v}" for k, v in q.options.items())
                          if isinstance(q, SingleChoice | MultipleChoice) else "")
            for q in exam.questions
        ],
    )
