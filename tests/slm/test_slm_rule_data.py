"""A broken penalty table or indicator dictionary is rejected with the row and field named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workers.runtime.decisions import RuleSet
from workers.runtime.errors import RuleDataError
from workers.slm.indicators import KPI_CHECK
from workers.slm.penalties import PENALTY_CALCULATION

DATA = Path(__file__).resolve().parents[2] / "data" / "slm"


def shipped(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def penalty_text(mutate) -> str:
    document = shipped("penalty-rules.yaml")
    mutate(document)
    return yaml.safe_dump(document, allow_unicode=True)


def indicator_text(mutate) -> str:
    document = shipped("indicators.yaml")
    mutate(document)
    return yaml.safe_dump(document, allow_unicode=True)


def test_every_shipped_penalty_row_cites_its_clause(penalty_rules):
    clauses = {rule.clause for rule in penalty_rules.rules.rules.values()}
    assert clauses == {"100104 §2.1.1", "100104 §2.1.2", "100104 §2.2.1", "100104 §2.2.2", "100104 §2.2.3",
                       "100104 §2.3.2", "100104 §2.3.4"}


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["rules"][1]["fines"][0].update(yuan="ten"), r"row rules\[2\] 'summary-late' fines\[1\], field 'yuan'"),
    (lambda d: d["rules"][1]["fines"][0].update(yuan=10.5), r"field 'yuan': write amounts as quoted decimals"),
    (lambda d: d["rules"][4]["fines"][2].update(yuan="-20"), r"'spot-check-repeat' fines\[3\], field 'yuan'.*negative"),
    (lambda d: d["rules"][0].update(clause="§2.1.1"), r"row rules\[1\] 'self-check-missing-item', field 'clause'"),
    (lambda d: d["rules"][5].update(day_count="fortnight"), r"'change-plan-late', field 'day_count': must be one of"),
    (lambda d: d["rules"][5].pop("day_count"), r"'change-plan-late', field 'day_count': is required"),
    (lambda d: d["rules"][2]["fines"][0].update(role="janitor"), r"'spot-check-violation' fines\[1\], field 'role'"),
    (lambda d: d["rules"][3].update(amount="5"), r"'spot-check-design-defect', field 'amount': unknown field"),
    (lambda d: d["rules"][3].update(id="spot-check-violation"), r"row rules\[4\], field 'id': duplicate"),
    (lambda d: d["deadlines"][1].update(late_fine="nope"), r"deadlines\[2\] 'summary-due', field 'late_fine'"),
    (lambda d: d["deadlines"][0].update(day_of_month=31), r"'self-check-due', field 'day_of_month': must be at most"),
    (lambda d: d.pop("version"), r"row header, field 'version': is required"),
])
def test_a_broken_penalty_table_names_row_and_field(mutate, message):
    with pytest.raises(RuleDataError, match=message):
        RuleSet.from_text(PENALTY_CALCULATION, penalty_text(mutate))


def test_penalty_table_that_is_not_yaml_is_rejected():
    with pytest.raises(RuleDataError, match="not valid YAML"):
        RuleSet.from_text(PENALTY_CALCULATION, "rules: [unclosed")


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["indicators"][0].update(direction="<="), r"'order-fulfilment-cycle', field 'direction'"),
    (lambda d: d["indicators"][1].update(target="two"), r"'process-exception-rate', field 'target'"),
    (lambda d: d["indicators"][2].update(goal=90), r"'complaint-first-resolution-rate', field 'goal'.*weaker"),
    (lambda d: d["indicators"][3].update(parent="nowhere"), r"'order-receipt-time', field 'parent'"),
    (lambda d: d["indicators"][4].update(level="team"), r"'order-receipt-completeness', field 'level'"),
    (lambda d: d["indicators"][5].update(dashboard="yes"), r"'inventory-check-time', field 'dashboard'"),
    (lambda d: d["indicators"][6]["source"].update(query={"oracle": "SELECT 1"}), r"field 'query.oracle'"),
    (lambda d: d["indicators"][7]["source"].pop("query"), r"'production-scheduling-time' source, field 'query'"),
    (lambda d: d["indicators"][8].pop("owner_department"), r"'production-scheduling-on-time', field 'owner_depart"),
    (lambda d: d["indicators"][9]["source"].update(kind="csv"), r"'change-request-cycle' source, field 'kind'"),
    (lambda d: d["indicators"][1].update(id="order-fulfilment-cycle"), r"row indicators\[2\], field 'id': duplicate"),
])
def test_a_broken_indicator_definition_names_row_and_field(mutate, message):
    with pytest.raises(RuleDataError, match=message):
        RuleSet.from_text(KPI_CHECK, indicator_text(mutate))
