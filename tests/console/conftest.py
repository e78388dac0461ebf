"""A real ``procgov engine`` process and real ``procgov console`` processes in front of it, both on free
loopback ports, for the console's tests (the console reaches the engine only over the REST API)."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

PROCGOV = Path(sys.executable).with_name("procgov")
RESOURCES = Path(__file__).resolve().parent / "resources"
START_TIMEOUT_S = 60


@dataclass
class Running:
    process: subprocess.Popen[str]
    url: str
    output: list[str]  # every line it printed so far (stdout and stderr), for the no-secrets checks

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return "".join(self.output)


def start(args: list[str], marker: str, env: dict[str, str] | None = None) -> Running:
    """Start ``procgov ARGS`` and wait for the line containing ``marker``; its last word is the URL."""
    process = subprocess.Popen([str(PROCGOV), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, **(env or {})})
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            process.kill()
            raise AssertionError(f"procgov {args[0]} printed no {marker!r} in {START_TIMEOUT_S}s: {output}") from None
        if line is None:
            raise AssertionError(f"procgov {args[0]} exited {process.wait()}: {''.join(output)}")
        if marker in line:
            url = next((word for word in line.split() if word.startswith("http://")), "")
            return Running(process, url.rstrip("/"), output)


@pytest.fixture(scope="module")
def engine_rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``procgov engine`` process; yields its REST address (without /v2)."""
    data = tmp_path_factory.mktemp("engine")
    running = start(["engine", "--port", "0", "--rest-port", "0", "--data", str(data)], "REST API on")
    try:
        yield running.url.removesuffix("/v2")
    finally:
        running.stop()


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def console_url(engine_rest: str, reports_dir: Path) -> Iterator[str]:
    """A loopback ``procgov console`` (no login) in front of the engine; tasks are claimed as ``alice``."""
    running = start(["console", "--rest-url", engine_rest, "--port", "0", "--store", str(reports_dir)],
                    "procgov console:", env={"PROCGOV_CONSOLE_USER": "alice"})
    try:
        yield running.url
    finally:
        running.stop()


@pytest.fixture(scope="module")
def rest(engine_rest: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{engine_rest}/v2", timeout=30) as client:
        yield client


def deploy(rest: httpx.Client, *names: str) -> dict[str, Any]:
    files = [("resources", (name, (RESOURCES / name).read_bytes())) for name in names]
    response = rest.post("/deployments", files=files)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def create_instance(rest: httpx.Client, process_id: str, variables: dict[str, Any] | None = None) -> str:
    response = rest.post("/process-instances", json={"processDefinitionId": process_id, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return str(response.json()["processInstanceKey"])


def activate(rest: httpx.Client, job_type: str, instance: str) -> dict[str, Any]:
    """The job of ``instance`` (tests share an engine: another test's jobs go back untouched)."""
    response = rest.post("/jobs/activation", json={"type": job_type, "maxJobsToActivate": 32, "timeout": 60_000,
                                                   "worker": "console-test", "requestTimeout": 10_000})
    assert response.status_code == 200, response.text
    jobs = response.json()["jobs"]
    mine = [job for job in jobs if str(job["processInstanceKey"]) == instance]
    for job in jobs:
        if job not in mine:
            rest.post(f"/jobs/{job['jobKey']}/failure", json={"retries": job["retries"], "errorMessage": "",
                                                              "retryBackOff": 0})
    assert mine, f"no {job_type} job of instance {instance} to activate"
    job: dict[str, Any] = mine[0]
    return job
