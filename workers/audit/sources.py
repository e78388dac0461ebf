"""Where instance histories come from: one reader interface over every place Zeebe records live.

* :class:`SqliteLogSource`: the embedded engine's log, ``DATA_DIR/records.db`` (opened read-only; the
  engine package is never imported, so audit works on a copy of the file as well as on a live log).
* :class:`FileRecordSource`: the documents Zeebe's Elasticsearch/OpenSearch exporter writes, as JSON
  lines (``procgov engine export``), an ES bulk body (action line + document line) or a saved
  ``_search`` response.
* :class:`ElasticsearchSource`: a search cluster by URL, ``_search`` over the exporter's
  ``zeebe-record*`` indices, paged with ``search_after``.

All of them answer the same four questions, in log order (``position``), so the history model never
knows which one it was built from.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from workers.audit.records import Record, RecordFormatError, parse_record

#: The exporter writes one index per value type (``zeebe-record_job_8.x_date``) with an alias per value
#: type (``zeebe-record-job``); this pattern covers both, and ES resolves overlaps to each index once.
DEFAULT_INDEX_PATTERN = "zeebe-record*"
DEFAULT_PAGE_SIZE = 1000


class SourceError(RuntimeError):
    """A history source cannot be read (missing file, unreachable cluster, unknown instance)."""


class RecordSource(Protocol):
    """The reader interface every history source implements."""

    def describe(self) -> str:
        """Where the records come from, for messages and reports."""
        ...

    def instance_records(self, process_instance_key: int) -> list[Record]:
        """Every record whose value carries this ``processInstanceKey``, ordered by position, and the
        ``JOB_BATCH`` records that activated its jobs (they name the instance only inside ``jobs``)."""
        ...

    def child_instance_keys(self, process_instance_key: int) -> list[int]:
        """Keys of the instances this instance's call activities started, in the order they started."""
        ...

    def definition_records(self, process_definition_key: int) -> list[Record]:
        """The PROCESS and DEPLOYMENT records that describe this process definition."""
        ...

    def instance_keys(self) -> list[int]:
        """Keys of every process instance the source knows, in the order they were created."""
        ...


def _is_root_activation(record: Record) -> bool:
    return (
        record.value_type == "PROCESS_INSTANCE"
        and record.intent == "ELEMENT_ACTIVATING"
        and record.is_event
        and record.value.get("bpmnElementType") == "PROCESS"
    )


def _is_child_of(record: Record, parent_key: int) -> bool:
    return _is_root_activation(record) and record.value.get("parentProcessInstanceKey") == parent_key


def _activated_instance_keys(record: Record) -> set[int]:
    """The instances whose jobs a JOB_BATCH record hands out (empty for any other record)."""
    if record.value_type != "JOB_BATCH":
        return set()
    jobs = record.value.get("jobs") or []
    return {j["processInstanceKey"] for j in jobs if isinstance(j, Mapping) and isinstance(
        j.get("processInstanceKey"), int)}


def _describes_definition(record: Record, process_definition_key: int) -> bool:
    if record.value_type == "PROCESS":
        return record.value.get("processDefinitionKey") == process_definition_key
    if record.value_type == "DEPLOYMENT":
        metadata = record.value.get("processesMetadata") or []
        return any(m.get("processDefinitionKey") == process_definition_key for m in metadata if isinstance(m, Mapping))
    return False


