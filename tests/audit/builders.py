"""Zeebe-shaped records written by hand, for reader and report tests that must not wait on an engine.

The shapes follow Zeebe's exporter (docs/contracts.md "Records"); the end-to-end tests check the same
readers against records the embedded engine really wrote.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROCESS_ID = "audit-test-grade"
DEFINITION_KEY = 2251799813685249
INSTANCE_KEY = 2251799813685251
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@dataclass
class RecordLog:
    """Appends records with increasing positions and keys, the way a partition's log grows."""

    records: list[dict[str, Any]] = field(default_factory=list)
    next_key: int = INSTANCE_KEY + 1

    def add(self, value_type: str, intent: str, key: int, at: int, value: dict[str, Any],
            record_type: str = "EVENT") -> dict[str, Any]:
        record = {
            "position": len(self.records) + 1,
            "sourceRecordPosition": len(self.records),
            "key": key,
            "timestamp": at,
            "recordType": record_type,
            "valueType": value_type,
            "intent": intent,
            "value": value,
            "partitionId": 1,
            "rejectionType": "NULL_VAL",
            "rejectionReason": "",
            "brokerVersion": "8.8.0",
            "recordVersion": 1,
        }
        self.records.append(record)
        return record

    def new_key(self) -> int:
        self.next_key += 1
        return self.next_key

    def element(self, element_id: str, element_type: str, key: int, intent: str, at: int,
                flow_scope: int = INSTANCE_KEY) -> None:
        self.add("PROCESS_INSTANCE", intent, key, at, {
            "bpmnProcessId": PROCESS_ID, "version": 1, "processDefinitionKey": DEFINITION_KEY,
            "processInstanceKey": INSTANCE_KEY, "elementId": element_id, "flowScopeKey": flow_scope,
            "bpmnElementType": element_type, "bpmnEventType": "UNSPECIFIED", "parentProcessInstanceKey": -1,
            "parentElementInstanceKey": -1, "tenantId": "<default>",
        })

    def visit(self, element_id: str, element_type: str, start: int, end: int) -> int:
        key = self.new_key()
        for intent, at in (("ELEMENT_ACTIVATING", start), ("ELEMENT_ACTIVATED", start),
                           ("ELEMENT_COMPLETING", end), ("ELEMENT_COMPLETED", end)):
            self.element(element_id, element_type, key, intent, at)
        return key

    def flow(self, flow_id: str, at: int) -> None:
        self.element(flow_id, "SEQUENCE_FLOW", self.new_key(), "SEQUENCE_FLOW_TAKEN", at)

    def variable(self, name: str, value: Any, at: int, intent: str = "CREATED") -> None:
        self.add("VARIABLE", intent, self.new_key(), at, {
            "name": name, "value": json.dumps(value), "scopeKey": INSTANCE_KEY, "processInstanceKey": INSTANCE_KEY,
            "processDefinitionKey": DEFINITION_KEY, "bpmnProcessId": PROCESS_ID, "tenantId": "<default>",
        })

    def job(self, job_type: str, element_id: str, element_key: int, intent: str, key: int, at: int, *,
            worker: str = "", retries: int = 3, error: str = "", variables: dict[str, Any] | None = None) -> None:
        self.add("JOB", intent, key, at, {
            "type": job_type, "worker": worker, "retries": retries, "errorMessage": error, "errorCode": "",
            "elementId": element_id, "elementInstanceKey": element_key, "bpmnProcessId": PROCESS_ID,
            "processDefinitionVersion": 1, "processDefinitionKey": DEFINITION_KEY,
            "processInstanceKey": INSTANCE_KEY, "customHeaders": {}, "variables": variables or {},
            "deadline": -1, "retryBackoff": 0, "recurringTime": -1, "tenantId": "<default>",
        })


