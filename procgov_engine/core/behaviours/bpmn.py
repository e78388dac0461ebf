"""All shared behaviours of one partition, built in dependency order and handed to every element
behaviour and command processor (Zeebe's ``BpmnBehaviors``)."""

from __future__ import annotations

from procgov_engine.core.behaviours.compensation import Compensation
from procgov_engine.core.behaviours.context import EngineHooks, ProcessingContext
from procgov_engine.core.behaviours.decisions import Decisions
from procgov_engine.core.behaviours.due import DueDates
from procgov_engine.core.behaviours.events import EventTriggers
from procgov_engine.core.behaviours.incidents import Incidents
from procgov_engine.core.behaviours.jobs import Jobs
from procgov_engine.core.behaviours.lifecycle import ElementLifecycle, ElementLookup
from procgov_engine.core.behaviours.listeners import ExecutionListeners
from procgov_engine.core.behaviours.subscriptions import EventSubscriptions
from procgov_engine.core.behaviours.user_tasks import UserTasks
from procgov_engine.core.behaviours.variables import Expressions, VariableMappings, Variables
from procgov_engine.core.records import RecordWriter
from procgov_engine.core.state import EngineState
from procgov_engine.core.state.appliers import EventAppliers


class BpmnBehaviours:
    def __init__(
        self,
        writer: RecordWriter,
        state: EngineState,
        hooks: EngineHooks,
        elements: ElementLookup,
        appliers: EventAppliers,
    ) -> None:
        self.ctx = ctx = ProcessingContext(writer, state, hooks, appliers)
        self.w = writer
        self.state = state
        self.due = DueDates(ctx)
        self.vars = Variables(writer, state.variables)
        self.expressions = Expressions(ctx, self.vars)
        self.mappings = VariableMappings(self.vars, self.expressions)
        self.incidents = Incidents(ctx)
        self.jobs = Jobs(ctx, self.expressions, self.incidents, self.due)
        self.listeners = ExecutionListeners(self.jobs, self.expressions, self.vars)
        self.subscriptions = EventSubscriptions(ctx, self.expressions, self.due)
        self.compensation = Compensation(state)
        self.decisions = Decisions(ctx)
        self.lifecycle = ElementLifecycle(
            ctx,
            elements,
            self.vars,
            self.expressions,
            self.mappings,
            self.subscriptions,
            self.jobs,
            self.incidents,
            self.listeners,
            self.compensation,
        )
        self.events = EventTriggers(ctx, elements, self.lifecycle, self.subscriptions)
        self.user_tasks = UserTasks(
            ctx, self.expressions, self.jobs, self.incidents, self.subscriptions, self.lifecycle
        )
        ctx.trigger = self.events.trigger
