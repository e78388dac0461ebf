"""``WorkerApp``: wires settings, stores, telemetry, health and the pyzeebe worker for a set of routers.

Lifecycle: ``start()`` migrates the store, opens the gRPC channel, starts the health server and the
pollers; ``stop()`` (on SIGTERM/SIGINT in ``run()``) stops activating jobs, lets in-flight jobs finish
within ``shutdown_grace_s``, then closes everything. ``run()`` returns normally, so the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence

import grpc
import structlog
from opentelemetry.sdk.trace import TracerProvider

from workers.runtime.channel import create_channel
from workers.runtime.health import HealthServer, topology_check
from workers.runtime.jobs import JobObserver
from workers.runtime.metrics import WorkerMetrics
from workers.runtime.policy import RetryPolicy
from workers.runtime.polling import BackoffZeebeWorker
from workers.runtime.router import RuntimeServices, TaskOverride, TaskRouter
from workers.runtime.settings import WorkerSettings
from workers.runtime.stores import DecisionLog, open_engine
from workers.runtime.tracing import create_tracer_provider

log = structlog.get_logger("workers.runtime.app")

__all__ = ["WorkerApp", "build_services", "create_channel"]


def build_services(
    settings: WorkerSettings, *, observer: JobObserver, decision_log: DecisionLog | None
) -> RuntimeServices:
    overrides = {
        job_type: TaskOverride(
            timeout_ms=task.timeout_ms,
            max_running_jobs=task.max_running_jobs,
            max_jobs_to_activate=task.max_jobs_to_activate,
            retries=task.retries,
        )
        for job_type, task in settings.tasks.items()
    }
    return RuntimeServices(
        decision_log=decision_log,
        retry_policy=RetryPolicy(
            base_ms=settings.retry.base_ms, max_ms=settings.retry.max_ms, budget_ms=settings.retry.budget_ms
        ),
        observer=observer,
        overrides=overrides,
        deadline_margin_ms=settings.job_deadline_margin_ms,
    )


class WorkerApp:
    def __init__(
        self,
        settings: WorkerSettings,
        routers: Sequence[TaskRouter],
        *,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.settings = settings
        self.routers = list(routers)
        self.metrics = WorkerMetrics()
        self._own_provider = tracer_provider is None
        self.tracer_provider = tracer_provider or create_tracer_provider(settings.service_name, settings.otlp_endpoint)
        self.channel: grpc.aio.Channel | None = None
        self.worker: BackoffZeebeWorker | None = None
        self.health: HealthServer | None = None
        self._work: asyncio.Task[None] | None = None
        self._stop_requested = asyncio.Event()

    @property
    def health_port(self) -> int | None:
        return self.health.port if self.health else None

    async def start(self) -> None:
        settings = self.settings
        types = [t for router in self.routers for t in router.task_types]
        duplicates = sorted({t for t in types if types.count(t) > 1})
        if duplicates:
            raise ValueError(f"job types registered by more than one router: {', '.join(duplicates)}")
        engine = await asyncio.to_thread(open_engine, settings.store_url)
        observer = JobObserver(self.tracer_provider.get_tracer("procgov.workers"), self.metrics)
        services = build_services(settings, observer=observer, decision_log=DecisionLog(engine))
        self.channel = create_channel(settings)
        worker = BackoffZeebeWorker(
            self.channel,
            name=settings.worker_name,
            request_timeout=settings.request_timeout_ms,
            max_connection_retries=-1,  # survive gateway restarts: never give up on the channel
            poll_retry_delay=1,
        )
        worker.poll_backoff_base_s = settings.retry.base_ms / 1000 / 2
        for router in self.routers:
            worker.include_router(router.to_pyzeebe(services))
        self.worker = worker
        self.health = HealthServer(
            settings.health_host, settings.health_port, topology_check(self.channel), self.metrics.registry
        )
        await self.health.start()
        self._work = asyncio.create_task(worker.work(), name="procgov-worker")
        log.info(
            "worker started",
            gateway=settings.gateway_address,
            job_types=types,
            health_port=self.health.port,
            store=_safe_url(settings.store_url),
        )

    async def stop(self, grace_s: float | None = None) -> None:
        """Stop activating jobs; wait up to ``grace_s`` for in-flight jobs; close everything."""
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        if self.health is not None:
            self.health.stopping = True
        if self.worker is not None:
            in_flight = self.worker.in_flight()
            log.info("stopping: no new jobs", in_flight=in_flight, grace_s=grace)
            try:
                await asyncio.wait_for(self.worker.stop(), timeout=grace)
            except TimeoutError:
                log.warning(
                    "grace period over; abandoning in-flight jobs (they time out and come back)",
                    in_flight=self.worker.in_flight(),
                )
        if self._work is not None:
            if not self._work.done():
                self._work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._work
        if self.health is not None:
            await self.health.stop()
        if self.channel is not None:
            await self.channel.close()
        if self._own_provider:
            await asyncio.to_thread(self.tracer_provider.shutdown)
        log.info("worker stopped")

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or :meth:`request_stop`), then stop gracefully."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        assert self._work is not None
        stop_wait = asyncio.create_task(self._stop_requested.wait())
        done, _ = await asyncio.wait({stop_wait, self._work}, return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        if self._work in done and self._work.exception() is not None:
            await self.stop(grace_s=0)
            raise self._work.exception()  # type: ignore[misc]
        await self.stop()


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)
