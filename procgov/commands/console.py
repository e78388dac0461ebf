"""``procgov console``: the web console (task inbox, process instances, reports) over the REST API.

* ``procgov console [--rest-url URL] [--host 127.0.0.1] [--port 8090]``: serve it until SIGINT/SIGTERM;
  the address is printed at start (``--port 0``: any free port). Beyond loopback it refuses to start
  unless login is configured (``PROCGOV_CONSOLE_USERS`` or ``PROCGOV_CONSOLE_TOKEN``; see
  :mod:`procgov.console.settings`).
* ``procgov console hash-password``: read a password (twice, not echoed) and print its hash for
  ``PROCGOV_CONSOLE_USERS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from procgov.commands.addresses import check_host, check_port
from procgov.commands.workers import EXIT_USAGE, fail, settings_or_exit

if TYPE_CHECKING:
    from procgov.console.settings import ConsoleSettings
    from workers.runtime.reports import ReportStore
    from workers.runtime.settings import WorkerSettings

app = typer.Typer(name="console", help="The web console: task inbox, process instances, reports (REST API v2).",
                  invoke_without_command=True)


@app.callback()
def console(
    ctx: typer.Context,
    rest_url: Annotated[str | None, typer.Option(
        "--rest-url", help="Orchestration Cluster REST API (default PROCGOV_REST_URL, CAMUNDA_REST_ADDRESS, "
                           "else http://127.0.0.1:8080).")] = None,
    host: Annotated[str | None, typer.Option(
        callback=lambda v: v if v is None else check_host(v),
        help="Address to listen on (default 127.0.0.1; beyond loopback login is required).")] = None,
    port: Annotated[int | None, typer.Option(
        callback=lambda v: v if v is None else check_port(v), help="Port (default 8090; 0: any free port).")] = None,
    store: Annotated[str | None, typer.Option(
        "--store", help="Report store (default PROCGOV_REPORTS_URL, else var/reports).")] = None,
) -> None:
    """Serve the console until SIGINT/SIGTERM."""
    if ctx.invoked_subcommand is not None:
        return
    from procgov.console.settings import ConsoleSettingsError, load_console_settings
    from workers.runtime.reports import DEFAULT_REPORTS_URL, ReportStoreError, ReportStoreSettings, open_report_store
    from workers.runtime.settings import WorkerSettings

    try:
        settings = load_console_settings(host=host, port=port)
        settings.check_exposure()
    except ConsoleSettingsError as error:
        fail(str(error), EXIT_USAGE)
    try:
        reports = open_report_store(store or ReportStoreSettings().url.strip() or DEFAULT_REPORTS_URL)
    except ReportStoreError as error:
        fail(str(error), EXIT_USAGE)
    worker_settings = settings_or_exit(**({"rest_url": rest_url} if rest_url else {}))
    assert isinstance(worker_settings, WorkerSettings)
    asyncio.run(_serve(settings, worker_settings, reports))  # until SIGINT/SIGTERM


async def _serve(settings: ConsoleSettings, worker_settings: WorkerSettings, reports: ReportStore) -> None:
    import uvicorn

    from procgov.console.app import Console, create_console_app
    from procgov.console.rest import ClusterApi, RestError
    from procgov.console.settings import is_loopback

    api = ClusterApi.for_settings(worker_settings)
    console = Console(settings, api, reports)
    family = socket.AF_INET6 if ":" in settings.host.strip("[]") else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((settings.host.strip("[]"), settings.port))
        listener.listen(2048)  # before the address is printed: a client may connect at once
    except OSError as error:
        listener.close()
        fail(f"console: could not listen on {settings.host}:{settings.port}: {error.strerror or error}")
    bound_port = listener.getsockname()[1]
    shown = f"[{settings.host.strip('[]')}]" if family == socket.AF_INET6 else settings.host
    login = "login required" if console.login_required else f"no login (loopback), tasks claimed as {settings.user!r}"
    typer.echo(f"procgov console: http://{shown}:{bound_port}/ · REST API {api.rest_url}/v2 · {login}")
    try:
        await api.topology()
    except RestError as error:  # start anyway: the pages say so until the API answers
        typer.echo(f"procgov console: the REST API does not answer yet: {error}", err=True)
    if not is_loopback(settings.host):
        typer.echo("procgov console: listening beyond loopback over plain HTTP: put a TLS proxy in front", err=True)
    config = uvicorn.Config(create_console_app(console), log_level="warning", access_log=False, lifespan="off")

    class Server(uvicorn.Server):
        """Stopped by our signal handlers, so SIGTERM ends it gracefully with exit 0 (uvicorn's own
        handling re-raises the signal after its shutdown, which kills the process: exit -15)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

        def stop(self) -> None:
            self.should_exit = True

    server = Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    try:
        await server.serve(sockets=[listener])
    finally:
        await api.aclose()
        listener.close()


@app.command("hash-password")
def hash_password(
    user: Annotated[str, typer.Argument(help="The user name the hash is for (printed as a JSON entry).")] = "",
) -> None:
    """Read a password (twice, not echoed) and print its scrypt hash for PROCGOV_CONSOLE_USERS."""
    import json

    from procgov.console.passwords import hash_password as make_hash

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        fail("a console password needs at least 8 characters", EXIT_USAGE)
    encoded = make_hash(password)
    typer.echo(json.dumps({user: encoded}) if user else encoded)
