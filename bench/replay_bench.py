"""Replay throughput: decisions re-decided per second over a large decision log, and peak memory.

The benchmark writes its own synthetic history: ``--decisions`` (default 100,000) late-fine decisions
(100104 §2.3.4: 20 yuan per day late to the process/rule supervisor, 10 to the department head) into a
fresh SQLite decision store, hash-chained exactly as ``DecisionLog.append`` chains them, over a few
rule versions. It then measures, in the same run:

* baseline: reading the same rows raw (SQLite + ``json.loads`` of inputs and outputs), the floor any
  replay has to pay;
* replay: ``DecisionStore.records()`` + ``replay_log`` (chain verification, rule parsing per version,
  input validation, evaluation, output diff) — what ``procgov audit replay --all`` does;
* history fold: the same number of Zeebe exporter records folded into an instance history, against
  ``json.loads`` of the lines as its baseline.

Peak memory is measured with tracemalloc in a separate, untimed replay (tracemalloc slows allocation).
Target: 100,000 decisions replayed in under 10 s on the CI machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from workers.audit.history import build_history
from workers.audit.records import parse_record
from workers.audit.replay import replay_log
from workers.audit.store import DecisionStore
from workers.runtime.decisions import Decision, canonical_text, text_version
from workers.runtime.errors import RuleDataError
from workers.runtime.stores.db import create_store_engine, migrate
from workers.runtime.stores.decisions import GENESIS_HASH, HASHED_FIELDS, canonical_json, decision_hash
from workers.runtime.stores.tables import decision_chain_head, decision_records, rule_snapshots

TARGET_SECONDS = 10.0
T = TypeVar("T")


# -- the benchmark's decision: late fines of a change request (100104 §2.3.4) ------------------------


class LateInput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    scope: str  # "department" | "cross-department"
    days_late: int = Field(alias="daysLate", ge=0)


class LateOutput(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    supervisor_fine_yuan: str = Field(alias="supervisorFineYuan")
    head_fine_yuan: str = Field(alias="headFineYuan")
    late: bool


@dataclass(frozen=True)
class FineRates:
    supervisor_per_day: Decimal
    head_per_day: Decimal


def parse_rates(text: str) -> dict[str, FineRates]:
    rates: dict[str, FineRates] = {}
    for row, line in enumerate(text.strip().splitlines()[1:], start=2):
        try:
            scope, supervisor, head = line.split(",")
            rates[scope] = FineRates(Decimal(supervisor), Decimal(head))
        except ValueError as exc:
            raise RuleDataError(f"expected scope,supervisor_per_day,head_per_day: {line!r}", row=row) from exc
    return rates


def late_fines(request: LateInput, rates: dict[str, FineRates]) -> LateOutput:
    rate = rates[request.scope]
    return LateOutput(
        supervisor_fine_yuan=str(rate.supervisor_per_day * request.days_late),
        head_fine_yuan=str(rate.head_per_day * request.days_late),
        late=request.days_late > 0,
    )


LATE_FINES: Decision[LateInput, dict[str, FineRates], LateOutput] = Decision(
    name="bench.late-fines",
    input_model=LateInput,
    output_model=LateOutput,
    parse_rules=parse_rates,
    evaluate=late_fines,
)
RULE_TEXTS = [  # 100104 §2.3.4 rates, plus two later revisions so replay switches versions
    "scope,supervisor_per_day,head_per_day\ndepartment,20,10\ncross-department,20,10\n",
    "scope,supervisor_per_day,head_per_day\ndepartment,20,10\ncross-department,25,10\n",
    "scope,supervisor_per_day,head_per_day\ndepartment,30,15\ncross-department,30,15\n",
]


# -- synthetic history ----------------------------------------------------------------------------


def write_decision_log(url: str, count: int, seed: int = 7) -> None:
    """``count`` hash-chained records, as DecisionLog.append would write them, in one transaction."""
    rng = random.Random(seed)
    engine = create_store_engine(url)
    migrate(engine)
    versions = [(text_version(t), canonical_text(t)) for t in RULE_TEXTS]
    parsed = [parse_rates(t) for _, t in versions]
    prev = GENESIS_HASH
    rows: list[dict[str, Any]] = []
    for seq in range(1, count + 1):
        which = min(len(versions) - 1, (seq * len(versions)) // (count + 1))
        request = LateInput(scope=rng.choice(["department", "cross-department"]), days_late=rng.randint(0, 12))
        fields: dict[str, Any] = {
            "seq": seq,
            "recorded_at": f"2026-01-01T00:00:{seq % 60:02d}.000000Z",
            "job_key": 2251799813685248 + seq,
            "process_instance_key": 4503599627370496 + seq // 3,
            "bpmn_process_id": "procgov-change-request",
            "element_id": "calculate-late-fines",
            "decision": LATE_FINES.name,
            "rule_version": versions[which][0],
            "worker_version": "bench",
            "inputs": json.loads(canonical_json(request.model_dump(mode="json", by_alias=True))),
            "outputs": json.loads(
                canonical_json(late_fines(request, parsed[which]).model_dump(mode="json", by_alias=True))
            ),
        }
        digest = decision_hash(prev, fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    with engine.begin() as conn:
        conn.execute(
            sa.insert(rule_snapshots), [{"version": v, "decision": LATE_FINES.name, "text": t} for v, t in versions]
        )
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(decision_records), rows[start : start + 5000])
        conn.execute(sa.update(decision_chain_head).where(decision_chain_head.c.id == 1).values(seq=count, hash=prev))
    engine.dispose()


def write_exporter_records(path: Path, count: int) -> int:
    """``count`` exporter records of one long-running instance (jobs, variables, elements)."""
    key = 2251799813685251
    lines = []
    position = 0

    def add(value_type: str, intent: str, record_key: int, value: dict[str, Any]) -> None:
        nonlocal position
        position += 1
        lines.append(
            json.dumps(
                {
                    "position": position,
                    "sourceRecordPosition": position - 1,
                    "key": record_key,
                    "timestamp": 1_767_225_600_000 + position,
                    "recordType": "EVENT",
                    "valueType": value_type,
                    "intent": intent,
                    "partitionId": 1,
                    "value": {"processInstanceKey": key, **value},
                }
            )
        )

    base = {"bpmnProcessId": "procgov-sla-review", "version": 1, "processDefinitionKey": 1, "flowScopeKey": -1}
    add(
        "PROCESS_INSTANCE",
        "ELEMENT_ACTIVATING",
        key,
        {**base, "elementId": "procgov-sla-review", "bpmnElementType": "PROCESS"},
    )
    n = 0
    while position < count:
        n += 1
        element = key + 10 * n
        task = {**base, "elementId": f"check-{n % 40}", "bpmnElementType": "SERVICE_TASK", "flowScopeKey": key}
        add("PROCESS_INSTANCE", "ELEMENT_ACTIVATING", element, task)
        add(
            "JOB",
            "CREATED",
            element + 1,
            {
                "type": "slm.check-kpi",
                "elementId": task["elementId"],
                "elementInstanceKey": element,
                "retries": 3,
                "worker": "",
            },
        )
        add(
            "JOB",
            "COMPLETED",
            element + 1,
            {
                "type": "slm.check-kpi",
                "elementId": task["elementId"],
                "elementInstanceKey": element,
                "retries": 3,
                "worker": "bench",
                "variables": {"met": n % 7 != 0},
            },
        )
        add(
            "VARIABLE",
            "CREATED" if n < 40 else "UPDATED",
            element + 2,
            {"name": f"kpi{n % 40}", "value": json.dumps({"met": n % 7 != 0, "value": n}), "scopeKey": key},
        )
        add("PROCESS_INSTANCE", "ELEMENT_COMPLETED", element, task)
    path.write_text("\n".join(lines) + "\n")
    return position


# -- measurement ----------------------------------------------------------------------------------


def timed(action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def raw_read(db: Path) -> int:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(HASHED_FIELDS)}, prev_hash, hash FROM decision_records ORDER BY seq"
        ).fetchall()
    return sum(1 for row in rows if json.loads(row[9]) is not None and json.loads(row[10]) is not None)


def replay_all(url: str) -> tuple[int, bool]:
    store = DecisionStore.open(url)
    try:
        report = replay_log(
            store.records(), registry={LATE_FINES.name: LATE_FINES}, rule_text=store.rule_text, head=store.head()
        )
    finally:
        store.dispose()
    return len(report.verdicts), report.ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench replay", description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000, help="decision records to replay")
    parser.add_argument("--records", type=int, default=100_000, help="exporter records to fold into a history")
    args = parser.parse_args(argv or [])

    with tempfile.TemporaryDirectory(prefix="procgov-replay-bench-") as tmp:
        db = Path(tmp) / "store.db"
        url = f"sqlite:///{db}"
        _, generate_s = timed(lambda: write_decision_log(url, args.decisions))
        print(f"generated {args.decisions} hash-chained decision records in {generate_s:.1f} s")

        raw_count, raw_s = timed(lambda: raw_read(db))
        (replayed, ok), replay_s = timed(lambda: replay_all(url))
        if not ok or replayed != args.decisions or raw_count != args.decisions:
            print(f"FAILED: replay ok={ok}, replayed {replayed}, raw read {raw_count} of {args.decisions}")
            return 1
        tracemalloc.start()
        replay_all(url)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        print(f"baseline raw read+parse: {raw_count / raw_s:12,.0f} records/s ({raw_s:.2f} s)")
        print(f"replay (chain+decide):   {replayed / replay_s:12,.0f} decisions/s ({replay_s:.2f} s)")
        print(f"replay / baseline time:  {replay_s / raw_s:12.1f} ×")
        print(f"peak traced memory:      {peak / 2**20:12.1f} MiB")
        verdict = "meets" if replay_s < TARGET_SECONDS * args.decisions / 100_000 else "MISSES"
        print(f"target {TARGET_SECONDS:.0f} s per 100,000 decisions: {verdict} ({replay_s:.2f} s)")

        jsonl = Path(tmp) / "records.jsonl"
        count = write_exporter_records(jsonl, args.records)
        text = jsonl.read_text()
        _, parse_s = timed(lambda: [json.loads(line) for line in text.splitlines()])

        def fold() -> int:
            records = [parse_record(json.loads(line)) for line in text.splitlines()]
            return len(build_history(records, 2251799813685251).elements)

        elements, fold_s = timed(fold)
        print(f"history baseline json:   {count / parse_s:12,.0f} records/s ({parse_s:.2f} s)")
        print(f"history fold:            {count / fold_s:12,.0f} records/s ({fold_s:.2f} s, {elements} elements)")
        print(f"fold / baseline time:    {fold_s / parse_s:12.1f} ×")
        return 0 if verdict == "meets" else 1


if __name__ == "__main__":
    raise SystemExit(main())
