"""The whole demo with the guard's listeners on every user task of bpmn/ (issue #12.1, as merged next).

tools/task_listeners.py is applied to a copy of bpmn/ (bpmn/ itself is the models' owners' to change);
every scenario must still pass, each of its human steps answered by the guard (completing and assigning
listener jobs completed, none denied), so the listeners can be switched on in bpmn/ without breaking
the demo.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import sys
from pathlib import Path

from rich.console import Console

from procgov.demo.runner import run_demo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import task_listeners  # noqa: E402


async def test_demo_passes_with_every_user_task_guarded(tmp_path: Path) -> None:
    models = tmp_path / "bpmn"
    shutil.copytree(ROOT / "bpmn", models)
    assert task_listeners.main([str(p) for p in sorted(models.glob("*.bpmn"))]) == 0
    assert task_listeners.main(["--check", *map(str, sorted(models.glob("*.bpmn")))]) == 0
    report = await run_demo(tmp_path / "run", bpmn_dir=models, console=Console(file=io.StringIO(), width=200),
                            webhook_port=0)
    assert not report.problems, report.problems
    assert report.results and all(r.ok for r in report.results), [(r.name, r.detail) for r in report.results]
    with sqlite3.connect(tmp_path / "run" / "engine" / "records.db") as db:
        rows = db.execute(
            "SELECT json_extract(json, '$.value.jobListenerEventType'), "
            "json_extract(json, '$.value.result.denied') FROM records WHERE value_type = 'JOB' "
            "AND intent = 'COMPLETED' AND json_extract(json, '$.value.type') = 'audit.guard-user-task'").fetchall()
        denials = db.execute("SELECT count(*) FROM records WHERE value_type = 'USER_TASK' "
                             "AND intent LIKE '%_DENIED'").fetchone()[0]
        completed_tasks = db.execute("SELECT count(*) FROM records WHERE value_type = 'USER_TASK' "
                                     "AND intent = 'COMPLETED'").fetchone()[0]
    completing = [denied for event, denied in rows if event == "COMPLETING"]
    assert len(completing) == completed_tasks > 10  # every completed human step went through the guard
    assert not any(completing) and denials == 0
