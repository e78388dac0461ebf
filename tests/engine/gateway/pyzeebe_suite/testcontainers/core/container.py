"""Stand-in for testcontainers' ``DockerContainer``: the "container" is a ``procgov engine`` process
(same interpreter, fresh data directory, free loopback port) that answers on the Zeebe gateway port."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
from typing import Any

import grpc


class DockerContainer:
    def __init__(self, image: str) -> None:
        self.image = image  # ignored: the engine stands in for any Zeebe image
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def with_envs(self, **_: str) -> DockerContainer:
        return self

    def with_exposed_ports(self, *_: int) -> DockerContainer:
        return self

    def waiting_for(self, _: Any) -> DockerContainer:
        return self

    def __enter__(self) -> DockerContainer:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        data = tempfile.mkdtemp(prefix="pyzeebe-suite-")
        command = [sys.executable, "-c", "from procgov.cli import main; main()", "engine"]
        self._process = subprocess.Popen([*command, "--port", str(self.port), "--rest-port", "0", "--data", data])
        channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        try:
            grpc.channel_ready_future(channel).result(timeout=30)
        finally:
            channel.close()
        return self

    def __exit__(self, *_: Any) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def get_container_host_ip(self) -> str:
        return "127.0.0.1"

    def get_exposed_port(self, _: int) -> int:
        return self.port
