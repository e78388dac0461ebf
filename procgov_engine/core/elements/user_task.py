"""User tasks (docs.camunda.io/docs/components/modeler/bpmn/user-tasks/). A job-based one is a job worker
(the registry sends it to engine/core/elements/tasks.py); a Camunda user task (``zeebe:userTask``) is a
USER_TASK entity whose lifecycle engine/core/behaviours/user_tasks.py runs: the element is ACTIVATED once
the task is CREATED, completes when the task is COMPLETED, and cancels the task when it is terminated
(its termination waits for the task's ``canceling`` listeners, ElementLifecycle.termination_waits)."""

from __future__ import annotations

from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.state import ElementInstance


class UserTaskBehaviour(ElementBehaviourBase):
    def activate(self, inst: ElementInstance) -> None:
        if inst.element.user_task is None:  # neither zeebe:userTask nor a job: passes through
            self.lifecycle.activated_and_complete(inst)
            return
        self.b.user_tasks.create(inst)

    def terminating(self, inst: ElementInstance) -> None:
        self.b.user_tasks.cancel(inst)
