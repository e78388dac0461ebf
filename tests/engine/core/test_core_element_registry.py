"""The element registry (engine/core/elements/registry.py): every element type the parser accepts has
a behaviour, and an element family is added (or replaced) by registering one behaviour class — the
lifecycle calls it at its steps, with the shared behaviours it was constructed with."""

from __future__ import annotations

from typing import Any

from core_helpers import bpmn, chain, deploy

from procgov_engine.core import Engine
from procgov_engine.core.elements.base import ElementBehaviourBase
from procgov_engine.core.elements.registry import JOB_WORKER
from procgov_engine.core.state import ACTIVATED, MI_BODY, ElementInstance
from procgov_engine.model import bpmn as bpmn_model

MANUAL = bpmn(
    '<bpmn:startEvent id="s" /><bpmn:manualTask id="sign" /><bpmn:endEvent id="e" />' + chain("s", "sign", "e"),
    "signing",
)


def test_every_element_type_the_parser_accepts_has_a_behaviour(engine: Engine) -> None:
    registry = engine.processing.elements
    parsed = set(bpmn_model._ELEMENT_TYPES.values()) | {"PROCESS", "EVENT_SUB_PROCESS", MI_BODY, JOB_WORKER}
    assert [t for t in sorted(parsed) if t not in registry] == []


class WaitingManualTask(ElementBehaviourBase):
    """A family added by a test: the task records who reached it and waits (until terminated)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.terminated_keys: list[int] = []

    def activate(self, inst: ElementInstance) -> None:
        self.vars.set_local(inst, "reachedBy", "extension")
        self.lifecycle.transition(inst, ACTIVATED)

    def terminating(self, inst: ElementInstance) -> None:
        self.terminated_keys.append(inst.key)


async def test_a_registered_behaviour_runs_its_element_family(engine: Engine) -> None:
    behaviour = WaitingManualTask(engine.processing.behaviours)
    engine.processing.elements.register("MANUAL_TASK", behaviour)
    await deploy(engine, MANUAL)
    created = await engine.create_process_instance(bpmn_process_id="signing")
    [task] = [i for i in engine.state.instances.values() if i.element.id == "sign"]
    assert task.state == ACTIVATED  # the default manual task would have passed through
    variables = [
        r["value"] for r in engine.query.records() if r["valueType"] == "VARIABLE" and r["value"]["name"] == "reachedBy"
    ]
    assert variables and variables[0]["scopeKey"] == task.key and variables[0]["value"] == '"extension"'
    await engine.cancel_process_instance(created.process_instance_key)
    assert behaviour.terminated_keys == [task.key]
    assert created.process_instance_key not in engine.state.instances
