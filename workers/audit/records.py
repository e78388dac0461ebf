"""Zeebe exporter records as audit reads them.

Every history source (the embedded engine's SQLite log, exporter JSON files, an Elasticsearch or
OpenSearch cluster) yields the same record shape, Zeebe's exporter JSON (docs/contracts.md
"Records"). This module turns one such JSON object into a typed :class:`Record` and says exactly which
field is wrong when it is not one, so that a corrupt line is reported, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RECORD_TYPES = frozenset({"COMMAND", "EVENT", "COMMAND_REJECTION"})


class RecordFormatError(ValueError):
    """A document is not a Zeebe exporter record; the message names the source and the field."""


@dataclass(frozen=True, slots=True)
class Record:
    """One exported record. ``value`` is the value type's own fields, as Zeebe writes them."""

    position: int
    key: int
    timestamp: int  # epoch ms
    record_type: str
    value_type: str
    intent: str
    value: Mapping[str, Any]
    partition_id: int = 1
    source_record_position: int = -1

    @property
    def is_event(self) -> bool:
        return self.record_type == "EVENT"

    @property
    def process_instance_key(self) -> int | None:
        key = self.value.get("processInstanceKey")
        return key if isinstance(key, int) and key > 0 else None


def _int_field(doc: Mapping[str, Any], name: str, where: str, default: int | None = None) -> int:
    raw = doc.get(name, default)
    if isinstance(raw, bool) or not isinstance(raw, int):
        if raw is None:
            raise RecordFormatError(f"{where}: field {name!r} is missing")
        raise RecordFormatError(f"{where}: field {name!r} must be an integer, got {raw!r}")
    return raw


def _str_field(doc: Mapping[str, Any], name: str, where: str) -> str:
    raw = doc.get(name)
    if not isinstance(raw, str) or not raw:
        raise RecordFormatError(f"{where}: field {name!r} must be a non-empty string, got {raw!r}")
    return raw


def parse_record(doc: Any, where: str = "record") -> Record:
    """Validate one exporter document; ``where`` (e.g. ``"file.jsonl line 7"``) prefixes errors."""
    if not isinstance(doc, Mapping):
        raise RecordFormatError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    record_type = _str_field(doc, "recordType", where)
    if record_type not in RECORD_TYPES:
        raise RecordFormatError(
            f"{where}: field 'recordType' must be one of {sorted(RECORD_TYPES)}, got {record_type!r}"
        )
    value = doc.get("value")
    if not isinstance(value, Mapping):
        raise RecordFormatError(f"{where}: field 'value' must be a JSON object, got {value!r}")
    return Record(
        position=_int_field(doc, "position", where),
        key=_int_field(doc, "key", where, default=-1),
        timestamp=_int_field(doc, "timestamp", where),
        record_type=record_type,
        value_type=_str_field(doc, "valueType", where),
        intent=_str_field(doc, "intent", where),
        value=value,
        partition_id=_int_field(doc, "partitionId", where, default=1),
        source_record_position=_int_field(doc, "sourceRecordPosition", where, default=-1),
    )
