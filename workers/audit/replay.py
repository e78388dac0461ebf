"""Replay: decide every recorded decision again and compare with what was recorded.

For each decision record the replay takes the recorded inputs and the rule text snapshotted under the
recorded rule version, parses it with the decision's own ``parse_rules``, runs the decision's pure
``evaluate`` and compares the result with the recorded outputs. Together with the hash chain this
answers an auditor's two questions: was the record kept as written, and does the rule it names really
give that answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from workers.audit.chain import EDITED, ChainHead, ChainProblem, verify_chain
from workers.runtime.decisions import Decision, text_version
from workers.runtime.stores.decisions import DecisionRecord

#: Verdicts, worst last. A record gets the worst that applies.
OK = "ok"
MISMATCH = "mismatch"  # replayed outputs differ from the recorded ones
TAMPERED = "tampered"  # the record fails its hash (its content changed after recording)
ERROR = "error"  # cannot be replayed: unknown decision, missing/altered rule snapshot, bad inputs

Registry = Mapping[str, Decision[Any, Any, Any]]


@dataclass(frozen=True)
class Difference:
    """One place where the replayed outputs differ; ``path`` is dotted (``fines.0.amountYuan``)."""

    path: str
    recorded: Any
    replayed: Any

    def __str__(self) -> str:
        return f"{self.path or '<outputs>'}: recorded {_show(self.recorded)}, replayed {_show(self.replayed)}"


_ABSENT = object()


def _show(value: Any) -> str:
    return "<absent>" if value is _ABSENT else json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class DecisionVerdict:
    seq: int
    job_key: int
    process_instance_key: int
    bpmn_process_id: str
    element_id: str
    decision: str
    rule_version: str
    worker_version: str
    recorded_at: str
    status: str
    differences: tuple[Difference, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass(frozen=True)
class ReplayReport:
    verdicts: tuple[DecisionVerdict, ...]
    chain_problems: tuple[ChainProblem, ...]
    records_checked: int  # records whose chain links were verified (the whole log)
    #: (bpmn_process_id, element_id) of every decision task in the log: a completed job at one of these
    #: without a record means a record went missing (see workers.audit.crosscheck).
    decision_elements: frozenset[tuple[str, str]] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.chain_problems and all(v.ok for v in self.verdicts)

    def count(self, status: str) -> int:
        return sum(1 for v in self.verdicts if v.status == status)


def diff_outputs(recorded: Any, replayed: Any, path: str = "") -> list[Difference]:
    """Every leaf where two JSON values differ, in key order (so the report is stable)."""
    if isinstance(recorded, Mapping) and isinstance(replayed, Mapping):
        differences: list[Difference] = []
        for key in sorted(set(recorded) | set(replayed), key=str):
            sub = f"{path}.{key}" if path else str(key)
            differences.extend(diff_outputs(recorded.get(key, _ABSENT), replayed.get(key, _ABSENT), sub))
        return differences
    if isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        differences = []
        for i, (a, b) in enumerate(zip(recorded, replayed, strict=True)):
            differences.extend(diff_outputs(a, b, f"{path}.{i}" if path else str(i)))
        return differences
    if _same_leaf(recorded, replayed):
        return []
    return [Difference(path, recorded, replayed)]


def _same_leaf(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # JSON true is not 1
    if type(a) is not type(b) and not (isinstance(a, int | float) and isinstance(b, int | float)):
        return False
    if isinstance(a, float) or isinstance(b, float):
        return bool(a == b or (math.isnan(a) and math.isnan(b)))
    return bool(a == b)


class Replayer:
    """Replays records against a registry; caches parsed rules per version (one parse per version)."""

    def __init__(self, registry: Registry, rule_text: Callable[[str], str]) -> None:
        self._registry = registry
        self._rule_text = rule_text
        self._rules: dict[tuple[str, str], Any] = {}
        self._rule_errors: dict[tuple[str, str], str] = {}

    def _rules_for(self, decision: Decision[Any, Any, Any], version: str) -> Any:
        slot = (decision.name, version)
        if slot in self._rules:
            return self._rules[slot]
        if slot in self._rule_errors:
            raise LookupError(self._rule_errors[slot])
        try:
            try:
                text = self._rule_text(version)
            except KeyError as exc:
                raise LookupError(f"no rule snapshot for rule version {version}") from exc
            actual = text_version(text)
            if actual != version:
                raise LookupError(f"rule snapshot {version} was altered: its text now hashes to {actual}")
            try:
                rules = decision.parse_rules(text)
            except Exception as exc:  # the decision's own RuleDataError, or any parser failure
                raise LookupError(f"rule snapshot {version} does not parse: {exc}") from exc
        except LookupError as exc:
            self._rule_errors[slot] = str(exc)
            raise
        self._rules[slot] = rules
        return rules

    def replay(self, record: DecisionRecord, *, tampered: bool = False) -> DecisionVerdict:
        notes: list[str] = []
        differences: list[Difference] = []
        status = OK
        decision = self._registry.get(record.decision)
        if decision is None:
            status = ERROR
            notes.append(f"decision {record.decision!r} is not in the registry (known: {sorted(self._registry)})")
        else:
            try:
                rules = self._rules_for(decision, record.rule_version)
                inputs = decision.input_model.model_validate(record.inputs)
                # Both sides are plain JSON values: the store keeps parsed JSON, and mode="json" dumps it.
                replayed = decision.evaluate(inputs, rules).model_dump(mode="json", by_alias=True)
                differences = diff_outputs(record.outputs, replayed)
                if differences:
                    status = MISMATCH
            except LookupError as exc:
                status = ERROR
                notes.append(str(exc))
            except ValidationError as exc:
                status = ERROR
                notes.append(f"recorded inputs do not validate as {decision.input_model.__name__}: {exc}")
            except Exception as exc:  # evaluate must be pure and total; a crash is itself a finding
                status = ERROR
                notes.append(f"evaluate raised {type(exc).__name__}: {exc}")
        if tampered:
            notes.insert(0, "record content does not match its hash")
            if status == OK:
                status = TAMPERED
        return DecisionVerdict(
            seq=record.seq,
            job_key=record.job_key,
            process_instance_key=record.process_instance_key,
            bpmn_process_id=record.bpmn_process_id,
            element_id=record.element_id,
            decision=record.decision,
            rule_version=record.rule_version,
            worker_version=record.worker_version,
            recorded_at=record.recorded_at,
            status=status,
            differences=tuple(differences),
            notes=tuple(notes),
            inputs=record.inputs,
            outputs=record.outputs,
        )


def replay_log(
    records: Iterable[DecisionRecord],
    *,
    registry: Registry,
    rule_text: Callable[[str], str],
    head: ChainHead | None = None,
    process_instance_keys: Iterable[int] | None = None,
) -> ReplayReport:
    """Verify the whole chain and replay the records of the given instances (all when ``None``).

    ``records`` is the whole log in seq order: the chain can only be verified whole, even when only
    one instance's decisions are replayed.
    """
    chain = list(records)
    problems = verify_chain(chain, head)
    edited = {p.seq for p in problems if p.kind == EDITED}
    wanted = None if process_instance_keys is None else set(process_instance_keys)
    replayer = Replayer(registry, rule_text)
    verdicts = tuple(
        replayer.replay(record, tampered=record.seq in edited)
        for record in chain
        if wanted is None or record.process_instance_key in wanted
    )
    return ReplayReport(
        verdicts=verdicts,
        chain_problems=tuple(problems),
        records_checked=len(chain),
        decision_elements=frozenset((r.bpmn_process_id, r.element_id) for r in chain),
    )
