"""Rollouts that bend the nine steps, found by ``procgov audit replay`` from the engine's records (issue 12
item 5): the engine runs them (a start instruction, a task completion writing ``owner``), so the rules are
held by audit, which re-derives the path and the owner from the records, not from what the store says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.commands import audit as audit_commands
from procgov.tasklist import TasklistError
from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.process import UserTask, start, user_task_desk
from tests.rollout.scenario import OWNER, default_scripts, request_variables
from tests.rollout.test_process import StartWorkers, start_workers  # noqa: F401 - the fixture
from workers.rollout import DECISIONS

pytestmark = pytest.mark.timeout(120)


def replay(zeebe: EmbeddedEngine, tmp_path: Path, key: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(audit_commands, "registry_factory", lambda: {d.name: d for d in DECISIONS})
    result = CliRunner().invoke(cli, ["audit", "replay", str(key), "--data", str(zeebe.data_dir), "--store",
                                      f"sqlite:///{tmp_path / 'workers.db'}", "--checkpoints", str(tmp_path / "cp")])
    return result.exit_code, result.output


async def test_000A_a_rollout_started_at_step9_by_a_start_instruction_is_a_finding(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """000A steps 1-8 are mandatory and in order (先僵化): the engine lets CreateProcessInstance begin at
    Step9_LockIn (Camunda docs, "Create a process instance" / start instructions); audit says so."""
    await start_workers()
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        key = await start(zeebe, request_variables(owner=OWNER), start_at=["Step9_LockIn"])
        await zeebe.instance(key).wait_element_passed("Step9_LockIn")
    code, output = replay(zeebe, tmp_path, key, monkeypatch)
    assert code == 1, output
    assert f"instance {key}: start event: did not start at a start event: its first element was Step9_LockIn" in output
    for step, element in enumerate(["Step1_Owner", "Step2_Plan", "Step8_Reoptimise"], start=1):
        number = 8 if element == "Step8_Reoptimise" else step
        assert f"instance {key}: 000A step {number}: Step9_LockIn began without {element} completed" in output


async def test_000A_step1_the_plan_task_cannot_write_the_owner(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """000A step 1: the owner is who the eligibility check granted. Completing Step2_MakePlan with
    owner = the order clerk step 1 refused once made her the assignee of steps 2-9. The user task guard
    (the task's completing listener, bpmn/procgov-rollout.bpmn) denies that completion (REST 409, naming
    the protected field and its rule; Camunda docs, "User task listeners", "Deny a state transition"); the
    owner's honest plan goes through, the owner is still the one step 1 granted, and replay reports the
    denied attempt (issue #12 item 5)."""
    await start_workers()
    scripts = default_scripts(zeebe)
    make_plan = scripts.pop("Step2_MakePlan")  # done by hand below
    async with user_task_desk(zeebe, scripts) as desk:
        key = await start(zeebe, request_variables(ownerNomineeId="wang.fang"))  # refused, li.ming renominated
        seen = await desk.crowd.task("Step2_MakePlan", key)
        plan = make_plan(UserTask(seen.element_id, seen.process_instance_key, seen.variables, seen.assignee))
        owner = {"id": "wang.fang", "name": "王芳", "email": "wang.fang@example.com"}
        with pytest.raises(TasklistError) as denied:
            await desk.crowd.complete_task(seen.task, {**plan, "owner": owner})
        assert denied.value.status == 409
        assert "field 'owner' is protected (000A step 1" in str(denied.value)
        await desk.crowd.complete_task(seen.task, plan)
        await zeebe.instance(key).wait_element_passed("Step2_Plan")
    assert zeebe.instance(key).variables()["owner"]["id"] == "li.ming"  # the write never happened
    assert zeebe.instance(key).variables()["rolloutPlan"]["team"]  # the plan's own fields did
    code, output = replay(zeebe, tmp_path, key, monkeypatch)
    assert code != 0, output
    assert f"user tasks: instance {key}: issue #12.1 user task guard: user task Step2_MakePlan" in output, output


async def test_an_untouched_rollout_start_passes_the_conformance_checks(
        zeebe: EmbeddedEngine, start_workers: StartWorkers, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    await start_workers()
    async with user_task_desk(zeebe, default_scripts(zeebe)):
        key = await start(zeebe, request_variables(ownerNomineeId="wang.fang"))
        await zeebe.instance(key).wait_element_passed("Step3_Training")
    code, output = replay(zeebe, tmp_path, key, monkeypatch)
    assert code == 0, output
