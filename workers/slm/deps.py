"""What the slm workers need, loaded and validated once at start (bad rule data stops the start).

File locations and the KPI database are slm settings (``PROCGOV_SLM_*``) with the sample data in
``data/slm/`` as the default; SMTP and the store come from the runtime's
:class:`~workers.runtime.settings.WorkerSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.runtime.bundled import bundled
from workers.runtime.context import JobContext
from workers.runtime.decisions import RuleSet
from workers.runtime.reports import DirectoryStore, ReportStore, configured_store
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores import IdempotencyStore, open_engine
from workers.slm.business_calendar import DEFAULT_TIMEZONE, BeyondOfficial, BusinessCalendar
from workers.slm.calendar_overrides import load_calendar_overrides
from workers.slm.directory import Directory, parse_directory
from workers.slm.indicators import KPI_CHECK, IndicatorDictionary
from workers.slm.kpi_sources import EngineHistorySource, SqlKpiSource
from workers.slm.mail import Mailer, OnceStore, SmtpTarget
from workers.slm.penalties import PENALTY_CALCULATION
from workers.slm.penalty_rules import PenaltyRules
from workers.slm.store import SlmStore

DEFAULT_DATA_DIR = bundled("data", "slm")
DEFAULT_OVERDUE_REMINDERS = 7
#: days a self-check has at least after its review opened (100104 gives none: one week, as §2.3.2 gives a plan)
DEFAULT_REVIEW_MIN_WINDOW_DAYS = 7


class SlmSettings(BaseSettings):
    """``PROCGOV_SLM_DATA_DIR`` (default: the repository's ``data/slm``) or each file apart, the KPI
    database URL, the engine's record log for cycle-time indicators, where reports go, the time zone; the
    business calendar's override file and what to do beyond official data; how many overdue reminders."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_SLM_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    penalty_rules: Path | None = None  # default <data_dir>/penalty-rules.yaml
    indicators: Path | None = None  # default <data_dir>/indicators.yaml
    directory: Path | None = None  # default <data_dir>/departments.yaml
    kpi_url: str = "sqlite:///var/kpi.db"  # PostgreSQL: postgresql+psycopg://user@host/db
    engine_records: Path | None = None  # the engine's records.db (embedded engine); None: no cycle-time data
    report_dir: Path = Path("var/reports")
    timezone: str = Field(default=DEFAULT_TIMEZONE, min_length=1)
    calendar_overrides: Path | None = None  # default <data_dir>/calendar-overrides.yaml
    calendar_beyond_official: BeyondOfficial = BeyondOfficial.ESTIMATE
    # daily reminders per overdue deadline (100104 gives no number): the first at the deadline, then daily
    overdue_reminders: int = Field(default=DEFAULT_OVERDUE_REMINDERS, ge=1, le=366)
    # a review opened late (after the 8th with the default) moves its §2.1.1/§2.1.2 deadlines: see deadlines.py
    review_min_window_days: int = Field(default=DEFAULT_REVIEW_MIN_WINDOW_DAYS, ge=1, le=14)

    def business_calendar(self) -> BusinessCalendar:
        """The layered calendar: official data, this override file, then estimate or fail."""
        path = self.calendar_overrides or self.data_dir / "calendar-overrides.yaml"
        return BusinessCalendar(load_calendar_overrides(path), self.calendar_beyond_official)


@dataclass
class SlmDeps:
    penalties: RuleSet[PenaltyRules]
    indicators: RuleSet[IndicatorDictionary]
    directory: Directory
    store: SlmStore
    mailer: Mailer
    kpi_source: SqlKpiSource
    engine_history: EngineHistorySource | None
    report_dir: Path
    timezone: str = DEFAULT_TIMEZONE
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    overdue_reminders: int = DEFAULT_OVERDUE_REMINDERS
    review_min_window_days: int = DEFAULT_REVIEW_MIN_WINDOW_DAYS
    reports: ReportStore | None = None  # None: a directory store at report_dir

    @property
    def report_store(self) -> ReportStore:
        """Where reports go: the shared store (PROCGOV_REPORTS_URL, under sla-review/) or report_dir."""
        return self.reports or DirectoryStore(self.report_dir)

    @classmethod
    def from_files(cls, *, penalty_rules: Path, indicators: Path, directory: Path, store: SlmStore,
                   once: OnceStore, smtp: SmtpTarget, kpi_url: str, engine_records: Path | None,
                   report_dir: Path, timezone: str = DEFAULT_TIMEZONE, calendar: BusinessCalendar | None = None,
                   overdue_reminders: int = DEFAULT_OVERDUE_REMINDERS,
                   review_min_window_days: int = DEFAULT_REVIEW_MIN_WINDOW_DAYS) -> SlmDeps:
        people = parse_directory(directory.read_text(encoding="utf-8"))
        return cls(
            penalties=RuleSet.from_file(PENALTY_CALCULATION, penalty_rules),
            indicators=RuleSet.from_file(KPI_CHECK, indicators),
            directory=people, store=store, mailer=Mailer(smtp, once, people), kpi_source=SqlKpiSource(kpi_url),
            engine_history=EngineHistorySource(engine_records, timezone) if engine_records else None,
            report_dir=report_dir, timezone=timezone, calendar=calendar or BusinessCalendar(),
            overdue_reminders=overdue_reminders, review_min_window_days=review_min_window_days,
        )

    @classmethod
    def from_settings(cls, settings: WorkerSettings, slm: SlmSettings | None = None) -> SlmDeps:
        slm = slm or SlmSettings()
        engine = open_engine(settings.store_url)
        smtp = SmtpTarget(host=settings.smtp.host, port=settings.smtp.port, sender=settings.smtp.from_address,
                          username=settings.smtp.user,
                          password=settings.smtp.password.get_secret_value() if settings.smtp.password else None,
                          start_tls=settings.smtp.starttls, timeout_s=settings.smtp.timeout_s)
        deps = cls.from_files(
            penalty_rules=slm.penalty_rules or slm.data_dir / "penalty-rules.yaml",
            indicators=slm.indicators or slm.data_dir / "indicators.yaml",
            directory=slm.directory or slm.data_dir / "departments.yaml",
            store=SlmStore(engine), once=IdempotencyStore(engine), smtp=smtp, kpi_url=slm.kpi_url,
            engine_records=slm.engine_records, report_dir=slm.report_dir, timezone=slm.timezone,
            calendar=slm.business_calendar(),
            overdue_reminders=slm.overdue_reminders, review_min_window_days=slm.review_min_window_days,
        )
        deps.reports = configured_store("sla-review", slm.report_dir)
        return deps


def engine_now(job: JobContext) -> datetime:
    """The engine's clock when it activated ``job`` (:attr:`JobContext.activated_at`).

    Deadlines are counted on the engine's clock, not the worker's (a test engine's clock is controlled;
    a production broker's may differ from the worker host's). The runtime derives ``activated_at`` from
    the job's deadline and the timeout it actually requested, so a ``PROCGOV_TASKS__<type>__TIMEOUT_MS``
    override does not shift "today".
    """
    return job.activated_at
