"""``procgov incidents``: list the open incidents, retry or resolve one.

* ``list``: the incidents still open, from the engine's records: the embedded engine's log (``--data``),
  an exporter file (``--records``) or the Elasticsearch exporter's indices (``--es``, ``zeebe-record*``)
  of a Camunda cluster. The Zeebe gateway's gRPC protocol has no incident query (Camunda's own search is
  Operate and the Orchestration Cluster REST API, ``POST /v2/incidents/search``), so listing reads the
  same records audit reads; an ES exporter lags the engine by its bulk delay.
* ``retry KEY``: a job incident gets its job's retries back (UpdateJobRetries) and is resolved
  (ResolveIncident), so the job is activated again; an incident without a job is only resolved. The job
  key comes from ``--job-key`` or from the records (any source option of ``list``).
* ``resolve KEY``: ResolveIncident alone, after fixing what the message names (a variable, a mapping).
  Resolving a job incident whose job has no retries left raises it again: use ``retry`` for those.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import typer

from procgov.commands.audit import DataOption, EsIndexOption, EsOption, RecordsOption
from procgov.commands.instances import GatewayOption
from procgov.commands.workers import EXIT_FAILED, EXIT_USAGE, fail, settings_or_exit

app = typer.Typer(name="incidents", help="List open incidents; retry or resolve one (gRPC).", no_args_is_help=True)

NO_JOB = -1  # Zeebe's jobKey of an incident that is not a job's (expression, mapping, condition)
COLUMNS = ("key", "processInstanceKey", "bpmnProcessId", "elementId", "errorType", "jobKey", "errorMessage")


def incident_records(data: Path | None, records: Path | None, es: str | None, es_index: str) -> list[Any]:
    """Every INCIDENT event of the one source given, in log order."""
    from workers.audit.records import RecordFormatError
    from workers.audit.sources import ElasticsearchSource, SourceError, read_record_file

    given = [name for name, value in (("--data", data), ("--records", records), ("--es", es)) if value]
    if len(given) != 1:
        fail(f"name exactly one source of records (--data, --records or --es); got {given or 'none'}", EXIT_USAGE)
    try:
        if es:
            found = ElasticsearchSource(es, index_pattern=es_index).search(
                {"bool": {"filter": [{"term": {"valueType": "INCIDENT"}}, {"term": {"recordType": "EVENT"}}]}}
            )
        elif records:
            found = read_record_file(records)
        else:
            assert data is not None
            found = _log_incidents(data)
    except (SourceError, RecordFormatError, OSError) as error:
        fail(str(error), EXIT_USAGE)
    return [r for r in found if r.value_type == "INCIDENT" and r.record_type == "EVENT"]


def _log_incidents(data: Path) -> list[Any]:
    """INCIDENT events of the embedded engine's ``records.db`` (read-only, docs/contracts.md "Records")."""
    from workers.audit.records import parse_record
    from workers.audit.sources import SourceError

    path = data / "records.db" if data.is_dir() else data
    if not path.is_file():
        raise SourceError(f"no engine log at {path} (expected DATA_DIR/records.db)")
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT position, json FROM records WHERE value_type = 'INCIDENT' AND record_type = 'EVENT' "
            "ORDER BY position"
        ).fetchall()
    return [parse_record(json.loads(text), f"{path} position {position}") for position, text in rows]


def open_incidents(records: list[Any]) -> list[dict[str, Any]]:
    """Incidents CREATED and not (yet) RESOLVED, as the table's rows."""
    by_key: dict[int, dict[str, Any]] = {}
    for record in records:
        if record.intent == "RESOLVED":
            by_key.pop(record.key, None)
        elif record.intent == "CREATED":
            by_key[record.key] = {"key": record.key, **{c: record.value.get(c) for c in COLUMNS[1:]}}
    return list(by_key.values())


@app.command("list")
def list_incidents(
    data: DataOption = None,
    records: RecordsOption = None,
    es: EsOption = None,
    es_index: EsIndexOption = "zeebe-record*",
    instance: Annotated[int | None, typer.Option("--instance", help="Only this process instance's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per incident.")] = False,
) -> None:
    """Print the open incidents: key, instance, process, element, type, job and the message."""
    from rich.console import Console
    from rich.table import Table

    found = open_incidents(incident_records(data, records, es, es_index))
    if instance is not None:
        found = [i for i in found if i["processInstanceKey"] == instance]
    if as_json:
        for incident in found:
            typer.echo(json.dumps(incident, ensure_ascii=False))
        return
    table = Table(*COLUMNS)
    for incident in found:
        table.add_row(*(str(incident[c]) for c in COLUMNS))
    Console().print(table)
    typer.echo(f"{len(found)} open incident(s)")


@app.command("retry")
def retry(
    key: Annotated[int, typer.Argument(help="Incident key (from `procgov incidents list`).")],
    retries: Annotated[int, typer.Option(min=1, help="Retries the job gets back.")] = 1,
    job_key: Annotated[
        int | None, typer.Option("--job-key", help="The incident's job (else read from records).")
    ] = None,
    data: DataOption = None,
    records: RecordsOption = None,
    es: EsOption = None,
    es_index: EsIndexOption = "zeebe-record*",
    gateway: GatewayOption = None,
) -> None:
    """Give the incident's job RETRIES again and resolve the incident, so the job runs again."""
    if job_key is None:
        if not (data or records or es):
            fail("give --job-key, or a source of records (--data, --records or --es) to look it up", EXIT_USAGE)
        match = [i for i in open_incidents(incident_records(data, records, es, es_index)) if i["key"] == key]
        if not match:
            fail(f"no open incident {key} in the records", EXIT_USAGE)
        job_key = int(match[0]["jobKey"] if match[0]["jobKey"] is not None else NO_JOB)
    asyncio.run(_send(gateway, key, job_key if job_key > 0 else None, retries))
    done = f"job {job_key} has {retries} retr{'y' if retries == 1 else 'ies'}; " if job_key > 0 else ""
    typer.echo(f"{done}resolved incident {key}")


@app.command("resolve")
def resolve(
    key: Annotated[int, typer.Argument(help="Incident key (from `procgov incidents list`).")],
    gateway: GatewayOption = None,
) -> None:
    """Resolve incident KEY (after fixing its cause); a job without retries would raise it again."""
    asyncio.run(_send(gateway, key, None, 0))
    typer.echo(f"resolved incident {key}")


async def _send(gateway_address: str | None, incident_key: int, job_key: int | None, retries: int) -> None:
    from pyzeebe.proto import gateway_pb2 as pb
    from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

    from workers.runtime.channel import create_channel
    from workers.runtime.client import describe_gateway_error
    from workers.runtime.settings import WorkerSettings

    settings = settings_or_exit(gateway_address=gateway_address)
    assert isinstance(settings, WorkerSettings)
    channel = create_channel(settings)
    try:
        stub: Any = GatewayStub(channel)
        if job_key is not None:
            await stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job_key, retries=retries), timeout=10)
        await stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident_key), timeout=10)
    except Exception as error:
        fail(describe_gateway_error(error, settings.gateway_address), EXIT_FAILED)
    finally:
        await channel.close()


def register(root: typer.Typer) -> None:
    root.add_typer(app)