class SqliteLogSource:
    """The embedded engine's record log (``records`` table, docs/contracts.md), read-only."""

    def __init__(self, data_dir: str | Path) -> None:
        path = Path(data_dir)
        self.path = path / "records.db" if path.is_dir() else path
        if not self.path.is_file():
            raise SourceError(f"no engine log at {self.path} (expected DATA_DIR/records.db)")

    def describe(self) -> str:
        return f"engine log {self.path}"

    def _connect(self) -> sqlite3.Connection:
        # mode=ro: audit must never write to (or lock) the engine's log while the engine runs.
        return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Record]:
        with self._connect() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [parse_record(json.loads(text), f"{self.path} position {pos}") for pos, text in rows]

    def instance_records(self, process_instance_key: int) -> list[Record]:
        own = self._query(
            "SELECT position, json FROM records WHERE process_instance_key = ? ORDER BY position",
            (process_instance_key,),
        )
        created = [r.position for r in own if r.value_type == "JOB" and r.intent == "CREATED"]
        if not created:
            return own
        # JOB_BATCH rows have no process_instance_key (the log's only index): match them on their jobs'
        # keys, scanning only from the instance's first job on (a rowid range, not the whole log).
        batches = self._query(
            "SELECT position, json FROM records WHERE position > ? AND value_type = 'JOB_BATCH' "
            "AND record_type = 'EVENT' AND EXISTS (SELECT 1 FROM json_each(records.json, '$.value.jobs') AS j "
            "WHERE json_extract(j.value, '$.processInstanceKey') = ?) ORDER BY position",
            (min(created), process_instance_key),
        )
        return sorted([*own, *batches], key=lambda r: r.position)

    def child_instance_keys(self, process_instance_key: int) -> list[int]:
        records = self._query(
            "SELECT position, json FROM records WHERE value_type = 'PROCESS_INSTANCE' "
            "AND intent = 'ELEMENT_ACTIVATING' AND record_type = 'EVENT' AND key = process_instance_key "
            "AND json_extract(json, '$.value.parentProcessInstanceKey') = ? ORDER BY position",
            (process_instance_key,),
        )
        return [r.key for r in records if _is_child_of(r, process_instance_key)]

    def definition_records(self, process_definition_key: int) -> list[Record]:
        records = self._query(
            "SELECT position, json FROM records WHERE value_type IN ('PROCESS', 'DEPLOYMENT') ORDER BY position"
        )
        return [r for r in records if _describes_definition(r, process_definition_key)]

    def instance_keys(self) -> list[int]:
        records = self._query(
            "SELECT position, json FROM records WHERE value_type = 'PROCESS_INSTANCE' "
            "AND intent = 'ELEMENT_ACTIVATING' AND record_type = 'EVENT' AND key = process_instance_key "
            "ORDER BY position"
        )
        return [r.key for r in records if _is_root_activation(r)]


def _documents_from_json(payload: Any, where: str) -> Iterator[tuple[Any, str]]:
    """Exporter documents inside one parsed JSON value: a record, a list of them, or a _search response."""
    if isinstance(payload, list):
        for i, item in enumerate(payload):
            yield item, f"{where} item {i}"
    elif isinstance(payload, Mapping) and "hits" in payload:
        hits = payload["hits"].get("hits") if isinstance(payload["hits"], Mapping) else None
        if not isinstance(hits, list):
            raise RecordFormatError(f"{where}: '_search' response without a hits.hits list")
        for i, hit in enumerate(hits):
            if not isinstance(hit, Mapping) or "_source" not in hit:
                raise RecordFormatError(f"{where}: hits.hits[{i}] has no '_source'")
            yield hit["_source"], f"{where} hit {i}"
    else:
        yield payload, where


def _is_bulk_action(doc: Any) -> bool:
    return (
        isinstance(doc, Mapping)
        and len(doc) == 1
        and next(iter(doc)) in {"index", "create"}
        and isinstance(next(iter(doc.values())), Mapping)
    )


def read_record_file(path: str | Path) -> list[Record]:
    """Parse an exporter file (JSON lines, ES bulk body, JSON array or ``_search`` response)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read record file {path}: {exc}") from exc
    records: list[Record] = []
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = None  # not one JSON document: JSON lines (or an ES bulk body), parsed line by line below
    if payload is not None:
        for doc, where in _documents_from_json(payload, str(path)):
            records.append(parse_record(doc, where))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path} line {number}"
            try:
                doc = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordFormatError(f"{where}: not valid JSON: {exc}") from exc
            if _is_bulk_action(doc):
                continue  # the ES bulk action line; the document follows on the next line
            for item, item_where in _documents_from_json(doc, where):
                records.append(parse_record(item, item_where))
    records.sort(key=lambda r: (r.position, r.partition_id))
    return records


class FileRecordSource:
    """Exporter documents from a file, indexed by instance and by parent instance once on load."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._records = read_record_file(self.path)
        self._by_instance: dict[int, list[Record]] = defaultdict(list)
        self._children: dict[int, list[int]] = defaultdict(list)
        for record in self._records:
            key = record.process_instance_key
            if key is not None:
                self._by_instance[key].append(record)
            for activated in _activated_instance_keys(record):
                self._by_instance[activated].append(record)
            parent = record.value.get("parentProcessInstanceKey")
            if isinstance(parent, int) and _is_child_of(record, parent):
                self._children[parent].append(record.key)

    def describe(self) -> str:
        return f"exporter file {self.path}"

    def instance_records(self, process_instance_key: int) -> list[Record]:
        return list(self._by_instance.get(process_instance_key, ()))

    def definition_records(self, process_definition_key: int) -> list[Record]:
        return [r for r in self._records if _describes_definition(r, process_definition_key)]

    def instance_keys(self) -> list[int]:
        return [r.key for r in self._records if _is_root_activation(r)]

    def child_instance_keys(self, process_instance_key: int) -> list[int]:
        return list(self._children.get(process_instance_key, ()))


