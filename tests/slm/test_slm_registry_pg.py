"""The process registry on PostgreSQL under concurrency (流程清单, seed 002 template 1; 100104 §2.3; 000A).

Two change requests raised on the same version publish at the same moment, and two rollouts of one
process start at the same moment: the registry row is locked, one wins, the other gets a refusal that
names what is current, and no row of the winner (filing 备案, optimisation log) is lost or overwritten.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from workers.runtime import IdempotencyStore, open_engine
from workers.runtime.stores.registry import ProcessRegistry, RegistryConflict
from workers.slm.deps import SlmDeps
from workers.slm.store import SlmStore

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
DATA = Path(__file__).resolve().parents[2] / "data" / "slm"
REQUEST = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
           "origin": "self-check", "scope": "department", "department": "销售部 Sales", "departmentHead": "chen.jing",
           "requester": "wang.fang", "problem": "order receipt form lacks the delivery address",
           "proposedChange": "add the delivery address to the receipt form"}


@pytest.fixture
def slm_deps(tmp_path: Path, mail: Any, kpi_url: str, pg_url: str) -> SlmDeps:
    """The slm workers' store on PostgreSQL (overrides conftest's SQLite one)."""
    from workers.slm.mail import SmtpTarget

    store_engine = open_engine(pg_url)
    return SlmDeps.from_files(
        penalty_rules=DATA / "penalty-rules.yaml", indicators=DATA / "indicators.yaml",
        directory=DATA / "departments.yaml", store=SlmStore(store_engine), once=IdempotencyStore(store_engine),
        smtp=SmtpTarget(host=mail.host, port=mail.port, sender="procgov-test@localhost"), kpi_url=kpi_url,
        engine_records=tmp_path / "engine" / "records.db", report_dir=tmp_path / "reports")


async def test_100104_2_3_two_change_requests_on_v2_1_published_at_once_one_wins_one_is_refused(
        zeebe: Any, slm: Any, slm_deps: SlmDeps) -> None:
    first = await slm.start("procgov-change-request", {**REQUEST, "proposedChange": "first change"})
    second = await slm.start("procgov-change-request", {**REQUEST, "proposedChange": "second change"})
    for key in (first, second):
        await slm.complete("approve-change", key, {"approved": True})
        await zeebe.instance(key).wait_element_active("publish-change")
    await asyncio.gather(*(slm.complete("publish-change", key, {"changeEffect": f"effect {key}"})
                           for key in (first, second)))
    outcomes: dict[int, str] = {}
    for key in (first, second):
        for _ in range(200):
            snapshot = zeebe.instance(key).snapshot()
            if snapshot.completed or snapshot.incidents:
                break
            await asyncio.sleep(0.05)
        outcomes[key] = "published" if snapshot.completed else "refused"
    assert sorted(outcomes.values()) == ["published", "refused"], outcomes
    winner = next(k for k, o in outcomes.items() if o == "published")
    loser = next(k for k, o in outcomes.items() if o == "refused")
    (incident,) = zeebe.instance(loser).snapshot().incidents
    message = incident.error_message
    assert f"change request {loser} was raised on order-to-delivery V2.1, but V2.2 is current" in message
    assert f"published by change request {winner}" in message and "nothing overwritten" in message
    registry = ProcessRegistry(slm_deps.store.engine)
    entry = registry.get("order-to-delivery")
    assert entry is not None and entry.current_version == "V2.2"
    assert [(v["version"], v["change_request"]) for v in registry.versions("order-to-delivery")] == [
        ("V2.1", None), ("V2.2", str(winner))]
    assert slm_deps.store.filed_versions("order-to-delivery") == ["V2.2"]
    (entry_row,) = slm_deps.store.optimisation_entries("order-to-delivery")
    assert entry_row["effect"] == f"effect {winner}" and f"instance {winner}" in entry_row["remarks"]
    kinds = [(e["kind"], e["instance"]) for e in registry.events("order-to-delivery")]
    assert ("version-published", str(winner)) in kinds and ("change-refused", str(loser)) in kinds


def _race(calls: list[Any]) -> list[Any]:
    """Run the calls in threads released together; each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as error:  # the refusal is the expected result of the loser
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_000A_two_rollouts_of_one_process_started_at_once_one_wins(pg_url: str) -> None:
    registry = ProcessRegistry(open_engine(pg_url))
    registry.register("order-to-delivery", name="订单履约流程", version="V2.0", tier="core", owner="li.ming")
    results = _race([lambda i=i: registry.begin_rollout("order-to-delivery", instance=f"rollout-{i}",
                                                        name="订单履约流程", version="V2.0", owner="li.ming")
                     for i in range(2)])
    refusals = [r for r in results if isinstance(r, RegistryConflict)]
    assert len(refusals) == 1 and len([r for r in results if not isinstance(r, Exception)]) == 1, results
    entry = registry.get("order-to-delivery")
    assert entry is not None and entry.rollout_instance in {"rollout-0", "rollout-1"}
    loser = ({"rollout-0", "rollout-1"} - {entry.rollout_instance}).pop()
    assert str(refusals[0]) == (f"000A: rollout {loser} of order-to-delivery refused: rollout "
                                f"{entry.rollout_instance} of the same process is still running "
                                "(one rollout per process at a time)")
    kinds = [(e["kind"], e["instance"]) for e in registry.events("order-to-delivery")]
    assert kinds == [("registered", None), ("rollout-started", entry.rollout_instance), ("rollout-refused", loser)]


def test_100104_2_3_two_publications_of_one_version_at_once_lose_no_row(pg_url: str) -> None:
    engine = open_engine(pg_url)
    registry, store = ProcessRegistry(engine), SlmStore(engine)
    registry.register("order-to-delivery", name="订单履约流程", version="V2.1", tier="core", owner="li.ming")

    def publish(request: str) -> Any:
        def filing(connection: sa.Connection) -> None:
            store.log_optimisation(f"order-to-delivery:V2.2:{request}", connection, logged_on="2026-04-07",
                                   process_id="order-to-delivery", process_name="订单履约流程", background=request,
                                   measures=request, effect=request, owner="chen.jing", remarks=request)
        return registry.publish_change("order-to-delivery", name="订单履约流程", from_version="V2.1",
                                       new_version="V2.2", change_request=request, published_on="2026-04-07",
                                       also=filing)

    results = _race([lambda: publish("cr-1"), lambda: publish("cr-2")])
    assert sorted(type(r).__name__ for r in results) == ["Published", "RegistryConflict"], results
    winner = "cr-1" if not isinstance(results[0], Exception) else "cr-2"
    assert [e["background"] for e in store.optimisation_entries("order-to-delivery")] == [winner]
    assert [v["change_request"] for v in registry.versions("order-to-delivery")] == [None, winner]
