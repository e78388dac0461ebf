"""USER_TASK: user tasks, the transition each one is in (with its task listeners' progress), and the
variables a completed task hands to its element."""

from __future__ import annotations

import functools
from typing import Any

from procgov_engine.core.state import ACTIVATED, UserTask, UserTaskTransition
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class UserTaskAppliers(Appliers):
    def appliers(self) -> AppliersTable:
        return {
            ("USER_TASK", "CREATING"): self._user_task_creating,
            ("USER_TASK", "ASSIGNING"): functools.partial(self._user_task_transition, "assigning"),
            ("USER_TASK", "UPDATING"): functools.partial(self._user_task_transition, "updating"),
            ("USER_TASK", "COMPLETING"): functools.partial(self._user_task_transition, "completing"),
            ("USER_TASK", "CORRECTED"): self._user_task_corrected,
            ("USER_TASK", "CREATED"): self._user_task_transition_ended,
            ("USER_TASK", "ASSIGNED"): self._user_task_transition_ended,
            ("USER_TASK", "UPDATED"): self._user_task_transition_ended,
            ("USER_TASK", "ASSIGNMENT_DENIED"): self._user_task_denied,
            ("USER_TASK", "UPDATE_DENIED"): self._user_task_denied,
            ("USER_TASK", "COMPLETION_DENIED"): self._user_task_denied,
            ("USER_TASK", "CANCELING"): self._user_task_canceling,
            ("USER_TASK", "COMPLETED"): self._user_task_gone,
            ("USER_TASK", "CANCELED"): self._user_task_gone,
        }

    # -- USER_TASK -------------------------------------------------------------------------------
    @staticmethod
    def _task_values(value: dict[str, Any]) -> dict[str, Any]:
        return {
            "assignee": value["assignee"],
            "candidateGroupsList": list(value["candidateGroupsList"]),
            "candidateUsersList": list(value["candidateUsersList"]),
            "dueDate": value["dueDate"],
            "followUpDate": value["followUpDate"],
            "priority": value["priority"],
        }

    def _user_task_creating(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        inst = state.instances[value["elementInstanceKey"]]
        values = self._task_values(value)
        task = UserTask(
            key=key,
            element_instance=inst,
            values=values,
            form_key=value["formKey"],
            external_form_reference=value["externalFormReference"],
            custom_headers=value["customHeaders"],
            creation_timestamp=value["creationTimestamp"],
            state="CREATING",
            transition=UserTaskTransition("creating", dict(values), [], value["action"]),
        )
        state.user_tasks[key] = task
        state.user_task_of_instance[inst.key] = key

    def _user_task_transition(self, event: str, key: int, value: dict[str, Any]) -> None:
        task = self.state.user_tasks[key]
        task.state = event.upper()
        task.transition = UserTaskTransition(
            event, self._task_values(value), list(value["changedAttributes"]), value["action"], value["variables"]
        )

    def _user_task_corrected(self, key: int, value: dict[str, Any]) -> None:
        transition = self.state.user_tasks[key].transition
        assert transition is not None
        transition.values = self._task_values(value)
        for name in value["changedAttributes"]:
            if name not in transition.changed:
                transition.changed.append(name)

    def _user_task_transition_ended(self, key: int, value: dict[str, Any]) -> None:
        task = self.state.user_tasks[key]
        task.values = self._task_values(value)
        task.transition = None
        task.state = "CREATED"

    def _user_task_denied(self, key: int, value: dict[str, Any]) -> None:
        task = self.state.user_tasks[key]
        task.transition = None
        task.state = "CREATED"

    def _user_task_canceling(self, key: int, value: dict[str, Any]) -> None:
        """Its element is terminating: the canceling listeners run (the element waits for them)."""
        task = self.state.user_tasks[key]
        task.state = "CANCELING"
        task.transition = UserTaskTransition("canceling", self._task_values(value), [], value["action"])

    def _user_task_gone(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        task = state.user_tasks.pop(key, None)
        if task is None:
            return
        inst = task.element_instance
        state.user_task_of_instance.pop(inst.key, None)
        variables = value["variables"]
        if inst.state == ACTIVATED and task.state == "COMPLETING":  # the element completes with them
            inst.temp_variables = dict(variables) if variables else None
