"""What the rollout workers need, loaded and validated once at start (bad data stops the start).

Rule data — the organisation directory and the exam catalogue — travel as :class:`RuleSet` so the
recorded decisions carry their version. File locations are rollout settings (``PROCGOV_ROLLOUT_*``)
with the sample data in ``data/rollout/`` as the default; SMTP, chat webhook endpoints
(``PROCGOV_WEBHOOKS__<CHANNEL>__URL``/``__SECRET``, which win over a URL in the directory) and the store
come from the runtime's :class:`~workers.runtime.settings.WorkerSettings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from workers.rollout.exams import ExamCatalogue, catalogue_text
from workers.rollout.grading import GRADE_EXAM
from workers.rollout.notify.mail import SmtpSettings
from workers.rollout.notify.notifier import OnceStore, WebhookEndpoint
from workers.rollout.notify.templates import Templates, parse_templates
from workers.rollout.org_directory import OrgDirectory
from workers.rollout.owner import OWNER_ELIGIBILITY
from workers.rollout.schedule import ScheduleSettings
from workers.runtime.bundled import bundled
from workers.runtime.decisions import RuleSet
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores import IdempotencyStore, open_engine
from workers.runtime.stores.registry import ProcessRegistry

DEFAULT_DATA_DIR = bundled("data", "rollout")


class RolloutSettings(BaseSettings):
    """``PROCGOV_ROLLOUT_DATA_DIR`` (default: the repository's ``data/rollout``), or each file apart."""

    model_config = SettingsConfigDict(env_prefix="PROCGOV_ROLLOUT_", extra="ignore")

    data_dir: Path = DEFAULT_DATA_DIR
    org_directory: Path | None = None  # default: <data_dir>/org-directory.yaml
    exams_dir: Path | None = None  # default: <data_dir>/exams
    templates: Path | None = None  # default: <data_dir>/notifications.yaml
    http_timeout_s: float = Field(default=10.0, gt=0)

    @property
    def org_directory_path(self) -> Path:
        return self.org_directory or self.data_dir / "org-directory.yaml"

    @property
    def exams_path(self) -> Path:
        return self.exams_dir or self.data_dir / "exams"

    @property
    def templates_path(self) -> Path:
        return self.templates or self.data_dir / "notifications.yaml"


@dataclass(frozen=True)
class RolloutDeps:
    directory: RuleSet[OrgDirectory]
    exams: RuleSet[ExamCatalogue]
    templates: Templates
    smtp: SmtpSettings
    store: OnceStore
    webhooks: Mapping[str, WebhookEndpoint] = field(default_factory=dict)
    http_timeout_s: float = 10.0
    demo_mode: bool = False  # PROCGOV_SCHEDULE__DEMO_MODE: durations outside the rules (workers.rollout.schedule)
    registry: ProcessRegistry | None = None  # the process registry (流程清单); None: the rollout.registry tasks fail

    @classmethod
    def from_files(cls, *, org_directory: Path, exams_dir: Path, templates: Path, smtp: SmtpSettings,
                   store: OnceStore, webhooks: Mapping[str, WebhookEndpoint] | None = None,
                   http_timeout_s: float = 10.0, demo_mode: bool = False,
                   registry: ProcessRegistry | None = None) -> RolloutDeps:
        """``registry`` defaults to the one in the idempotency store's database (the workers' store)."""
        return cls(
            directory=RuleSet.from_file(OWNER_ELIGIBILITY, org_directory),
            exams=RuleSet.from_text(GRADE_EXAM, catalogue_text(exams_dir)),
            templates=parse_templates(templates.read_text(encoding="utf-8")),
            smtp=smtp,
            store=store,
            webhooks=dict(webhooks or {}),
            http_timeout_s=http_timeout_s,
            demo_mode=demo_mode,
            registry=registry or (ProcessRegistry(store.engine) if isinstance(store, IdempotencyStore) else None),
        )

    @classmethod
    def from_settings(cls, settings: WorkerSettings, rollout: RolloutSettings | None = None,
                      *, store: OnceStore | None = None) -> RolloutDeps:
        rollout = rollout or RolloutSettings()
        smtp = SmtpSettings(
            host=settings.smtp.host, port=settings.smtp.port, sender=settings.smtp.from_address,
            username=settings.smtp.user,
            password=settings.smtp.password.get_secret_value() if settings.smtp.password else None,
            start_tls=settings.smtp.starttls, timeout_s=settings.smtp.timeout_s,
        )
        return cls.from_files(
            org_directory=rollout.org_directory_path,
            exams_dir=rollout.exams_path,
            templates=rollout.templates_path,
            smtp=smtp,
            store=store or IdempotencyStore(open_engine(settings.store_url)),
            webhooks={name: WebhookEndpoint(hook.url, hook.secret.get_secret_value() if hook.secret else None,
                                            deduplicates=hook.deduplicates)
                      for name, hook in settings.webhooks.items()},
            http_timeout_s=rollout.http_timeout_s,
            demo_mode=ScheduleSettings().demo_mode,
        )
