"""The audit group's workers: what the process models need from audit at run time.

``audit.file-history`` (the last task of a process): read the instance's history from the records,
replay its recorded decisions and verify the decision chain, and file the history, the verdict and the
HTML report in the audit archive. The process gets ``auditFiling`` back (verdict, findings, files), so
a model can route a failed audit to a person.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.audit.chain import verify_chain
from workers.audit.crosscheck import cross_check
from workers.audit.filing import file_audit, findings_of, verdict_of
from workers.audit.history import InstanceHistory, load_history
from workers.audit.replay import ReplayReport, replay_log
from workers.audit.report import instance_state, render_report
from workers.audit.report_view import DEFAULT_TIMEZONE, zone
from workers.audit.sla import SlaPolicy
from workers.audit.sources import DEFAULT_INDEX_PATTERN, RecordSource, SourceError, open_source
from workers.audit.store import DecisionStore
from workers.runtime import JobContext, TaskRouter, TransientError
from workers.runtime.decisions import Decision
from workers.runtime.reports import ReportStore, configured_store
from workers.runtime.settings import WorkerSettings


class AuditSettings(BaseSettings):
    """``PROCGOV_AUDIT_*``: where the records are and where audit files go.

    Exactly one of ``data_dir`` (the embedded engine's data directory), ``records_file`` or
    ``es_url`` names the record source; the default is the embedded engine's ``var/engine``.
    Audit records are filed in ``archive_dir``, or under ``audit/`` in the shared report store when
    ``PROCGOV_REPORTS_URL`` is set (:mod:`workers.runtime.reports`).
    """

    model_config = SettingsConfigDict(env_prefix="PROCGOV_AUDIT_", env_file=".env", extra="ignore")

    data_dir: Path | None = None
    records_file: Path | None = None
    es_url: str | None = None
    es_index: str = DEFAULT_INDEX_PATTERN
    archive_dir: Path = Path("var/audit")
    sla_policy: Path | None = None  # YAML, see workers.audit.sla.SlaPolicy.from_file
    timezone: str = DEFAULT_TIMEZONE  # the zone the report's times are shown in (with their offset)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)  # an unknown zone stops the worker at start, not every filing job later
        return value

    def source_factory(self) -> Callable[[], RecordSource]:
        """Opens the source per job: a fresh read of the log each time, never a stale snapshot."""
        data_dir, records_file, es_url, es_index = self.data_dir, self.records_file, self.es_url, self.es_index
        if not (data_dir or records_file or es_url):
            data_dir = Path("var/engine")
        return lambda: open_source(data_dir=data_dir, records_file=records_file, es_url=es_url, es_index=es_index)


@dataclass(frozen=True)
class AuditDeps:
    """What the audit workers need. ``registry`` (``{decision.name: Decision}``) comes from the
    composition root, which alone may know every group; without it decisions are chain-checked only."""

    source: Callable[[], RecordSource]
    store_url: str
    archive_dir: Path
    policy: SlaPolicy
    registry: Mapping[str, Decision[Any, Any, Any]] | None = None
    timezone: str = DEFAULT_TIMEZONE
    reports: ReportStore | None = None  # None: a directory store at archive_dir

    @classmethod
    def from_settings(
        cls,
        settings: WorkerSettings,
        audit: AuditSettings | None = None,
        registry: Mapping[str, Decision[Any, Any, Any]] | None = None,
    ) -> AuditDeps:
        audit = audit or AuditSettings()
        policy = SlaPolicy.from_file(audit.sla_policy) if audit.sla_policy else SlaPolicy()
        return cls(
            source=audit.source_factory(),
            store_url=settings.store_url,
            archive_dir=audit.archive_dir,
            policy=policy,
            registry=registry,
            timezone=audit.timezone,
            reports=configured_store("audit", audit.archive_dir),
        )


Deps = AuditDeps  # the name procgov.groups looks up


class FileHistoryRequest(BaseModel):
    """No variables needed: the job itself names the instance."""


class AuditFiling(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    verdict: str  # pass | fail | not-replayed
    decisions: int
    findings: list[str]
    history_file: str = Field(alias="historyFile")
    report_file: str = Field(alias="reportFile")


class FileHistoryResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    audit_filing: AuditFiling = Field(alias="auditFiling")


def _decisions_of(deps: AuditDeps, history: InstanceHistory) -> tuple[ReplayReport | None, list[str]]:
    store = DecisionStore.open(deps.store_url)
    try:
        records = list(store.records())
        head = store.head()
        if deps.registry is not None:
            report = replay_log(records, registry=deps.registry, rule_text=store.rule_text, head=head,
                                process_instance_keys=[history.process_instance_key])
            return report, findings_of(report) + [str(f) for f in cross_check(history, report)]
        problems = verify_chain(records, head)
        return None, [f"chain record {p.seq}: {p.kind}: {p.detail}" for p in problems]
    finally:
        store.dispose()


def file_history(deps: AuditDeps, job: JobContext) -> FileHistoryResult:
    try:
        history = load_history(deps.source(), job.process_instance_key)
    except SourceError as error:
        # The log may lag behind on a remote exporter: let the runtime retry with back-off.
        raise TransientError(str(error)) from error
    replay, findings = _decisions_of(deps, history)
    html = render_report(history, replay=replay, policy=deps.policy, timezone=deps.timezone)
    state = instance_state(history, timezone=deps.timezone)
    paths = file_audit(deps.reports or deps.archive_dir, history, replay, html, state)
    # Without a registry only the chain was checked: a broken chain still fails the audit.
    verdict = "fail" if findings else verdict_of(replay)
    return FileHistoryResult(
        audit_filing=AuditFiling(
            verdict=verdict,
            decisions=len(replay.verdicts) if replay else 0,
            findings=findings,
            history_file=str(paths["json"]),
            report_file=str(paths["html"]),
        )
    )


def build_router(deps: AuditDeps) -> TaskRouter:
    router = TaskRouter(group="audit")

    @router.task("audit.file-history", timeout_ms=120_000, retries=3)
    def file_history_task(request: FileHistoryRequest, job: JobContext) -> FileHistoryResult:
        return file_history(deps, job)

    return router
