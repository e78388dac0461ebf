"""SLA breaches and fines in one instance's history.

Two kinds of breach, because processes state deadlines in two ways:

* a deadline modelled in BPMN: a timer boundary event on an activity that fired (the model itself
  says "this step took too long", e.g. the one-week change-plan deadline of 100104 §2.3.2);
* a step time limit given as configuration (:class:`SlaPolicy`, element id → ISO-8601 duration),
  for limits the sources give per step (domain.md §4 step time limits). The default policy has no
  limits: the sources give none that hold for every process.

Fines are the variables whose name matches ``SlaPolicy.fine_pattern`` (default: names containing
"fine" or "penalt", e.g. ``totalFinesYuan``, ``lateFine``), as they stood last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import isodate
import yaml

from workers.audit.diagram import Diagram
from workers.audit.history import InstanceHistory

DEFAULT_FINE_PATTERN = r"(?i)(fine|penalt)"


class SlaPolicyError(ValueError):
    """An SLA policy file is malformed; the message names the entry."""


@dataclass(frozen=True)
class SlaPolicy:
    limits: Mapping[str, timedelta] = field(default_factory=dict)
    fine_pattern: str = DEFAULT_FINE_PATTERN

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "SLA policy") -> SlaPolicy:
        """``{"limits": {elementId: "PT2H", ...}, "finePattern": "..."}``."""
        unknown = set(data) - {"limits", "finePattern"}
        if unknown:
            raise SlaPolicyError(f"{where}: unknown key(s) {sorted(unknown)}; expected 'limits' and 'finePattern'")
        limits: dict[str, timedelta] = {}
        for element_id, text in (data.get("limits") or {}).items():
            try:
                duration = isodate.parse_duration(str(text))
            except (isodate.ISO8601Error, ValueError) as exc:
                raise SlaPolicyError(f"{where}: limits.{element_id}: {text!r} is not an ISO-8601 duration") from exc
            if not isinstance(duration, timedelta) or duration <= timedelta(0):
                raise SlaPolicyError(f"{where}: limits.{element_id}: {text!r} must be a positive day/time duration")
            limits[str(element_id)] = duration
        pattern = str(data.get("finePattern", DEFAULT_FINE_PATTERN))
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SlaPolicyError(f"{where}: finePattern {pattern!r} is not a regular expression: {exc}") from exc
        return cls(limits=limits, fine_pattern=pattern)

    @classmethod
    def from_file(cls, path: str | Path) -> SlaPolicy:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise SlaPolicyError(f"{path}: expected a mapping with 'limits'")
        return cls.from_mapping(data, str(path))


@dataclass(frozen=True)
class SlaBreach:
    element_id: str
    element_instance_key: int
    reason: str


@dataclass(frozen=True)
class Fine:
    variable: str
    value: Any
    at: int


def find_breaches(history: InstanceHistory, policy: SlaPolicy, diagram: Diagram | None = None) -> list[SlaBreach]:
    breaches: list[SlaBreach] = []
    for visit in history.elements:
        limit = policy.limits.get(visit.element_id)
        if limit is None:
            continue
        end = visit.ended_at
        if end is None:
            continue  # still running: not (yet) a breach we can state from the records
        if visit.duration_ms is not None and visit.duration_ms > limit.total_seconds() * 1000:
            breaches.append(
                SlaBreach(
                    visit.element_id,
                    visit.element_instance_key,
                    f"took {format_duration(visit.duration_ms)}, "
                    f"limit {format_duration(int(limit.total_seconds() * 1000))}",
                )
            )
    if diagram is not None:
        for timer in history.timers:
            shape = diagram.shapes.get(timer.target_element_id)
            if timer.outcome != "TRIGGERED" or shape is None or not shape.attached_to:
                continue
            host = next((v for v in history.elements if v.element_instance_key == timer.element_instance_key), None)
            breaches.append(
                SlaBreach(
                    shape.attached_to,
                    host.element_instance_key if host else timer.element_instance_key,
                    f"deadline timer {shape.name or shape.element_id} fired",
                )
            )
    return breaches


def find_fines(history: InstanceHistory, policy: SlaPolicy) -> list[Fine]:
    pattern = re.compile(policy.fine_pattern)
    last: dict[str, Fine] = {}
    for change in history.variables:
        if pattern.search(change.name):
            last[change.name] = Fine(change.name, change.value, change.at)
    return list(last.values())


def format_duration(ms: int | None) -> str:
    """``1d 2h 3m``, ``4.2s``, ``15ms``: short enough for a diagram label."""
    if ms is None:
        return "running"
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    minutes, _ = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    return " ".join(p for p in parts if p) or "0m"
