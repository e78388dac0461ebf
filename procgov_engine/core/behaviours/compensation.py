"""Compensation (docs.camunda.io/docs/components/modeler/bpmn/compensation-events/ and
.../compensation-handler/).

An activity with a compensation boundary event that *completes* is remembered by its flow scope (a
multi-instance activity once, when its body completes; a completed embedded sub-process hands what it
remembered up to its own scope, marked as nested). A compensation intermediate throw or end event then
invokes, all at once, the handlers of the remembered activities of its scope (an event sub-process's throw
compensates the scope around it), or only the handler of its ``activityRef``. Each completed activity is
compensated at most once. The throw event stays ACTIVATED until every invoked handler has completed, then
completes and moves on. Active or terminated activities are never compensated; neither are activities in
called processes (compensation stops at a call activity).

The rules (what is remembered, which handlers a throw invokes, when the throw is done) are applied by
the PROCESS_INSTANCE appliers (engine/core/state/appliers/elements.py); this module reads them; the throw events'
element behaviour (engine/core/elements/events.py) activates the handlers.
Handlers run as children of the compensated scope instance (for nested activities too, since their
sub-process instance has already completed), so they see that scope's variables.
"""

from __future__ import annotations

from procgov_engine.core.state import ACTIVATED, ElementInstance, EngineState
from procgov_engine.core.state.appliers import compensation_choice
from procgov_engine.model.bpmn import Element


class Compensation:
    def __init__(self, state: EngineState) -> None:
        self.instances = state.instances

    @staticmethod
    def take_handlers(inst: ElementInstance) -> tuple[ElementInstance, list[Element]]:
        """A compensation throw/end event ``inst`` was reached: the scope instance to compensate in and the
        handlers to invoke there (its ACTIVATED applier takes them out of what the scope remembered)."""
        target, chosen = compensation_choice(inst)
        handlers = []
        for activity, _ in chosen:
            assert activity.compensation_handler is not None
            handlers.append(activity.compensation_handler)
        return target, handlers

    def handler_completed(self, handler_inst: ElementInstance) -> ElementInstance | None:
        """A compensation handler completed (its COMPLETED applier counted it): its throw event, once all of
        its handlers have (to complete)."""
        throw_inst = self.instances.get(handler_inst.compensation_throw_key)
        if throw_inst is None or throw_inst.state != ACTIVATED:
            return None
        if throw_inst.compensation_pending <= 0:
            return throw_inst
        return None
