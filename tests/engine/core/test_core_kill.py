"""A real ``kill -9``: every acknowledged command survives, nothing is duplicated.

The engine runs in a child process that prints each acknowledged process instance key; the test
kills it with SIGKILL mid-stream and reopens the data directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from core_helpers import bpmn, chain, service

from procgov_engine.clock import SystemClock
from procgov_engine.core import Engine

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from procgov_engine.api import Resource
    from procgov_engine.core import Engine

    async def main() -> None:
        engine = await Engine.open(Path(sys.argv[1]), snapshot_every=int(sys.argv[3]))
        await engine.deploy([Resource("p.bpmn", Path(sys.argv[2]).read_bytes())])
        print("ready", flush=True)
        while True:
            created = await asyncio.gather(*[
                engine.create_process_instance(bpmn_process_id="p", variables={"n": i}) for i in range(5)
            ])
            for c in created:
                print(c.process_instance_key, flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("snapshot_every", [100_000, 7], ids=["log-only", "snapshots-while-killed"])
def test_kill_9_keeps_acknowledged_instances_exactly_once(tmp_path: Path, snapshot_every: int) -> None:
    """With frequent snapshots the kill also lands while one is taken or written (engine/core/snapshot.py):
    the reopened state is still exactly the acknowledged one."""
    model = tmp_path / "p.bpmn"
    model.write_bytes(
        bpmn('<bpmn:startEvent id="s" />' + service("w", "w") + '<bpmn:endEvent id="e" />' + chain("s", "w", "e"))
    )
    data = tmp_path / "data"
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), str(model), str(snapshot_every)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert child.stdout is not None
    acknowledged: list[int] = []
    try:
        assert child.stdout.readline().strip() == "ready"
        while len(acknowledged) < 200:
            acknowledged.append(int(child.stdout.readline()))
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    asyncio.run(check_reopened(data, acknowledged, from_snapshot=snapshot_every < 100_000))


async def check_reopened(data: Path, acknowledged: list[int], *, from_snapshot: bool) -> None:
    engine = await Engine.open(data, SystemClock())
    try:
        assert (engine.snapshot_commands > 0) == from_snapshot
        created = [r["key"] for r in engine.query.records(value_type="PROCESS_INSTANCE_CREATION", intent="CREATED")]
        assert len(created) == len(set(created))
        assert set(acknowledged) <= set(created)
        assert len(engine.state.jobs) == len(created)  # one open job per instance, none lost or doubled
    finally:
        await engine.close()
