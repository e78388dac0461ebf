"""The shape of a command processor: one per command type (value type + intent), like Zeebe's
``TypedRecordProcessor``; the table in engine/core/processing/__init__.py dispatches to them."""

from __future__ import annotations

from typing import Any, ClassVar

from procgov_engine.core.behaviours.bpmn import BpmnBehaviours


class CommandProcessor:
    """Processes one logged command: ``args`` is its payload in the command log (engine/core/log.py),
    ``kind`` its name there. Writes the command record, then its events or its rejection."""

    kind: ClassVar[str]
    value_type: ClassVar[str]
    intent: ClassVar[str]

    def __init__(self, behaviours: BpmnBehaviours) -> None:
        self.b = behaviours
        self.w = behaviours.w
        self.state = behaviours.state
        self.ctx = behaviours.ctx

    def process(self, args: dict[str, Any]) -> Any:
        raise NotImplementedError
