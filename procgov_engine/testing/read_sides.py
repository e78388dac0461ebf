"""Read sides for :class:`~procgov_engine.testing.external.ExternalEngine`: what a test observes of an engine
that runs elsewhere, shaped like the embedded engine's query views
(:class:`~procgov_engine.testing.assertions.InstanceViews`).

- :class:`RecordFileViews`: folded from a procgov engine's exported records (``records.db``, read-only,
  as audit reads them; docs/contracts.md, Records);
- :class:`RestViews`: Camunda 8.8's REST search (Orchestration Cluster API v2).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from procgov_engine.core.query import (
    ENDED_STATES,
    ElementInstanceView,
    IncidentView,
    ProcessInstanceView,
    fold_incident,
    fold_process_instances,
)

_REST_STATE_TO_INTENT = {"ACTIVE": "ELEMENT_ACTIVATED", "COMPLETED": "ELEMENT_COMPLETED"}
class RecordFileViews:
    """Instance views folded from a procgov engine's exported records (its ``records.db``, read-only).

    Only records after ``after_position`` count, so a test sees the engine as if it were fresh (other
    tests ran on the same engine before). The folds follow the record contract, not engine internals.
    """

    def __init__(self, db_path: Path, after_position: int = 0) -> None:
        self.db_path = db_path
        self.after_position = after_position

    def _select(self, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        if not self.db_path.exists():
            return []
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            sql = f"SELECT json FROM records WHERE position > ? {where} ORDER BY position"
            rows = db.execute(sql, (self.after_position, *params)).fetchall()
        finally:
            db.close()
        return [json.loads(doc) for (doc,) in rows]

    def last_position(self) -> int:
        if not self.db_path.exists():
            return 0
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT MAX(position) FROM records").fetchone()
        finally:
            db.close()
        return int(row[0]) if row and row[0] is not None else 0

    def records(self) -> list[dict[str, Any]]:
        return self._select()

    def _events(self, process_instance_key: int, value_type: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self._select("AND process_instance_key = ? AND value_type = ?", (process_instance_key, value_type))
            if r["recordType"] == "EVENT"
        ]

    def process_instance(self, key: int) -> ProcessInstanceView | None:
        return fold_process_instances(
            r for r in self._events(key, "PROCESS_INSTANCE") if r["key"] == key
        ).get(key)

    def element_instances(self, process_instance_key: int) -> list[ElementInstanceView]:
        views: dict[int, ElementInstanceView] = {}
        for record in self._events(process_instance_key, "PROCESS_INSTANCE"):
            value = record["value"]
            if value["bpmnElementType"] in ("SEQUENCE_FLOW", "PROCESS"):
                continue
            previous = views.get(record["key"])
            views[record["key"]] = ElementInstanceView(
                key=record["key"],
                process_instance_key=process_instance_key,
                element_id=value["elementId"],
                element_type=value["bpmnElementType"],
                state=record["intent"],
                flow_scope_key=value["flowScopeKey"],
                activated_at=previous.activated_at if previous else record["timestamp"],
                ended_at=record["timestamp"] if record["intent"] in ENDED_STATES else None,
            )
        return list(views.values())

    def incidents(self, process_instance_key: int, *, active_only: bool = False) -> list[IncidentView]:
        views: dict[int, IncidentView] = {}
        for record in self._events(process_instance_key, "INCIDENT"):
            views[record["key"]] = fold_incident(views.get(record["key"]), record)
        return [v for v in views.values() if v.state == "ACTIVE" or not active_only]

    def instance_variables(self, process_instance_key: int) -> dict[str, Any]:
        return {
            r["value"]["name"]: json.loads(r["value"]["value"])
            for r in self._events(process_instance_key, "VARIABLE")
            if r["value"]["scopeKey"] == process_instance_key
        }

    def active_root_instances(self) -> list[int]:
        """Root process instances activated after ``after_position`` that have not ended."""
        state: dict[int, bool] = {}
        for r in self._select("AND value_type = 'PROCESS_INSTANCE' AND key = process_instance_key"):
            value = r["value"]
            if r["recordType"] != "EVENT" or value.get("bpmnElementType") != "PROCESS":
                continue
            if value.get("parentProcessInstanceKey", -1) in (-1, None):
                state[r["key"]] = r["intent"] not in ENDED_STATES and state.get(r["key"], True)
        return [key for key, active in state.items() if active]


class RestViews:
    """Instance views from Camunda 8.8's REST API (v2 search endpoints of the Orchestration Cluster API).

    Docs: https://docs.camunda.io/docs/apis-tools/orchestration-cluster-api-rest/specifications/search-element-instances/
    (and search-incidents, search-variables, get-process-instance). Search is served from secondary
    storage, so it lags the engine by the exporter's delay; the waiting assertions poll through that.
    Keys are strings in this API; they are compared as integers here.
    """

    PAGE_LIMIT = 1000

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None  # not (yet) in secondary storage
            raise

    def _search(self, what: str, filter_: dict[str, Any]) -> list[dict[str, Any]]:
        found = self._call("POST", f"/v2/{what}/search", {"filter": filter_, "page": {"limit": self.PAGE_LIMIT}})
        return list(found.get("items", [])) if found else []

    def process_instance(self, key: int) -> ProcessInstanceView | None:
        item = self._call("GET", f"/v2/process-instances/{key}")
        if item is None:
            return None
        return ProcessInstanceView(
            key=key,
            bpmn_process_id=item.get("processDefinitionId", ""),
            version=int(item.get("processDefinitionVersion", 0)),
            process_definition_key=int(item.get("processDefinitionKey", 0)),
            state=str(item.get("state", "")),
            parent_process_instance_key=int(item.get("parentProcessInstanceKey") or -1),
            started_at=0,
            ended_at=None,
        )

    def element_instances(self, process_instance_key: int) -> list[ElementInstanceView]:
        items = self._search("element-instances", {"processInstanceKey": str(process_instance_key)})
        return [
            ElementInstanceView(
                key=int(item["elementInstanceKey"]),
                process_instance_key=process_instance_key,
                element_id=item["elementId"],
                element_type=item.get("type", ""),
                state=_REST_STATE_TO_INTENT.get(item["state"], f"ELEMENT_{item['state']}"),
                flow_scope_key=-1,
                activated_at=0,
                ended_at=None,
            )
            for item in items
            if item.get("type") not in ("PROCESS", "SEQUENCE_FLOW")
        ]

    def incidents(self, process_instance_key: int, *, active_only: bool = False) -> list[IncidentView]:
        filter_: dict[str, Any] = {"processInstanceKey": str(process_instance_key)}
        if active_only:
            filter_["state"] = "ACTIVE"
        return [
            IncidentView(
                key=int(item["incidentKey"]),
                error_type=item.get("errorType", ""),
                error_message=item.get("errorMessage", ""),
                element_id=item.get("elementId", ""),
                element_instance_key=int(item.get("elementInstanceKey") or -1),
                job_key=int(item.get("jobKey") or -1),
                process_instance_key=process_instance_key,
                state=item.get("state", ""),
            )
            for item in self._search("incidents", filter_)
        ]

    def instance_variables(self, process_instance_key: int) -> dict[str, Any]:
        items = self._search(
            "variables", {"processInstanceKey": str(process_instance_key), "scopeKey": str(process_instance_key)}
        )
        return {item["name"]: json.loads(item["value"]) for item in items}

    def active_root_instances(self, started_since: datetime) -> list[int]:
        """Active root instances started at or after ``started_since`` (those of the current test)."""
        filter_ = {"state": "ACTIVE", "startDate": {"$gte": started_since.isoformat()}}
        items = self._search("process-instances", filter_)
        return [int(i["processInstanceKey"]) for i in items if not i.get("parentProcessInstanceKey")]
