"""Hold the decision store and the engine's log against their signed checkpoints.

A checkpoint (workers.runtime.stores.checkpoints) names a chain head and, per instance, the count and
digest of its records at that time. Both stores only ever grow, so now:

* the head record must still be in the chain with the hash signed (else the chain was cut or re-hashed);
* each instance must still have at least that many records, and its first ones must digest the same
  (else its records were deleted, edited and re-hashed, backdated or reordered): this names the instance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.audit.engine_chain import EngineChain, read_engine_chain, summarise
from workers.runtime.stores.checkpoints import (
    DECISIONS,
    ENGINE_LOG,
    Checkpoint,
    InstanceSummary,
    Keyring,
    decision_instance_summaries,
    write_checkpoint,
)
from workers.runtime.stores.decisions import DecisionRecord


@dataclass(frozen=True)
class CheckpointFinding:
    store: str
    checkpoint: str  # file name
    detail: str
    process_instance_key: int | None = None

    def __str__(self) -> str:
        who = f"instance {self.process_instance_key}: " if self.process_instance_key is not None else ""
        return f"{who}{self.store} against checkpoint {self.checkpoint}: {self.detail}"


def _instance_findings(store: str, checkpoint: Checkpoint, now: Mapping[int, Sequence[Any]],
                       summarise_prefix: Callable[[Sequence[Any]], str]) -> list[CheckpointFinding]:
    findings = []
    for key, signed in sorted(checkpoint.instances.items()):
        rows = now.get(key, [])
        if len(rows) < signed.records:
            findings.append(CheckpointFinding(
                store, checkpoint.path.name,
                f"had {signed.records} record(s) when signed, now {len(rows)}: records were deleted", key))
            continue
        current = summarise_prefix(rows[:signed.records])
        if current != signed.digest:
            findings.append(CheckpointFinding(
                store, checkpoint.path.name,
                f"its first {signed.records} record(s) differ from those signed (edited and re-hashed, "
                "backdated or reordered)", key))
    return findings


def _decision_digest(records: Sequence[Any]) -> str:
    summaries = decision_instance_summaries(records)
    (summary,) = summaries.values()
    return summary.digest


def check_decisions(checkpoints: Iterable[Checkpoint], records: Sequence[DecisionRecord]) -> list[CheckpointFinding]:
    by_seq = {r.seq: r for r in records}
    per_instance: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        per_instance[record.process_instance_key].append(record)
    findings: list[CheckpointFinding] = []
    for checkpoint in checkpoints:
        if checkpoint.store != DECISIONS:
            continue
        seq, signed_hash = int(checkpoint.head["seq"]), str(checkpoint.head["hash"])
        head = by_seq.get(seq)
        if seq and head is None:
            last = max(by_seq, default=0)
            findings.append(CheckpointFinding(DECISIONS, checkpoint.path.name,
                                              f"signed head is record {seq}, but the store ends at record {last}: "
                                              "records were deleted (or the log emptied)"))
        elif head is not None and head.hash != signed_hash:
            findings.append(CheckpointFinding(DECISIONS, checkpoint.path.name,
                                              f"record {seq} hashes {head.hash[:12]}…, the signed head says "
                                              f"{signed_hash[:12]}…: the chain was rewritten and re-hashed"))
        findings += _instance_findings(DECISIONS, checkpoint, per_instance, _decision_digest)
    return findings


def _engine_digest(rows: Sequence[Any]) -> str:
    (summary,) = summarise(rows).values()
    return summary.digest


def check_engine_log(checkpoints: Iterable[Checkpoint], chain: EngineChain) -> list[CheckpointFinding]:
    per_instance: dict[int, list[Any]] = defaultdict(list)
    for row in chain.rows:
        key = row[5]
        if isinstance(key, int) and key > 0:
            per_instance[key].append(row)
    findings: list[CheckpointFinding] = []
    for checkpoint in checkpoints:
        if checkpoint.store != ENGINE_LOG:
            continue
        seq, signed_hash = int(checkpoint.head["seq"]), str(checkpoint.head["hash"])
        now = chain.chain.get(seq)
        if seq and now is None:
            findings.append(CheckpointFinding(ENGINE_LOG, checkpoint.path.name,
                                              f"signed head is commit {seq}, but the log's chain ends at commit "
                                              f"{chain.head_seq}: records were deleted (or the log emptied)"))
        elif now is not None and now[1] != signed_hash:
            findings.append(CheckpointFinding(ENGINE_LOG, checkpoint.path.name,
                                              f"commit {seq} hashes {now[1][:12]}…, the signed head says "
                                              f"{signed_hash[:12]}…: the log was rewritten and re-hashed"))
        findings += _instance_findings(ENGINE_LOG, checkpoint, per_instance, _engine_digest)
    return findings


def checkpoint_decisions(directory: str | Path, keyring: Keyring, records: Sequence[DecisionRecord],
                         source: str) -> Path:
    last = records[-1] if records else None
    head = {"seq": last.seq if last else 0, "hash": last.hash if last else "0" * 64}
    return write_checkpoint(directory, keyring, store=DECISIONS, source=source, head=head,
                            instances=decision_instance_summaries(records))


def checkpoint_engine_log(directory: str | Path, keyring: Keyring, data: str | Path) -> tuple[Path, EngineChain]:
    chain = read_engine_chain(data)
    head = {"seq": chain.head_seq, "position": chain.head_position, "hash": chain.head_hash}
    instances: dict[int, InstanceSummary] = chain.instances_upto(chain.head_position)
    path = write_checkpoint(directory, keyring, store=ENGINE_LOG, source=str(data), head=head, instances=instances)
    return path, chain
