"""The USER_TASK commands a client sends: COMPLETE, ASSIGN (and CLAIM: assignment without override), UPDATE
(Camunda docs, "Orchestration Cluster API" → "Complete user task", "Assign user task", "Unassign user task",
"Update user task"). Each starts a transition of the task (engine/core/behaviours/user_tasks.py); the
engine answers the client when the transition ends, or with its denial."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.processing.base import CommandProcessor


class CompleteUserTask(CommandProcessor):
    kind = "complete_user_task"
    value_type = "USER_TASK"
    intent = "COMPLETE"

    def process(self, args: dict[str, Any]) -> None:
        self.b.user_tasks.complete(args["key"], args["variables"], args["action"])


class AssignUserTask(CommandProcessor):
    kind = "assign_user_task"
    value_type = "USER_TASK"
    intent = "ASSIGN"

    def process(self, args: dict[str, Any]) -> None:
        self.b.user_tasks.assign(args["key"], args["assignee"], args["action"], args["allow_override"])


class UpdateUserTask(CommandProcessor):
    kind = "update_user_task"
    value_type = "USER_TASK"
    intent = "UPDATE"

    def process(self, args: dict[str, Any]) -> None:
        self.b.user_tasks.update(args["key"], args["changes"], args["action"])
