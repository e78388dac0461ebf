"""Demo scenario: audit what the demo ran (the auditor's view of domain.md's opening paragraph).

Replays every decision recorded so far against the decision chain, and writes an HTML report for
every finished instance into ``<run dir>/audit/``. It is meant to run after the process scenarios
(``LAST = True``; see the report to the runner's owner); run on its own, it audits what earlier runs
left in the directory, and says so when nothing was recorded yet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from procgov.demo.runner import DemoContext, ScenarioResult

NAME = "audit"
LAST = True  # audit what the other scenarios did


def _audit(engine_dir: Path, store_url: str, out_dir: Path) -> ScenarioResult:
    from procgov.groups import decision_registry
    from workers.audit.history import COMPLETED, load_history
    from workers.audit.replay import replay_log
    from workers.audit.report import render_report, write_report
    from workers.audit.sources import SqliteLogSource
    from workers.audit.store import DecisionStore, DecisionStoreError

    try:
        store = DecisionStore.open(store_url)
    except DecisionStoreError as error:
        return ScenarioResult(
            "audit: replay recorded decisions",
            None,
            "NO DECISIONS",
            ok=True,
            facts={"decisions": "0"},
            detail=str(error),
        )
    try:
        report = replay_log(store.records(), registry=decision_registry(), rule_text=store.rule_text, head=store.head())
    finally:
        store.dispose()
    source = SqliteLogSource(engine_dir)
    written = 0
    for key in source.instance_keys():
        history = load_history(source, key)
        if history.state == COMPLETED:
            write_report(
                out_dir / f"{history.bpmn_process_id}-{key}.html",
                render_report(history, replay=report, source=source.describe()),
            )
            written += 1
    facts = {
        "decisions replayed": str(len(report.verdicts)),
        "mismatches": str(sum(1 for v in report.verdicts if not v.ok)),
        "chain": "intact" if not report.chain_problems else f"{len(report.chain_problems)} problem(s)",
        "reports": f"{written} in {out_dir}",
    }
    detail = "; ".join(p.detail for p in report.chain_problems[:3])
    return ScenarioResult(
        "audit: replay recorded decisions, verify the chain",
        None,
        "PASS" if report.ok else "FAIL",
        ok=report.ok,
        facts=facts,
        detail=detail,
    )


async def run(ctx: DemoContext) -> list[ScenarioResult]:
    engine_dir = ctx.zeebe.data_dir
    result = await asyncio.to_thread(_audit, engine_dir, ctx.settings.store_url, ctx.data_dir / "audit")
    return [result]
