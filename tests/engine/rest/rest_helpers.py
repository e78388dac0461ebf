"""Shared by the REST tests: resource paths, the spec file, deploying over REST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

RESOURCES = Path(__file__).parent / "resources"
SPEC = Path(__file__).parent / "spec" / "rest-api.bundle.json"


async def deploy(http: httpx.AsyncClient, *names: str) -> dict[str, Any]:
    files = [("resources", (name, (RESOURCES / name).read_bytes(), "application/octet-stream")) for name in names]
    response = await http.post("/deployments", files=files)
    assert response.status_code == 200, response.text
    return response.json()