class ElasticsearchSource:
    """Exporter documents in Elasticsearch/OpenSearch, read with ``_search`` + ``search_after``."""

    def __init__(
        self,
        url: str,
        *,
        index_pattern: str = DEFAULT_INDEX_PATTERN,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout_s: float = 30.0,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        self.url = url.rstrip("/")
        self.index_pattern = index_pattern
        self.page_size = page_size
        self.timeout_s = timeout_s

    def describe(self) -> str:
        return f"search cluster {self.url}/{self.index_pattern}"

    def _post(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/{self.index_pattern}/_search",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise SourceError(f"{self.describe()}: _search failed with HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"{self.describe()}: cannot reach the cluster: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise SourceError(f"{self.describe()}: _search answered with invalid JSON: {exc}") from exc
        if not isinstance(payload, Mapping):
            raise SourceError(f"{self.describe()}: _search answered with {type(payload).__name__}, not an object")
        return payload

    def search(self, query: Mapping[str, Any]) -> list[Record]:
        """All documents matching ``query``, in log order, page by page."""
        records: list[Record] = []
        search_after: list[Any] | None = None
        page = 0
        while True:
            body: dict[str, Any] = {
                "size": self.page_size,
                "query": query,
                "sort": [{"position": "asc"}, {"partitionId": "asc"}],
            }
            if search_after is not None:
                body["search_after"] = search_after
            payload = self._post(body)
            hits = payload.get("hits", {}).get("hits")
            if not isinstance(hits, list):
                raise SourceError(f"{self.describe()}: _search response has no hits.hits list")
            for i, hit in enumerate(hits):
                records.append(parse_record(hit.get("_source"), f"{self.describe()} page {page} hit {i}"))
            if len(hits) < self.page_size:
                return records
            search_after = hits[-1].get("sort")
            if not isinstance(search_after, list):
                raise SourceError(f"{self.describe()}: hit without 'sort' values; cannot page with search_after")
            page += 1

    @staticmethod
    def _filter(*terms: tuple[str, Any]) -> dict[str, Any]:
        return {"bool": {"filter": [{"term": {field: value}} for field, value in terms]}}

    def instance_records(self, process_instance_key: int) -> list[Record]:
        own = self.search(self._filter(("value.processInstanceKey", process_instance_key)))
        batches = self.search(
            self._filter(("valueType", "JOB_BATCH"), ("value.jobs.processInstanceKey", process_instance_key))
        )
        return sorted([*own, *batches], key=lambda r: (r.position, r.partition_id))

    def child_instance_keys(self, process_instance_key: int) -> list[int]:
        records = self.search(
            self._filter(
                ("valueType", "PROCESS_INSTANCE"),
                ("intent", "ELEMENT_ACTIVATING"),
                ("value.bpmnElementType", "PROCESS"),
                ("value.parentProcessInstanceKey", process_instance_key),
            )
        )
        return [r.key for r in records if _is_child_of(r, process_instance_key)]

    def definition_records(self, process_definition_key: int) -> list[Record]:
        processes = self.search(
            self._filter(("valueType", "PROCESS"), ("value.processDefinitionKey", process_definition_key))
        )
        if processes:
            return processes
        deployments = self.search(
            self._filter(
                ("valueType", "DEPLOYMENT"), ("value.processesMetadata.processDefinitionKey", process_definition_key)
            )
        )
        return [r for r in deployments if _describes_definition(r, process_definition_key)]

    def instance_keys(self) -> list[int]:
        records = self.search(
            self._filter(
                ("valueType", "PROCESS_INSTANCE"),
                ("intent", "ELEMENT_ACTIVATING"),
                ("recordType", "EVENT"),
                ("value.bpmnElementType", "PROCESS"),
            )
        )
        return [r.key for r in records if _is_root_activation(r)]


def open_source(*, data_dir: str | Path | None = None, records_file: str | Path | None = None,
                es_url: str | None = None, es_index: str = DEFAULT_INDEX_PATTERN) -> RecordSource:
    """The one source the caller named (exactly one of the three)."""
    given = [name for name, value in (("--data", data_dir), ("--records", records_file), ("--es", es_url)) if value]
    if len(given) != 1:
        raise SourceError(f"name exactly one history source (--data, --records or --es); got {given or 'none'}")
    if data_dir:
        return SqliteLogSource(data_dir)
    if records_file:
        return FileRecordSource(records_file)
    assert es_url is not None
    return ElasticsearchSource(es_url, index_pattern=es_index)
