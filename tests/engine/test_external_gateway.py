"""The behaviour suite against an engine in another process, through ``PROCGOV_TEST_GATEWAY`` only.

This proves the switch that lets the same suite run against Camunda 8.8 (.github/workflows/camunda.yml,
tests/README.md "Against a real Zeebe"): ``procgov engine`` is started as a separate process on a free
port, and a subprocess ``pytest`` runs tests/engine/behaviour with the gateway address (and the engine's
record log, read-only, as the read side) taken from the environment. Nothing in that run can reach an
in-process engine: every test either passes over the wire or is skipped with its ``embedded_only`` reason.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import grpc
import yaml
from grpc_health.v1 import health_pb2
from grpc_health.v1.health_pb2_grpc import HealthStub

BEHAVIOUR = Path(__file__).parent / "behaviour"
REPO = Path(__file__).parents[2]
SUITE_TIMEOUT_S = 240  # the suite takes ~10 s on an idle machine; this bounds a hang, not the pace
EMBEDDED_ONLY_PREFIX = "embedded engine only (PROCGOV_TEST_GATEWAY="


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_serving(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        response = HealthStub(channel).Check(health_pb2.HealthCheckRequest(), wait_for_ready=True, timeout=30)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def _outcomes(junit: Path) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Passed test ids, skipped ids with their reason, failed/errored ids with their message."""
    passed: list[str] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        skip = case.find("skipped")
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        if problem is not None:
            failed[test_id] = (problem.get("message") or "")[:300]
        elif skip is not None:
            skipped[test_id] = skip.get("message") or ""
        else:
            passed.append(test_id)
    return passed, skipped, failed


def test_behaviour_suite_runs_against_a_procgov_engine_in_another_process(tmp_path: Path, record_property: Any) -> None:
    port = _free_port()
    data = tmp_path / "engine"
    procgov = Path(sys.executable).with_name("procgov")
    engine_log = tmp_path / "engine.log"
    with engine_log.open("wb") as log:  # a file, not a pipe: a full pipe would stall the engine
        engine = subprocess.Popen(
            [str(procgov), "engine", "--port", str(port), "--rest-port", "0", "--data", str(data)],
            stdout=log,
            stderr=log,
        )
    try:
        _wait_serving(f"127.0.0.1:{port}")
        junit = tmp_path / "behaviour.xml"
        env = {
            **os.environ,
            "PROCGOV_TEST_GATEWAY": f"127.0.0.1:{port}",
            "PROCGOV_TEST_RECORDS_DB": str(data / "records.db"),
        }
        env.pop("PROCGOV_TEST_REST_URL", None)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", str(BEHAVIOUR)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUITE_TIMEOUT_S,
        )
    finally:
        engine.send_signal(signal.SIGTERM)
        try:
            engine.wait(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait()
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:]
    passed, skipped, failed = _outcomes(junit)
    record_property("external_passed", len(passed))
    record_property("external_skipped_with_reason", len(skipped))
    print(
        f"behaviour suite against procgov engine on 127.0.0.1:{port}: {len(passed)} passed, "
        f"{len(skipped)} skipped with a reason ({summary})"
    )

    assert run.returncode == 0 and not failed, f"{summary}\n{failed}\n{run.stdout[-4000:]}"
    assert len(passed) >= 40, f"too few tests ran over the wire: {summary}"
    not_ours = {test: reason for test, reason in skipped.items() if not reason.startswith(EMBEDDED_ONLY_PREFIX)}
    assert not not_ours, f"skipped without an embedded_only reason: {not_ours}"
    # the commands went to the other process: its log holds the suite's deployments and instances
    db = sqlite3.connect(f"file:{data / 'records.db'}?mode=ro", uri=True)
    try:
        (deployments,) = db.execute("SELECT COUNT(*) FROM records WHERE value_type = 'DEPLOYMENT'").fetchone()
    finally:
        db.close()
    assert deployments >= len(passed) // 2, f"{deployments} deployments in the external engine's log"


def test_camunda_workflow_is_a_valid_github_workflow_running_the_suite_through_the_environment() -> None:
    """.github/workflows/camunda.yml: GitHub's workflow schema (check-jsonschema's vendored copy), and the
    job points the behaviour suite at the Camunda service container's gateway and REST API."""
    workflow = REPO / ".github" / "workflows" / "camunda.yml"
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    job = yaml.safe_load(workflow.read_text(encoding="utf-8"))["jobs"]["behaviour-on-camunda"]
    assert job["services"]["camunda"]["image"] == "camunda/camunda:${{ matrix.camunda }}"
    versions = job["strategy"]["matrix"]["camunda"]
    assert versions[0].startswith("8.8.") and versions[-1].startswith("8.10."), versions  # oldest maintained, current
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert compose["services"]["camunda"]["image"] == f"camunda/camunda:{versions[-1]}"
    assert {"26500:26500", "8080:8080"} <= set(job["services"]["camunda"]["ports"])
    suite = next(step for step in job["steps"] if "tests/engine/behaviour" in step.get("run", ""))
    assert suite["env"]["PROCGOV_TEST_GATEWAY"] == "localhost:26500"
    assert suite["env"]["PROCGOV_TEST_REST_URL"] == "http://localhost:8080"
