"""Small pure parts: the pollers' back-off, ``--ttl`` durations, deployment summaries."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import typer

from procgov.commands.deploy import describe_deployment
from procgov.commands.instances import parse_ttl
from workers.runtime.polling import BackoffJobPoller


def test_poll_back_off_grows_exponentially_up_to_the_cap() -> None:
    poller = BackoffJobPoller.__new__(BackoffJobPoller)  # only the delay arithmetic is exercised
    poller.base_s, poller.max_s = 0.5, 8.0
    delays = []
    for failures in range(1, 9):
        poller.failures = failures
        delays.append(poller._delay())
    # multiplier * 2**(n-1) plus up to base_s of jitter, capped
    for n, delay in enumerate(delays[:4], start=1):
        assert 0.5 * 2 ** (n - 1) <= delay <= 0.5 * 2 ** (n - 1) + 0.5
    assert delays[-1] == 8.0


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("60", 60_000),
        ("60s", 60_000),
        ("500ms", 500),
        ("5m", 300_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("PT1H30M", 5_400_000),
        ("0s", 0),
    ],
)
def test_ttl_durations(text: str, ms: int) -> None:
    assert parse_ttl(text) == ms


def test_a_bad_ttl_names_the_option() -> None:
    with pytest.raises(typer.BadParameter, match="not a duration"):
        parse_ttl("soon")


def test_deployment_summary_lists_every_resource_kind() -> None:
    response = SimpleNamespace(
        key=9,
        deployments=[
            SimpleNamespace(
                bpmn_process_id="procgov-rollout", version=2, process_definition_key=1, resource_name="r.bpmn"
            ),
            SimpleNamespace(dmn_decision_id="late-fine", version=1, decision_key=2),
            SimpleNamespace(
                dmn_decision_requirements_id="fines", version=1, decision_requirements_key=3, resource_name="f.dmn"
            ),
            SimpleNamespace(form_id="review", version=1, form_key=4, resource_name="review.form"),
        ],
    )
    assert describe_deployment(response) == [
        "deployment 9",
        "  process   procgov-rollout v2 key=1 (r.bpmn)",
        "  decision  late-fine v1 key=2",
        "  drd       fines v1 key=3 (f.dmn)",
        "  form      review v1 key=4 (review.form)",
    ]
