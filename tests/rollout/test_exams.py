"""Step 3 (000A step 3): exam definitions are rule data; a broken one names the question and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rollout.conftest import DATA, EXAM_ID
from workers.rollout.exams import ExamCatalogue, catalogue_text, exam_paper, parse_exam_catalogue
from workers.rollout.grading import GRADE_EXAM
from workers.runtime import RuleDataError, RuleSet


def sample() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DATA / "exams" / f"{EXAM_ID}.yaml").read_text(encoding="utf-8"))
    return document


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    (tmp_path / "exam.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_the_sample_exam_covers_the_three_mandated_topics(catalogue: ExamCatalogue) -> None:
    exam = catalogue.exams[EXAM_ID]
    assert {q.topic for q in exam.questions} == {"understanding", "differences", "responsibilities"}
    assert exam.closed_book is True
    assert {q.kind for q in exam.questions} == {"single-choice", "multiple-choice", "true-false", "fill-in"}


def test_the_catalogue_text_is_canonical_and_round_trips() -> None:
    text = catalogue_text(DATA / "exams")
    assert text == catalogue_text(DATA / "exams")
    rules = RuleSet.from_text(GRADE_EXAM, text)
    assert rules.version.startswith("sha256:") and EXAM_ID in rules.rules.exams
    assert json.loads(text)["exams"][EXAM_ID]["passMarkPercent"] == "80"


def test_the_exam_paper_carries_no_answer_key(catalogue: ExamCatalogue) -> None:
    paper = exam_paper(catalogue.exams[EXAM_ID]).model_dump(mode="json", by_alias=True)
    assert all(q["answer"] is None for q in paper["questions"])
    assert "A. " in paper["questions"][0]["optionsText"]
    dumped = json.dumps(paper, ensure_ascii=False)
    assert "accepted" not in dumped and '"30 分钟"' not in dumped  # fill-in keys stay in the rule data


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["questions"][0].update(answer="E"), r"row 'u1', field 'single-choice': .*'E' is not one of"),
    (lambda d: d["questions"][3].update(answer=["A", "Z"]), r"row 'd1', field 'multiple-choice': .*\['Z'\]"),
    (lambda d: d["questions"][2].update(answer="maybe"), r"row 'u3', field 'true-false.answer'"),
    (lambda d: d["questions"][1].update(points=0), r"row 'u2', field 'fill-in.points'"),
    (lambda d: d["questions"][1].pop("prompt"), r"row 'u2', field 'fill-in.prompt': Field required"),
    (lambda d: d["questions"][1].update(kind="essay"), r"row 'u2'.*'single-choice', 'multiple-choice'"),
    (lambda d: d["questions"][5].update(id="u1"), r"question id 'u1' appears twice"),
    (lambda d: d.update(closedBook=False), r"field 'closedBook'"),
    (lambda d: d.update(attemptsAllowed=0), r"field 'attemptsAllowed'"),
    (lambda d: d.update(questions=[q for q in d["questions"] if q["topic"] != "responsibilities"]),
     r"000A step 3: the exam must cover all three topics, missing: the employee's own responsibilities"),
])
def test_a_malformed_exam_definition_names_the_question_and_field(tmp_path: Path, mutate: Any, expected: str) -> None:
    document = sample()
    mutate(document)
    with pytest.raises(RuleDataError, match=expected):
        catalogue_text(write(tmp_path, document))


def test_duplicate_exam_ids_and_empty_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleDataError, match="no exam definitions"):
        catalogue_text(tmp_path)
    write(tmp_path, sample())
    (tmp_path / "again.yaml").write_text((tmp_path / "exam.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RuleDataError, match="defined twice"):
        catalogue_text(tmp_path)


def test_a_catalogue_whose_keys_disagree_with_the_ids_is_refused() -> None:
    text = catalogue_text(DATA / "exams").replace(f'"{EXAM_ID}": {{', '"other": {', 1)
    with pytest.raises(RuleDataError, match="differs from the exam's id"):
        parse_exam_catalogue(text)
