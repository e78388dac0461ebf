"""KPI verdicts against the indicator dictionary (seed 002 targets): met / missed / alert / no data."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workers.slm.indicators import KPI_CHECK, KpiInput


def verdicts(indicator_rules, **actuals):
    request = KpiInput.model_validate({"actuals": [
        {"indicator": name.replace("_", "-"), "value": value} for name, value in actuals.items()]})
    return KPI_CHECK.evaluate(request, indicator_rules.rules)


def test_seed_002_sample_actuals_all_meet_their_targets(indicator_rules):
    # seed 002: cycle 2.8 d (≤ 3), exception rate 1.5% (≤ 2%), complaint resolution 96% (≥ 95%)
    out = verdicts(indicator_rules, order_fulfilment_cycle="2.8", process_exception_rate="1.5",
                   complaint_first_resolution_rate="96")
    assert [(v.indicator, v.verdict.value) for v in out.kpi_results] == [
        ("complaint-first-resolution-rate", "met"), ("order-fulfilment-cycle", "met"),
        ("process-exception-rate", "met")]
    assert out.kpis_met and out.missed_indicators == []
    gaps = {v.indicator: (v.gap_to_target, v.gap_to_goal) for v in out.kpi_results}
    assert gaps["order-fulfilment-cycle"] == (Decimal("-0.2"), Decimal("0.8"))
    assert gaps["complaint-first-resolution-rate"] == (Decimal("-1"), Decimal("2"))


def test_seed_002_order_cycle_over_3_days_alerts(indicator_rules):
    out = verdicts(indicator_rules, order_fulfilment_cycle="3.1")
    (result,) = out.kpi_results
    assert (result.verdict.value, result.target_met, result.alert) == ("alert", False, True)
    assert result.gap_to_target == Decimal("0.1")
    assert out.missed_indicators == ["order-fulfilment-cycle"]


def test_exactly_on_target_is_met(indicator_rules):
    (result,) = verdicts(indicator_rules, process_exception_rate="2").kpi_results
    assert result.verdict.value == "met" and result.gap_to_target == 0


def test_exception_rate_above_2_percent_is_missed_without_alert(indicator_rules):
    (result,) = verdicts(indicator_rules, process_exception_rate="2.5").kpi_results
    assert (result.verdict.value, result.alert) == ("missed", False)


def test_complaint_resolution_below_95_percent_is_missed(indicator_rules):
    (result,) = verdicts(indicator_rules, complaint_first_resolution_rate="94.9").kpi_results
    assert result.verdict.value == "missed" and result.gap_to_target == Decimal("0.1")


def test_seed_002_inventory_shortage_below_99_percent_alerts(indicator_rules):
    (result,) = verdicts(indicator_rules, inventory_accuracy="98.5").kpi_results
    assert result.verdict.value == "alert"


def test_no_data_is_reported_and_never_counted_as_met(indicator_rules):
    out = verdicts(indicator_rules, order_receipt_time=None)
    assert out.kpi_results[0].verdict.value == "no-data"
    assert not out.kpis_met


def test_an_unknown_indicator_is_an_error(indicator_rules):
    with pytest.raises(KeyError, match="no indicator 'made-up'"):
        verdicts(indicator_rules, made_up="1")


def test_the_result_names_the_dictionary_version(indicator_rules):
    out = verdicts(indicator_rules, order_fulfilment_cycle="1")
    assert out.dictionary_version == "indicators/2026-1"
    assert out.dictionary_digest == indicator_rules.version


def test_step_time_limits_of_seed_002_template_2(indicator_rules):
    d = indicator_rules.rules
    assert (d.get("order-receipt-time").target, d.get("order-receipt-time").unit) == (Decimal(30), "minutes")
    assert (d.get("inventory-check-time").target, d.get("inventory-check-time").unit) == (Decimal(2), "hours")
    assert d.get("production-scheduling-time").target == Decimal(4)
    assert d.get("inventory-accuracy").target == Decimal(99)