def certified_late_instance(bpmn_xml: str) -> list[dict[str, Any]]:
    """The test model's instance: graded (one failed attempt, an incident resolved), passed, and
    certified after the one-hour deadline timer fired (an SLA breach)."""
    log = RecordLog()
    minute = 60_000
    resource = base64.b64encode(bpmn_xml.encode()).decode()
    log.add("PROCESS", "CREATED", DEFINITION_KEY, T0 - minute, {
        "bpmnProcessId": PROCESS_ID, "version": 1, "processDefinitionKey": DEFINITION_KEY,
        "resourceName": "audit-grade.bpmn", "checksum": "", "resource": resource, "tenantId": "<default>",
    })
    log.element(PROCESS_ID, "PROCESS", INSTANCE_KEY, "ELEMENT_ACTIVATING", T0, flow_scope=-1)
    log.element(PROCESS_ID, "PROCESS", INSTANCE_KEY, "ELEMENT_ACTIVATED", T0, flow_scope=-1)
    log.variable("employee", "li.lei", T0)
    log.visit("start", "START_EVENT", T0, T0)
    log.flow("flow-start-grade", T0)
    grade_key = log.new_key()
    log.element("grade", "SERVICE_TASK", grade_key, "ELEMENT_ACTIVATING", T0)
    log.element("grade", "SERVICE_TASK", grade_key, "ELEMENT_ACTIVATED", T0)
    grade_job = log.new_key()
    log.job("audit-test.grade", "grade", grade_key, "CREATED", grade_job, T0, retries=1)
    log.job("audit-test.grade", "grade", grade_key, "FAILED", grade_job, T0 + minute, worker="w-1", retries=0,
            error="exam key unreadable")
    incident = log.new_key()
    log.add("INCIDENT", "CREATED", incident, T0 + minute, {
        "errorType": "JOB_NO_RETRIES", "errorMessage": "exam key unreadable", "bpmnProcessId": PROCESS_ID,
        "processDefinitionKey": DEFINITION_KEY, "processInstanceKey": INSTANCE_KEY, "elementId": "grade",
        "elementInstanceKey": grade_key, "jobKey": grade_job, "variableScopeKey": grade_key, "tenantId": "<default>",
    })
    log.job("audit-test.grade", "grade", grade_key, "RETRIES_UPDATED", grade_job, T0 + 5 * minute, worker="w-1",
            retries=1)
    log.add("INCIDENT", "RESOLVED", incident, T0 + 5 * minute, {"processInstanceKey": INSTANCE_KEY,
                                                                 "elementId": "grade"})
    log.job("audit-test.grade", "grade", grade_key, "COMPLETED", grade_job, T0 + 6 * minute, worker="w-2",
            retries=1, variables={"score": 70, "passed": True})
    log.variable("score", 70, T0 + 6 * minute)
    log.variable("passed", True, T0 + 6 * minute)
    for intent in ("ELEMENT_COMPLETING", "ELEMENT_COMPLETED"):
        log.element("grade", "SERVICE_TASK", grade_key, intent, T0 + 6 * minute)
    log.flow("flow-grade-gateway", T0 + 6 * minute)
    log.visit("passed-gateway", "EXCLUSIVE_GATEWAY", T0 + 6 * minute, T0 + 6 * minute)
    log.flow("flow-passed", T0 + 6 * minute)
    certify_key = log.new_key()
    log.element("certify", "SERVICE_TASK", certify_key, "ELEMENT_ACTIVATING", T0 + 6 * minute)
    log.element("certify", "SERVICE_TASK", certify_key, "ELEMENT_ACTIVATED", T0 + 6 * minute)
    timer = log.new_key()
    timer_value = {"elementInstanceKey": certify_key, "processInstanceKey": INSTANCE_KEY,
                   "processDefinitionKey": DEFINITION_KEY, "dueDate": T0 + 66 * minute,
                   "targetElementId": "certify-deadline", "repetitions": 1, "tenantId": "<default>"}
    log.add("TIMER", "CREATED", timer, T0 + 6 * minute, timer_value)
    certify_job = log.new_key()
    log.job("audit-test.certify", "certify", certify_key, "CREATED", certify_job, T0 + 6 * minute, retries=2)
    log.add("TIMER", "TRIGGERED", timer, T0 + 66 * minute, timer_value)
    log.visit("certify-deadline", "BOUNDARY_EVENT", T0 + 66 * minute, T0 + 66 * minute)
    log.flow("flow-deadline-late", T0 + 66 * minute)
    log.visit("late", "END_EVENT", T0 + 66 * minute, T0 + 66 * minute)
    log.variable("lateFineYuan", "20", T0 + 66 * minute)
    log.job("audit-test.certify", "certify", certify_key, "COMPLETED", certify_job, T0 + 80 * minute, worker="w-1",
            retries=2)
    for intent in ("ELEMENT_COMPLETING", "ELEMENT_COMPLETED"):
        log.element("certify", "SERVICE_TASK", certify_key, intent, T0 + 80 * minute)
    log.flow("flow-certify-join", T0 + 80 * minute)
    log.visit("join", "EXCLUSIVE_GATEWAY", T0 + 80 * minute, T0 + 80 * minute)
    log.flow("flow-join-file", T0 + 80 * minute)
    log.visit("file-audit", "SERVICE_TASK", T0 + 80 * minute, T0 + 80 * minute)
    log.flow("flow-file-end", T0 + 80 * minute)
    log.visit("certified", "END_EVENT", T0 + 80 * minute, T0 + 80 * minute)
    for intent in ("ELEMENT_COMPLETING", "ELEMENT_COMPLETED"):
        log.element(PROCESS_ID, "PROCESS", INSTANCE_KEY, intent, T0 + 80 * minute, flow_scope=-1)
    return log.records


def write_engine_log(data_dir: Path, records: list[dict[str, Any]]) -> Path:
    """A records.db in the engine's table shape (docs/contracts.md), in WAL mode like the engine's."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "records.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE records (position INTEGER PRIMARY KEY, value_type TEXT, intent TEXT, record_type TEXT, "
            "key INTEGER, process_instance_key INTEGER, timestamp INTEGER, json TEXT)"
        )
        conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r["position"], r["valueType"], r["intent"], r["recordType"], r["key"],
                 r["value"].get("processInstanceKey"), r["timestamp"], json.dumps(r))
                for r in records
            ],
        )
    return path
