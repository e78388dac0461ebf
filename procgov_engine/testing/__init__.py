"""The engine's test API: an embedded engine with waiting assertions, and pytest fixtures.

Usage (the fixtures ``zeebe`` and ``zeebe_client`` come from :mod:`procgov_engine.testing.pytest_plugin`)::

    async def test_rollout(zeebe: EmbeddedEngine, zeebe_client: ZeebeClient) -> None:
        await zeebe.deploy("bpmn/rollout.bpmn")
        created = await zeebe_client.run_process("procgov-rollout", {...})
        await zeebe.instance(created.process_instance_key).wait_element_active("self-check")
"""

from __future__ import annotations

from procgov_engine.testing.assertions import InstanceAssert, InstanceSnapshot
from procgov_engine.testing.embedded import EmbeddedEngine
from procgov_engine.testing.workers import running_worker

__all__ = ["EmbeddedEngine", "InstanceAssert", "InstanceSnapshot", "running_worker"]
