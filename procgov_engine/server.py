"""The embedded engine as a standalone Zeebe-compatible broker: engine + gRPC gateway on one event loop.

``serve`` is the building block (the test API and the benchmark use it); ``run`` is the blocking entry
point behind ``procgov engine`` and ``python -m procgov_engine.server``. Loopback only by default: the gateway has
no authentication, like a local Zeebe started for development.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from procgov_engine.clock import Clock, PinnableClock
from procgov_engine.core import Engine
from procgov_engine.core.snapshot import SNAPSHOT_EVERY_COMMANDS
from procgov_engine.gateway import Gateway
from procgov_engine.rest import DEFAULT_REST_PORT, RestServer

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 26500

GC_GEN0_THRESHOLD = 20_000
"""Allocations between young-generation collections in the standalone engine (CPython's default: 700).

Every command allocates many short-lived objects (protobuf messages, records, futures), so the
default collects hundreds of times a second; under load that was ~4 % of the loop thread and raising
the threshold gave 6-7 % more jobs/s (bench/README.md, "GC")."""


def tune_gc() -> None:
    """Collect less often, and never again walk what exists after start-up (modules, deployed models):
    ``gc.freeze`` moves it to the permanent generation. For the engine's own process only."""
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


@dataclass
class RunningServer:
    """An open engine and the gateway serving it."""

    engine: Engine
    gateway: Gateway
    rest: RestServer | None = None

    @property
    def address(self) -> str:
        return self.gateway.address

    @property
    def port(self) -> int:
        return self.gateway.port

    async def stop(self, grace_s: float = 2.0) -> None:
        """Stop taking requests, let in-flight ones finish, then close the engine (its log is durable)."""
        try:
            if self.rest is not None:
                await self.rest.stop()
            await self.gateway.stop(grace_s)
        finally:
            await self.engine.close()


async def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    data_dir: str | Path = "var/engine",
    clock: Clock | None = None,
    snapshot_every: int = SNAPSHOT_EVERY_COMMANDS,
    rest_port: int | None = None,
) -> RunningServer:
    """Open the engine on ``data_dir`` and serve the gateway protocol on ``host:port`` (0: a free port),
    and Camunda's REST API on ``host:rest_port`` when ``rest_port`` is given (0: a free port).

    Without a ``clock`` the engine runs on a :class:`PinnableClock`: system time until a REST client pins
    it (``PUT /v2/clock``)."""
    gateway = Gateway(host, port)  # bind first: the engine reports the port in its topology
    rest = RestServer(host, rest_port) if rest_port is not None else None
    engine = await Engine.open(
        Path(data_dir), clock=clock or PinnableClock(), broker_port=gateway.port, snapshot_every=snapshot_every
    )

    def report_not_serving(reason: BaseException | None = None) -> None:
        gateway.report_not_serving(reason)
        if rest is not None:
            rest.report_not_serving(reason)

    engine.on_log_failure = report_not_serving
    try:
        await gateway.start(engine)
        if rest is not None:
            await rest.start(engine)
    except BaseException:
        await gateway.stop(0)
        await engine.close()
        raise
    log.info("procgov engine serving the Zeebe gateway protocol on %s (data %s)", gateway.address, data_dir)
    if rest is not None:
        log.info("procgov engine serving the Orchestration Cluster REST API on %s/v2", rest.address)
    return RunningServer(engine=engine, gateway=gateway, rest=rest)


async def serve_until_signalled(
    host: str,
    port: int,
    data_dir: str | Path,
    snapshot_every: int = SNAPSHOT_EVERY_COMMANDS,
    rest_port: int | None = DEFAULT_REST_PORT,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop gracefully."""
    running = await serve(host, port, data_dir, snapshot_every=snapshot_every, rest_port=rest_port)
    print(f"procgov engine: Zeebe gateway gRPC on {running.address}", flush=True)
    if running.rest is not None:
        print(f"procgov engine: Orchestration Cluster REST API on {running.rest.address}/v2", flush=True)
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("stopping the procgov engine on %s", running.address)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await running.stop()


def run(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    data_dir: str | Path = "var/engine",
    snapshot_every: int = SNAPSHOT_EVERY_COMMANDS,
    rest_port: int | None = DEFAULT_REST_PORT,
) -> None:
    """Blocking runner: serve until SIGTERM/SIGINT (``rest_port`` None: gRPC only)."""
    asyncio.run(serve_until_signalled(host, port, data_dir, snapshot_every, rest_port))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m procgov_engine.server", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--rest-port", type=int, default=DEFAULT_REST_PORT, help="Camunda REST API port (default 8080)")
    parser.add_argument("--data", default="var/engine", help="data directory (record log)")
    parser.add_argument(
        "--snapshot-every",
        type=int,
        default=SNAPSHOT_EVERY_COMMANDS,
        help=f"commands between state snapshots, which shorten start-up (0: none; default {SNAPSHOT_EVERY_COMMANDS})",
    )
    args = parser.parse_args(argv)
    if args.snapshot_every < 0:
        parser.error("--snapshot-every must be 0 (no snapshots) or a positive number of commands")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run(args.host, args.port, args.data, args.snapshot_every, args.rest_port)


if __name__ == "__main__":
    main()
