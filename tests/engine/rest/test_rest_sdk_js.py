"""Camunda's own TypeScript client (``@camunda8/orchestration-cluster-api``, tools/package.json),
unchanged but for the address, drives the embedded engine over REST (``js/sdk_flow.mjs``): deploy,
create an instance, a service task (activate, fail with back-off past a pinned clock, complete), an
incident (search, update retries, resolve), a message correlation, and a Camunda user task (search, assign,
a completing listener that denies, complete). The SDK validates requests and
responses strictly against its schemas generated from Camunda's spec.

Camunda docs, "Orchestration Cluster API" (REST, v2): "Deploy resources", "Create process instance",
"Activate jobs", "Fail job", "Complete job", "Search incidents", "Update job", "Resolve incident",
"Correlate message", "Pin internal clock", "Reset internal clock", "Search user tasks", "Assign user task",
"Complete user task"; "User task listeners" → "Deny a state transition"; TypeScript SDK, "Validation".
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from rest_helpers import RESOURCES

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[3]
SDK = ROOT / "tools" / "node_modules" / "@camunda8" / "orchestration-cluster-api"
SCRIPT = Path(__file__).parent / "js" / "sdk_flow.mjs"

pytestmark = pytest.mark.node


async def test_typescript_sdk_drives_a_service_task_message_and_incident(rest_url: str) -> None:
    node = shutil.which("node")
    if node is None or not SDK.exists():
        skip_or_fail(f"node or {SDK} missing (run 'make setup' with npm available)")
    env = dict(
        os.environ,
        CAMUNDA_REST_ADDRESS=rest_url,
        CAMUNDA_AUTH_STRATEGY="NONE",
        CAMUNDA_SDK_VALIDATION="strict",
    )
    # the script imports the package by name: fed on stdin with tools/ as the working directory, node
    # resolves it from tools/node_modules
    process = await asyncio.create_subprocess_exec(
        node,
        "--input-type=module",
        "-",
        str(RESOURCES),
        cwd=ROOT / "tools",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(SCRIPT.read_bytes()), timeout=60)
    assert process.returncode == 0, f"sdk_flow.mjs failed:\n{stderr.decode()}\n{stdout.decode()}"
    assert "sdk-js flow ok" in stdout.decode()
