"""The process registry (流程清单, seed 002 templates 1 and 4) on SQLite: the change request publishes
through it with a version check (100104 §2.3), one rollout per process and owner re-appointments
(000A step 1), and ``procgov processes list|show|history|register|reappoint``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from procgov.cli import app as cli
from tests.audit.conftest import chrome  # noqa: F401  (the headless Chromium fixture)
from workers.runtime import open_engine
from workers.runtime.stores.registry import METADATA, ProcessRegistry, RegistryConflict

pytestmark = pytest.mark.timeout(120)
SEED = Path(__file__).resolve().parents[2] / "data" / "registry" / "processes.yaml"
REQUEST = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
           "origin": "self-check", "scope": "department", "department": "销售部 Sales", "departmentHead": "chen.jing",
           "requester": "wang.fang", "problem": "order receipt form lacks the delivery address",
           "proposedChange": "add the delivery address to the receipt form"}


def processes(store_url: str, *args: str) -> Any:
    return CliRunner().invoke(cli, ["processes", *args, "--store", store_url])


def test_the_migration_creates_exactly_the_tables_the_registry_maps(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    inspector = sa.inspect(engine)
    for table in METADATA.sorted_tables:
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}


def test_seed_002_template_1_registers_and_lists(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    result = processes(url, "register", "--from", str(SEED))
    assert result.exit_code == 0, result.output
    listed = processes(url, "list", "--json")
    (entry,) = json.loads(listed.output)
    assert (entry["process_id"], entry["tier"], entry["current_version"], entry["owner"], entry["state"]) == (
        "order-to-delivery", "core", "V2.1", "li.ming", "in force")
    again = processes(url, "register", "--from", str(SEED))  # idempotent
    assert again.exit_code == 0 and len(json.loads(processes(url, "list", "--json").output)) == 1
    missing = processes(url, "show", "nope")
    assert missing.exit_code == 2 and "nope is not in the registry" in missing.output


async def test_100104_2_3_a_second_change_on_v2_1_after_v2_2_is_refused_never_an_overwrite(
        zeebe: Any, slm: Any, slm_deps: Any) -> None:
    url = slm_deps.store.engine.url.render_as_string(hide_password=False)
    assert processes(url, "register", "--from", str(SEED)).exit_code == 0
    first = await slm.start("procgov-change-request", {**REQUEST, "proposedChange": "first change"})
    await slm.complete("approve-change", first, {"approved": True})
    await slm.complete("publish-change", first, {"changeEffect": "first effect"})
    await zeebe.instance(first).wait_completed()
    second = await slm.start("procgov-change-request", {**REQUEST, "proposedChange": "second change"})
    await slm.complete("approve-change", second, {"approved": True})
    await slm.complete("publish-change", second, {"changeEffect": "second effect"})
    incident = await zeebe.instance(second).wait_incident("refused")
    assert incident.error_message == (
        f"100104 §2.3: change request {second} was raised on order-to-delivery V2.1, but V2.2 is current "
        f"(published by change request {first}): refused, nothing overwritten; raise the change again on V2.2")
    assert slm_deps.store.filed_versions("order-to-delivery") == ["V2.2"]
    (row,) = slm_deps.store.optimisation_entries("order-to-delivery")
    assert row["measures"] == "first change" and row["effect"] == "first effect"
    shown = json.loads(processes(url, "show", "order-to-delivery", "--json").output)
    assert (shown["current_version"], shown["owner"]) == ("V2.2", "li.ming")  # the change kept the owner
    history = json.loads(processes(url, "history", "order-to-delivery", "--json").output)
    assert [(v["version"], v["change_request"]) for v in history["versions"]] == [("V2.1", None), ("V2.2", str(first))]
    assert [e["kind"] for e in history["events"]] == ["registered", "version-published", "change-refused"]
    assert [r["measures"] for r in history["optimisationLog"]] == ["first change"]
    text = processes(url, "history", "order-to-delivery").output
    assert "V2.2  from V2.1" in text and "change-refused" in text and "first change" in text


def test_000A_step1_the_owner_changes_only_by_a_recorded_reappointment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    registry = ProcessRegistry(open_engine(url))
    registry.register("order-to-delivery", name="订单履约流程", version="V2.1", tier="core", owner="li.ming")
    with pytest.raises(RegistryConflict, match=r"is owned by li\.ming; rollout r1 names wang\.fang: re-appoint"):
        registry.begin_rollout("order-to-delivery", instance="r1", name="订单履约流程", version="V2.1",
                               owner="wang.fang")
    refused = processes(url, "reappoint", "order-to-delivery", "--owner", "zhao.lei", "--reason", " ", "--by", "x")
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    done = processes(url, "reappoint", "order-to-delivery", "--owner", "zhao.lei", "--reason",
                     "li.ming moved to the north region", "--by", "ceo")
    assert done.exit_code == 0 and "owner zhao.lei" in done.output, done.output
    entry = registry.begin_rollout("order-to-delivery", instance="r1", name="订单履约流程", version="V2.1",
                                   owner="zhao.lei")
    assert (entry.owner, entry.rollout_instance, entry.state) == ("zhao.lei", "r1", "draft")
    for state in ("pilot", "issued"):
        registry.set_state("order-to-delivery", state, instance="r1")
    with pytest.raises(RegistryConflict, match="r2 is not its running rollout"):
        registry.set_state("order-to-delivery", "in force", instance="r2")
    with pytest.raises(RegistryConflict, match="rollout r1 of the same process is still running"):
        registry.begin_rollout("order-to-delivery", instance="r2", name="订单履约流程", version="V2.1",
                               owner="zhao.lei")
    registry.end_rollout("order-to-delivery", instance="r1")
    entry = registry.begin_rollout("order-to-delivery", instance="r2", name="订单履约流程", version="V2.1",
                                   owner="zhao.lei")
    assert entry.rollout_instance == "r2"
    kinds = [e["kind"] for e in registry.events("order-to-delivery")]
    assert kinds == ["registered", "owner-change-refused", "owner-reappointed", "rollout-started", "state", "state",
                     "rollout-refused", "rollout-ended", "rollout-started"]
    (reappointed,) = [e for e in registry.events("order-to-delivery") if e["kind"] == "owner-reappointed"]
    assert reappointed["detail"] == {"previous": "li.ming", "owner": "zhao.lei", "by": "ceo",
                                     "reason": "li.ming moved to the north region"}


def test_tiers_and_states_are_the_seed_s_words(tmp_path: Path) -> None:
    registry = ProcessRegistry(open_engine(f"sqlite:///{tmp_path / 'store.db'}"))
    with pytest.raises(ValueError, match="tier must be one of core, support, management"):
        registry.register("p", name="P", version="V1.0", tier="strategic")
    with pytest.raises(ValueError, match="state must be one of draft, pilot, issued, in force, under change, retired"):
        registry.register("p", name="P", version="V1.0", state="active")


@pytest.mark.browser
async def test_the_monthly_report_shows_the_registered_owner_and_current_version(
        zeebe: Any, slm: Any, slm_deps: Any, chrome: Any) -> None:  # noqa: F811
    """slm.publish-report reads owner and current version from the registry in the workers' store: after a
    change request published V2.2, the March report shows 李明 (li.ming) and V2.2 for order-to-delivery; a
    process of a finding that is not registered shows "—"."""
    from selenium.webdriver.common.by import By

    url = slm_deps.store.engine.url.render_as_string(hide_password=False)
    assert processes(url, "register", "--from", str(SEED)).exit_code == 0
    change = await slm.start("procgov-change-request", REQUEST)
    await slm.complete("approve-change", change, {"approved": True})
    await slm.complete("publish-change", change, {"changeEffect": "address on the form"})
    await zeebe.instance(change).wait_completed()
    review = await slm.start("procgov-sla-review", {"processId": "order-to-delivery", "reviewMonth": "2026-03",
                                                    "processName": "订单履约流程 Order to delivery",
                                                    "ownerDepartment": "销售部 Sales"})
    await slm.complete("submit-self-check", review, {"selfCheckRuns": "412 orders", "selfCheckExecution": "ok",
                                                     "selfCheckDesignProblems": "none", "selfCheckViolations": "none",
                                                     "selfCheckKpis": "ok", "selfCheckCrossDepartment": "ok"})
    await slm.complete("sign-summary", review, {"summaryImprovements": "none", "summarySigned": True})
    await slm.complete("record-spot-check", review, {"findings": [
        {"department": "销售部 Sales", "processId": "returns-handling", "problem": "late-refund", "kind": "violation",
         "directPerson": "wang.fang"}]})
    await zeebe.instance(review).wait_completed()
    chrome.get(Path(zeebe.instance(review).variables()["reportPath"]).as_uri())
    rows = {tr.get_attribute("data-process-id"): [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in chrome.find_elements(By.CSS_SELECTOR, "#processes tr[data-process-id]")}
    assert rows == {"order-to-delivery": ["订单履约流程 Order to delivery", "李明 (li.ming)", "V2.2"],
                    "returns-handling": ["returns-handling", "—", "—"]}
