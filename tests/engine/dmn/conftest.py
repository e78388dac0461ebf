"""Builds small DMN 1.3 resources for the DMN tests, as Camunda Modeler would write them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"

TableBuilder = Callable[..., bytes]


def build_table(
    *,
    hit_policy: str = "UNIQUE",
    aggregation: str | None = None,
    inputs: Sequence[str] = ("amount",),
    outputs: Sequence[str] = ("result",),
    output_values: dict[str, str] | None = None,
    rules: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    decision_id: str = "decision",
    namespace: str = DMN13,
    extra: str = "",
) -> bytes:
    """One decision table decision; ``rules`` are (input entry texts, output entry texts)."""
    aggregation_attr = f' aggregation="{aggregation}"' if aggregation else ""
    parts = [
        f'<definitions xmlns="{namespace}" id="drg" name="Test DRG" namespace="http://camunda.org/schema/1.0/dmn">',
        f'<decision id="{decision_id}" name="Decision {decision_id}">',
        f'<decisionTable id="table" hitPolicy="{hit_policy}"{aggregation_attr}>',
    ]
    for i, expression in enumerate(inputs, start=1):
        parts.append(
            f'<input id="input{i}" label="Input {i}"><inputExpression id="inputExpression{i}">'
            f"<text>{escape(expression)}</text></inputExpression></input>"
        )
    for name in outputs:
        values = (output_values or {}).get(name)
        values_xml = f"<outputValues><text>{escape(values)}</text></outputValues>" if values else ""
        parts.append(f'<output id="output_{name}" name="{name}" typeRef="string">{values_xml}</output>')
    for r, (input_entries, output_entries) in enumerate(rules, start=1):
        parts.append(f'<rule id="rule{r}">')
        for c, text in enumerate(input_entries, start=1):
            parts.append(f'<inputEntry id="rule{r}_in{c}"><text>{escape(text)}</text></inputEntry>')
        for c, text in enumerate(output_entries, start=1):
            parts.append(f'<outputEntry id="rule{r}_out{c}"><text>{escape(text)}</text></outputEntry>')
        parts.append("</rule>")
    parts.append("</decisionTable></decision>")
    parts.append(extra)
    parts.append("</definitions>")
    return "".join(parts).encode()


@pytest.fixture
def table() -> TableBuilder:
    return build_table


@pytest.fixture
def spot_check_fines() -> bytes:
    return (FIXTURES / "spot-check-fines.dmn").read_bytes()
