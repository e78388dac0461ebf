"""Shared test set-up: optional suites skip with a reason, unless CI requires them all."""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL = os.environ.get("PROCGOV_TEST_REQUIRE_ALL") == "1"

pytest_plugins = ["engine.testing.pytest_plugin", "workers.runtime.testing"]


def skip_or_fail(reason: str) -> None:
    """Skip a test whose external part is missing; in CI (PROCGOV_TEST_REQUIRE_ALL=1) fail instead."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)
