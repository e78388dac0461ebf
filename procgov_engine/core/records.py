"""Builds Zeebe-shaped records and hands them to the log in batches.

Positions increase by one per record; keys use Zeebe's partition encoding ``(1 << 51) + counter`` for
partition 1. Each record is JSON-encoded exactly once, when it is written, and every event is then handed
to the state's appliers (engine/core/state/appliers/): writing an event is what changes the state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from procgov_engine import strict_json
from procgov_engine.core.log import CommandRow, RecordRow

BROKER_VERSION = "8.8.0"
PARTITION_ID = 1
KEY_BASE = PARTITION_ID << 51


def dumps(value: Any) -> str:
    """Compact strict JSON text for a record (see :func:`procgov_engine.strict_json.dumps`)."""
    return strict_json.dumps(value)


class RecordWriter:
    def __init__(self) -> None:
        self.position = 0
        self.key_counter = 0
        self.now = 0
        # every event written goes to the state's appliers (engine/core/state/appliers/), set by the wiring
        self.applier: Callable[[str, str, int, dict[str, Any]], None] = _no_applier
        self.on_command: Callable[[], None] = _nothing  # a command record was written (appliers.command)
        self.source_position = -1
        self.rows: list[RecordRow] = []
        self.command_rows: list[CommandRow] = []

    def next_key(self) -> int:
        self.key_counter += 1
        return KEY_BASE + self.key_counter

    def _append(
        self,
        record_type: str,
        value_type: str,
        intent: str,
        key: int,
        value: dict[str, Any],
        process_instance_key: int,
        rejection_type: str = "NULL_VAL",
        rejection_reason: str = "",
    ) -> int:
        self.position += 1
        position = self.position
        record = {
            "partitionId": PARTITION_ID,
            "position": position,
            "sourceRecordPosition": self.source_position,
            "key": key,
            "timestamp": self.now,
            "recordType": record_type,
            "valueType": value_type,
            "intent": intent,
            "rejectionType": rejection_type,
            "rejectionReason": rejection_reason,
            "brokerVersion": BROKER_VERSION,
            "recordVersion": 1,
            "value": value,
        }
        self.rows.append(
            (position, value_type, intent, record_type, key, process_instance_key, self.now, dumps(record))
        )
        return position

    def command(self, value_type: str, intent: str, key: int, value: dict[str, Any], pik: int = -1) -> int:
        position = self._append("COMMAND", value_type, intent, key, value, pik)
        self.source_position = position
        self.on_command()
        return position

    def event(self, value_type: str, intent: str, key: int, value: dict[str, Any], pik: int = -1) -> int:
        """Write an event and apply it to the state: the value is serialized first, so an applier may keep
        (and later change) the objects it holds."""
        position = self._append("EVENT", value_type, intent, key, value, pik)
        self.applier(value_type, intent, key, value)
        return position

    def rejection(
        self, value_type: str, intent: str, key: int, value: dict[str, Any], rejection_type: str, reason: str
    ) -> int:
        return self._append("COMMAND_REJECTION", value_type, intent, key, value, -1, rejection_type, reason)

    def log_command(self, position: int, kind: str, payload: dict[str, Any]) -> None:
        self.command_rows.append((position, self.now, kind, dumps(payload)))

    def take(self) -> tuple[list[RecordRow], list[CommandRow]]:
        rows, commands = self.rows, self.command_rows
        self.rows, self.command_rows = [], []
        return rows, commands


def _no_applier(value_type: str, intent: str, key: int, value: dict[str, Any]) -> None:
    return None


def _nothing() -> None:
    return None
