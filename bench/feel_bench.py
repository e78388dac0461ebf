"""FEEL and DMN micro benchmark: what the engine pays per expression, per cell, per decision.

Measures, in-process and single-threaded:

1. parse + compile of typical Zeebe expressions (cache bypassed), µs per expression;
2. evaluation of the compiled expressions with a realistic variable set, µs per evaluation;
3. unary-test matching (DMN input entries), µs per match;
4. a whole decision evaluation (``tests/engine/dmn/fixtures/spot-check-fines.dmn``, required decision
   included), µs per evaluation.

The baseline, measured in the same run, is CPython itself: ``compile()`` and ``eval()`` of the same ten
expressions written in Python. The ratio says what FEEL's semantics (decimals, null propagation,
temporal values) cost over the interpreter it runs on.

``python -m bench feel -- --iterations 20000``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from procgov_engine.dmn import evaluate_decision, parse_dmn
from procgov_engine.feel import compile_expression, compile_unary_tests
from procgov_engine.feel.compiler import Compiler
from procgov_engine.feel.parser import parse

EXPRESSIONS = [
    "approved",
    "reviewMonth",
    "count(missedIndicators) > 0",
    'origin = "inspection" and scope = "cross-department"',
    'sum(findings[type = "repeat-problem"].fineYuan)',
    "if daysLate > 0 then daysLate * 10 else 0",
    "{month: reviewMonth, met: count(missedIndicators) = 0, totalFinesYuan: string(sum(findings.fineYuan))}",
    "for f in findings return f.fineYuan * 2",
    'date(reviewMonth + "-25") + duration("P1D")',
    "some f in findings satisfies f.fineYuan >= 40",
]
VARIABLES = {
    "approved": True,
    "reviewMonth": "2026-03",
    "missedIndicators": ["IND-001", "IND-007"],
    "origin": "inspection",
    "scope": "cross-department",
    "daysLate": 3,
    "findings": [
        {"type": "undetected-violation", "fineYuan": 20},
        {"type": "repeat-problem", "fineYuan": 40},
        {"type": "design-defect-no-change", "fineYuan": 10},
    ],
}
# The same expressions in Python, over the same variables (the baseline).
PYTHON_EQUIVALENTS = [
    "approved",
    "reviewMonth",
    "len(missedIndicators) > 0",
    'origin == "inspection" and scope == "cross-department"',
    'sum(f["fineYuan"] for f in findings if f["type"] == "repeat-problem")',
    "daysLate * 10 if daysLate > 0 else 0",
    '{"month": reviewMonth, "met": len(missedIndicators) == 0,'
    ' "totalFinesYuan": str(sum(f["fineYuan"] for f in findings))}',
    '[f["fineYuan"] * 2 for f in findings]',
    'date.fromisoformat(reviewMonth + "-25") + timedelta(days=1)',
    'any(f["fineYuan"] >= 40 for f in findings)',
]
UNARY_TESTS = [("> 5", 7), ("[1..10]", 3), ('"self-check", "inspection"', "inspection"), ("not(1, 2)", 3), ("-", 1)]
DMN = Path(__file__).resolve().parent.parent / "tests" / "engine" / "dmn" / "fixtures" / "spot-check-fines.dmn"


def _per_op(action: Callable[[], object], ops_per_call: int, iterations: int, repeats: int = 5) -> tuple[float, float]:
    """Median and best µs per operation over ``repeats`` timed runs."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            action()
        samples.append((time.perf_counter() - start) / (iterations * ops_per_call) * 1e6)
    return statistics.median(samples), min(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench feel")
    parser.add_argument("--iterations", type=int, default=2000, help="calls per timed run (default 2000)")
    args = parser.parse_args(argv or [])
    n = args.iterations

    def compile_all() -> None:
        for text in EXPRESSIONS:
            Compiler().transform(parse(text, "expression"))

    compiled = [compile_expression(text) for text in EXPRESSIONS]

    def evaluate_all() -> None:
        for expr in compiled:
            expr.evaluate(VARIABLES)

    tests = [(compile_unary_tests(text), value) for text, value in UNARY_TESTS]

    def match_all() -> None:
        for test, value in tests:
            test.matches(value)

    drg = parse_dmn(DMN.read_bytes())
    decision_vars = {"finding": "repeat-problem", "role": "head", "cases": 3}

    def decide() -> None:
        evaluate_decision(drg, "spotCheckTotal", decision_vars)

    def python_compile_all() -> None:
        for text in PYTHON_EQUIVALENTS:
            compile(text, "<bench>", "eval")

    python_code = [compile(text, "<bench>", "eval") for text in PYTHON_EQUIVALENTS]
    python_scope = {**VARIABLES, "date": date, "timedelta": timedelta}

    def python_evaluate_all() -> None:
        for code in python_code:
            eval(code, python_scope)

    compile_baseline = _per_op(python_compile_all, len(PYTHON_EQUIVALENTS), max(n // 20, 10))
    evaluate_baseline = _per_op(python_evaluate_all, len(PYTHON_EQUIVALENTS), n)
    rows = [
        ("parse+compile expression", _per_op(compile_all, len(EXPRESSIONS), max(n // 20, 10)), compile_baseline),
        ("evaluate compiled expression", _per_op(evaluate_all, len(EXPRESSIONS), n), evaluate_baseline),
        ("match unary tests (DMN cell)", _per_op(match_all, len(tests), n), None),
        ("evaluate decision (9-rule table + literal)", _per_op(decide, 1, max(n // 4, 10)), None),
    ]
    print(f"{'operation':<46}{'median µs/op':>14}{'best µs/op':>12}{'Python µs/op':>14}{'× Python':>10}")
    for name, (median, best), baseline in rows:
        ratio = f"{median / baseline[0]:>10.1f}" if baseline else f"{'':>10}"
        python = f"{baseline[0]:>14.2f}" if baseline else f"{'':>14}"
        print(f"{name:<46}{median:>14.1f}{best:>12.1f}{python}{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
