"""The whole demo on bpmn/ as shipped, every user task guarded (issue #12.1).

Every user task of bpmn/ carries the guard's listeners (tools/task_listeners.py, ``--check`` here);
every scenario must still pass, each of its human steps answered by the guard (completing and assigning
listener jobs completed, none denied), and the demo's instances pass ``procgov audit replay --all`` with
no guard finding (no denied attempt, no protected variable written into an instance).
"""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from procgov.cli import app as procgov_app
from procgov.demo.runner import run_demo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import task_listeners  # noqa: E402


async def test_demo_passes_with_every_user_task_guarded(tmp_path: Path) -> None:
    models = ROOT / "bpmn"
    assert task_listeners.main(["--check", *map(str, sorted(models.glob("**/*.bpmn")))]) == 0
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

    run = tmp_path / "run"
    result = CliRunner(env={"COLUMNS": "220"}).invoke(procgov_app, [
        "audit", "replay", "--all", "--data", str(run / "engine"), "--store", f"sqlite:///{run / 'procgov.db'}"])
    assert "user tasks:" not in result.output, result.output  # no guard finding
    assert result.exit_code == 0, result.output
