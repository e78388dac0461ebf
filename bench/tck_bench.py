"""DMN TCK runner: levels 2 and 3 of github:dmn-tck/tck through DeployResource + EvaluateDecision.

The TCK is not part of this repository; point the runner at a checkout of it (the folder holding
``TestCases/``)::

    python -m bench tck --tck-dir /tmp/tck
    python -m bench tck --tck-dir /tmp/tck --details /tmp/tck-results.json --only 0008

An embedded engine starts on a free loopback port; each test folder's model is deployed over gRPC
(alone first, then with the folder's other ``.dmn`` files for models that import them), and each
``testCase`` is evaluated over gRPC, once per ``resultNode``, by the decision key the deployment
reported for the node's decision name. The decision's JSON output is compared with the TCK's
expected value (``testCases.xsd``: ``value`` with ``xsi:type``, ``component``, ``list``/``item``,
``xsi:nil``): numbers as decimals (to 1e-9 relative for doubles), dates/times/durations by value.

A case passes when every result node matches. Outcomes:

- ``passed``;
- ``failed``: evaluated, wrong value (or an evaluation failure where a value was expected);
- ``refused``: the model was refused at deploy (counted per case of that model);
- ``unsupported``: a case invoking a business knowledge model or decision service directly
  (EvaluateDecision evaluates decisions only).

Exit status 0 when the run completes (the counts are the result, not a gate).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

LEVELS = ("compliance-level-2", "compliance-level-3")
TC = "{http://www.omg.org/spec/DMN/20160719/testcase}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
MISSING = object()  # a resultNode without an expected value


@dataclass
class ResultNode:
    name: str
    expected: Any
    error_result: bool


@dataclass
class TestCase:
    folder: str
    model: str
    case_id: str
    kind: str
    inputs: dict[str, Any]
    results: list[ResultNode]


@dataclass
class Outcome:
    case: TestCase
    status: str  # passed | failed | refused | unsupported
    reason: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> collections.Counter[str]:
        return collections.Counter(o.status for o in self.outcomes)


# -- the TCK's XML test format ---------------------------------------------------------------------


def parse_value(element: ET.Element) -> Any:
    """A ``valueType`` element (inputNode, component, item, expected) as a JSON-like Python value.

    Numbers become :class:`Decimal`; dates, times, date-times and durations stay ISO text (the
    engine's variables are JSON, where a temporal value is a string).
    """
    value = element.find(f"{TC}value")
    if value is not None:
        if value.get(f"{XSI}nil") == "true":
            return None
        text = value.text or ""
        kind = (value.get(f"{XSI}type") or "").split(":")[-1]
        if kind in ("decimal", "double", "int", "integer", "long", "float"):
            return Decimal(text.strip())
        if kind == "boolean":
            return text.strip() == "true"
        return text
    components = element.findall(f"{TC}component")
    if components:
        return {c.get("name", ""): parse_value(c) for c in components}
    lst = element.find(f"{TC}list")
    if lst is not None:
        if lst.get(f"{XSI}nil") == "true":
            return None
        return [parse_value(item) for item in lst.findall(f"{TC}item")]
    if element.get(f"{XSI}nil") == "true":
        return None
    return MISSING


def read_cases(test_file: Path) -> list[TestCase]:
    root = ET.parse(test_file).getroot()
    model = (root.findtext(f"{TC}modelName") or "").strip()
    cases = []
    for tc in root.findall(f"{TC}testCase"):
        inputs = {}
        for node in tc.findall(f"{TC}inputNode"):
            value = parse_value(node)
            inputs[node.get("name", "")] = None if value is MISSING else value
        results = []
        for node in tc.findall(f"{TC}resultNode"):
            expected_el = node.find(f"{TC}expected")
            expected = parse_value(expected_el) if expected_el is not None else MISSING
            results.append(ResultNode(node.get("name", ""), expected, node.get("errorResult") == "true"))
        cases.append(
            TestCase(
                folder=test_file.parent.name,
                model=model,
                case_id=tc.get("id", "?"),
                kind=tc.get("type", "decision"),
                inputs=inputs,
                results=results,
            )
        )
    return cases


# -- comparing results -----------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def _duration(text: str) -> tuple[int, Decimal] | None:
    """(months, seconds) of an ISO 8601 duration, or None."""
    m = _DURATION.match(text.strip())
    if m is None or text.strip() in ("P", "-P", "PT", "-PT"):
        return None
    sign = -1 if m["sign"] else 1
    months = int(m["y"] or 0) * 12 + int(m["mo"] or 0)
    seconds = Decimal(m["d"] or 0) * 86400 + Decimal(m["h"] or 0) * 3600 + Decimal(m["mi"] or 0) * 60
    seconds += Decimal(m["s"] or 0)
    return sign * months, sign * seconds


def _temporal(text: str) -> Any:
    text = text.strip()
    if "@" in text:  # Camunda's zone notation 2024-01-01T10:00:00@Europe/Berlin
        return text
    for parse in (date.fromisoformat, datetime.fromisoformat, time.fromisoformat):
        try:
            value = parse(text.replace("Z", "+00:00"))
        except ValueError:
            continue
        if isinstance(value, time) and value.tzinfo is not None:
            return (value.replace(tzinfo=None), value.utcoffset())
        return value
    return None


def same(expected: Any, actual: Any) -> bool:
    """Whether the engine's JSON ``actual`` is the TCK's ``expected`` value."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, Decimal):
        if not isinstance(actual, (int, float, Decimal)):
            return False
        try:
            got = Decimal(str(actual))
        except InvalidOperation:
            return False
        if got == expected:
            return True
        scale = max(abs(expected), abs(got), Decimal(1))
        return abs(got - expected) <= scale * Decimal("1e-9")
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(expected) == set(actual)
            and all(same(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        if expected == actual:
            return True
        d_exp, d_act = _duration(expected), _duration(actual)
        if d_exp is not None and d_act is not None:
            return d_exp == d_act
        t_exp, t_act = _temporal(expected), _temporal(actual)
        return t_exp is not None and t_exp == t_act and type(t_exp) is type(t_act)
    return bool(expected == actual)


def to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


# -- running against the engine --------------------------------------------------------------------


def _decision_names(model: Path) -> dict[str, str]:
    """decision name -> decision id in a DMN file (test files name decisions by name)."""
    try:
        root = ET.parse(model).getroot()
    except ET.ParseError:
        return {}
    names = {}
    for el in root:
        if el.tag.endswith("}decision"):
            ident = el.get("id") or el.get("name", "")
            names[el.get("name", ident)] = ident
            names.setdefault(ident, ident)
    return names


async def run(tck_dir: Path, only: str | None, verbose: bool) -> Report:
    import grpc
    from pyzeebe.proto import gateway_pb2 as pb
    from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

    from procgov_engine.testing import EmbeddedEngine

    report = Report()
    folders = []
    for level in LEVELS:
        base = tck_dir / "TestCases" / level
        if not base.is_dir():
            raise SystemExit(f"no {base}: --tck-dir must be a checkout of github:dmn-tck/tck")
        folders += sorted(p for p in base.iterdir() if p.is_dir() and (only is None or only in p.name))
    with tempfile.TemporaryDirectory(prefix="procgov-tck-") as data_dir:
        async with EmbeddedEngine(data_dir) as engine, grpc.aio.insecure_channel(engine.address) as channel:
            stub = GatewayStub(channel)

            async def deploy(files: list[Path]) -> tuple[dict[str, int], str]:
                request = pb.DeployResourceRequest(
                    resources=[pb.Resource(name=f.name, content=f.read_bytes()) for f in files]
                )
                try:
                    response = await stub.DeployResource(request, timeout=60)
                except grpc.aio.AioRpcError as exc:
                    return {}, f"{exc.code().name}: {exc.details()}"
                resource_of = {
                    d.decisionRequirements.decisionRequirementsKey: d.decisionRequirements.resourceName
                    for d in response.deployments
                    if d.WhichOneof("Metadata") == "decisionRequirements"
                }
                keys = {}
                for d in response.deployments:
                    if d.WhichOneof("Metadata") == "decision":
                        resource = resource_of.get(d.decision.decisionRequirementsKey, "")
                        keys[f"{resource}\0{d.decision.dmnDecisionId}"] = d.decision.decisionKey
                return keys, ""

            for folder in folders:
                cases = [c for t in sorted(folder.glob("*.xml")) if "test" in t.name for c in read_cases(t)]
                models = sorted(folder.glob("*.dmn"))
                deployed: dict[str, tuple[dict[str, int], str]] = {}
                for case in cases:
                    if case.model not in deployed:
                        main = folder / case.model
                        keys, error = await deploy([main])
                        if error and len(models) > 1:
                            keys, error = await deploy([main, *[m for m in models if m != main]])
                        deployed[case.model] = (keys, error)
                    keys, error = deployed[case.model]
                    if error:
                        report.outcomes.append(Outcome(case, "refused", error))
                        continue
                    if case.kind != "decision":
                        report.outcomes.append(Outcome(case, "unsupported", f"testCase type {case.kind}"))
                        continue
                    names = _decision_names(folder / case.model)
                    reason = ""
                    for node in case.results:
                        decision_id = names.get(node.name, node.name)
                        key = keys.get(f"{case.model}\0{decision_id}")
                        if key is None:
                            reason = f"no decision {node.name!r} deployed"
                            break
                        variables = json.dumps(to_json(case.inputs))
                        try:
                            response = await stub.EvaluateDecision(
                                pb.EvaluateDecisionRequest(decisionKey=key, variables=variables), timeout=30
                            )
                        except grpc.aio.AioRpcError as exc:
                            if node.error_result:
                                continue
                            reason = f"{node.name}: {exc.code().name}: {exc.details()}"
                            break
                        if response.failureMessage:
                            if node.error_result or node.expected is None:
                                continue
                            reason = f"{node.name}: failed: {response.failureMessage}"
                            break
                        actual = json.loads(response.decisionOutput) if response.decisionOutput else None
                        if node.error_result and actual is None:
                            continue
                        if node.expected is MISSING:
                            continue
                        if not same(node.expected, actual):
                            reason = f"{node.name}: expected {to_json(node.expected)!r}, got {actual!r}"
                            break
                    outcome = Outcome(case, "failed" if reason else "passed", reason)
                    report.outcomes.append(outcome)
                    if verbose and reason:
                        print(f"{case.folder} {case.case_id}: {reason}"[:300], flush=True)
    return report


def _reason_category(outcome: Outcome) -> str:
    """A short grouping key for a refusal or failure (first line, numbers and quotes blanked)."""
    text = outcome.reason.splitlines()[0] if outcome.reason else ""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return text[:120]


def print_report(report: Report) -> None:
    counts = report.counts()
    total = len(report.outcomes)
    print(f"DMN TCK levels 2+3: {total} test cases")
    for status in ("passed", "failed", "refused", "unsupported"):
        print(f"  {status:<12} {counts.get(status, 0):>5}")
    print("by status and reason (cases):")
    for status in ("refused", "failed", "unsupported"):
        reasons = collections.Counter(_reason_category(o) for o in report.outcomes if o.status == status)
        for reason, n in reasons.most_common(25):
            print(f"  {status:<8} {n:>5}  {reason}")
    folders: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for o in report.outcomes:
        folders[o.case.folder][o.status] += 1
    worst = sorted(folders.items(), key=lambda kv: -(kv[1]["failed"] + kv[1]["refused"]))[:25]
    print("folders with most failed+refused cases:")
    for name, c in worst:
        if c["failed"] + c["refused"]:
            print(f"  {name:<60} passed {c['passed']:>4} failed {c['failed']:>4} refused {c['refused']:>4}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench tck", description=__doc__.splitlines()[0])
    parser.add_argument("--tck-dir", type=Path, help="checkout of github:dmn-tck/tck (holds TestCases/)")
    parser.add_argument("--only", help="only test folders whose name contains this text")
    parser.add_argument("--details", type=Path, help="write every case's outcome as JSON here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure as it happens")
    args = parser.parse_args(argv)
    if args.tck_dir is None:
        print("tck: skipped (needs --tck-dir, a checkout of github:dmn-tck/tck)")
        return 0
    report = asyncio.run(run(args.tck_dir, args.only, args.verbose))
    print_report(report)
    if args.details:
        rows = [
            {"folder": o.case.folder, "case": o.case.case_id, "status": o.status, "reason": o.reason}
            for o in report.outcomes
        ]
        args.details.write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
