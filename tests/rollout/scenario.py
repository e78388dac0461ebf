"""The people of a sample rollout and what they answer, as user-task scripts for :class:`UserTaskDesk`.

Every script is a plain function of the task (its variables and assignee); a test changes one or two
of them to take a failure path.
"""

from __future__ import annotations

from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.conftest import PERFECT_ANSWERS
from tests.rollout.process import Script, UserTask

DATA = Path(__file__).resolve().parents[2] / "data" / "rollout"
CHINA = timezone(timedelta(hours=8))
OWNER = {"id": "li.ming", "name": "李明", "title": "营销副总裁 VP Marketing", "department": "营销中心 Marketing",
         "email": "li.ming@example.com"}


def request_variables(**changes: Any) -> dict[str, Any]:
    variables: dict[str, Any] = yaml.safe_load((DATA / "rollout-request.yaml").read_text(encoding="utf-8"))
    variables.update(changes)
    return variables


def today(zeebe: EmbeddedEngine) -> date:
    """The company's date on the engine's (controlled) clock."""
    return zeebe.clock.now().astimezone(CHINA).date()


def sheet(answers: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"questionId": k, "answer": v} for k, v in answers.items()]


def answers_of(task: UserTask, answers: dict[str, Any]) -> dict[str, Any]:
    """Fill the prefilled paper (``answers`` = the exam paper's questions) as the form would."""
    paper = task.variables["answers"]
    return {"answers": [{**q, "answer": answers.get(q["questionId"])} for q in paper]}


FAILING = {**PERFECT_ANSWERS, "r1": "A", "r2": "5%", "d1": ["B"]}  # 40 of 100


def default_scripts(zeebe: EmbeddedEngine) -> dict[str, Script]:
    def cutover(days: int) -> Script:
        return lambda task: {"cutoverDate": (today(zeebe) + timedelta(days=days)).isoformat(), "stagedRollout": False}

    return {
        "Step1_Renominate": lambda task: {"ownerNomineeId": "li.ming"},
        "Step2_MakePlan": lambda task: {"rolloutPlan": {
            "team": "chen.jing\nsun.qiang\nzhao.lei",
            "goal": {"metric": "order fulfilment cycle (days)", "baseline": 6, "target": 2.8,
                     "direction": "lower-is-better"},
            "weeks": [{"week": 1, "activities": "kick-off\ntraining"}, {"week": 2, "activities": "exam"},
                      {"week": 3, "activities": "pilot start"}]}},
        "Exam_Take": lambda task: answers_of(task, PERFECT_ANSWERS),
        "Step4_DefineScope": lambda task: {"pilotScope": {"kind": "market", "description": "East China sales"}},
        "Step4_ReportPilot": lambda task: {"pilotReport": {
            "kpis": [{"name": "order fulfilment cycle (days)", "target": 3, "actual": 2.8,
                      "direction": "lower-is-better"}],
            "trainedPeople": "chen.jing\nwang.fang", "templates": "order checklist",
            "lessons": "train before go-live"}},
        "Step4_Rework": lambda task: {"pilotScope": {"kind": "departments", "description": "Sales department"},
                                      "pilotDuration": "P6M"},
        "Step5_Issue": lambda task: {"issuance": {"documentNumber": "PG-2026-017", "issuedOn": today(zeebe).isoformat(),
                                                  "version": "V2.0"}},
        "Step6_SetCutover": cutover(10),
        "Step6_ConfirmReadiness": lambda task: {"readinessReport": {
            "pilotAdequate": True, "publicityAdequate": True, "resourcesReady": True, "fullRolloutFeasible": True}},
        "Step6_Postpone": cutover(20),
        "Step6_ConfirmStage": lambda task: {"stageStable": True},
        "StandIn_SlaReview": lambda task: {"slaReview": {"month": task.variables["reviewMonth"], "met": True,
                                                         "missedIndicators": [], "totalFinesYuan": "0"}},
        "Month_DescribeChange": lambda task: {"problem": "order receipt over 30 min in the north region",
                                              "proposedChange": "check completeness at receipt"},
        "StandIn_ChangeRequest": lambda task: {"newVersion": "V2.1", "changeOutcome": "published"},
        "Step8_Prepare": lambda task: {"problem": "six months of experience",
                                       "proposedChange": "templates revised, scheduling moved earlier"},
        "Step9_Confirm": lambda task: {"lockIns": {
            "behaviour": {"done": True, "evidence": "spot checks clean for 3 months"},
            "performance": {"done": True, "evidence": "KPI in the sales bonus"},
            "it": {"done": True, "evidence": "ERP enforces the completeness check"}}},
    }
