"""``procgov start``: the sample request files as they ship (YAML or JSON), and the per-process start
contract (``bpmn/start-contracts.yaml``) that refuses a start missing a required variable, with the
names, before any instance exists. The contract is checked against the models and the workers' own
input rules so it cannot drift from them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from typer.testing import CliRunner

from procgov.cli import app
from procgov.commands.start_contracts import CONTRACTS_FILE, ContractError, load_contracts

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
CONTRACTS = load_contracts()


async def procgov(*args: str) -> Result:
    env = {"PROCGOV_OTLP_ENDPOINT": None, "ZEEBE_ADDRESS": None, "COLUMNS": "200"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


def _instances(zeebe: Any) -> list[dict[str, Any]]:
    return [r for r in zeebe.records() if r["valueType"] == "PROCESS_INSTANCE" and r["intent"] == "ELEMENT_ACTIVATING"]


def test_every_contract_names_a_process_of_bpmn() -> None:
    process_ids = set()
    for model in BPMN_DIR.glob("*.bpmn"):
        process_ids |= set(re.findall(r'<bpmn:process id="([^"]+)"', model.read_text(encoding="utf-8")))
    assert set(CONTRACTS) == process_ids


def test_change_request_contract_is_the_form_the_workers_check() -> None:
    from workers.slm.changes import FORM_FIELDS, ORIGINS, SCOPES

    contract = CONTRACTS["procgov-change-request"]
    assert contract.required == list(FORM_FIELDS)  # 100104 §2.3.3: an incomplete form is returned
    specs = {spec.name: spec for spec in contract.variables}
    assert specs["origin"].enum == ORIGINS and specs["scope"].enum == SCOPES


def test_rollout_contract_is_the_start_variables_table_of_the_rollout_readme() -> None:
    table = (ROOT / "workers" / "rollout" / "README.md").read_text(encoding="utf-8")
    required = []
    for row in re.findall(r"^\| (.+?) \| .+? \| required \|$", table, re.MULTILINE):
        required += re.findall(r"`(\w+)`", row)
    assert CONTRACTS["procgov-rollout"].required == required


@pytest.mark.parametrize("process_id", [p for p, c in CONTRACTS.items() if c.sample])
def test_the_shipped_sample_request_satisfies_its_contract(process_id: str) -> None:
    contract = CONTRACTS[process_id]
    sample = yaml.safe_load((ROOT / str(contract.sample)).read_text(encoding="utf-8"))
    assert contract.problems(sample) == []


def test_the_demo_starts_satisfy_the_contracts() -> None:
    from procgov.demo.slm import CHANGE

    assert CONTRACTS["procgov-change-request"].problems(CHANGE) == []


def test_problems_name_missing_and_unaccepted_values() -> None:
    contract = CONTRACTS["procgov-change-request"]
    sample = yaml.safe_load((ROOT / "data" / "slm" / "change-request.yaml").read_text(encoding="utf-8"))
    bad = {**sample, "scope": "company", "currentVersion": "2.1", "overdueReminders": True}
    del bad["requester"]
    assert contract.problems(bad) == [
        "missing requester",
        r"currentVersion: '2.1' does not match ^[Vv]\d+\.\d+$",
        "scope: must be one of department, cross-department, got 'company'",
        "overdueReminders: expected integer, got bool True",
    ]


def test_a_broken_contract_file_names_the_variable(tmp_path: Path) -> None:
    broken = tmp_path / "contracts.yaml"
    broken.write_text("p:\n  variables:\n    x: {type: text}\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"p\.x: type must be one of"):
        load_contracts(broken)
    assert CONTRACTS_FILE.parent == BPMN_DIR


async def test_start_takes_the_sample_yaml_as_it_ships(zeebe: Any) -> None:
    await zeebe.deploy(*sorted(BPMN_DIR.glob("*.bpmn")), *sorted(BPMN_DIR.glob("*.form")))
    sample = ROOT / "data" / "rollout" / "rollout-request.yaml"
    for option in ("--file", "--json"):  # --json is kept for JSON and YAML alike
        result = await procgov("start", "procgov-rollout", option, str(sample), "--gateway", zeebe.address)
        assert result.exit_code == 0, result.output
        key = json.loads(result.stdout)["processInstanceKey"]
        variables = zeebe.instance(key).variables()
        assert variables["affectedEmployees"] == yaml.safe_load(sample.read_text(encoding="utf-8"))["affectedEmployees"]
        assert variables["companySize"] == "small"


async def test_yaml_dates_arrive_as_iso_strings_and_vars_override_the_file(zeebe: Any, tmp_path: Path) -> None:
    await zeebe.deploy(BPMN_DIR / "procgov-change-request.bpmn")
    request = tmp_path / "request.yml"
    request.write_text(
        (ROOT / "data" / "slm" / "change-request.yaml").read_text(encoding="utf-8") + "raisedOn: 2026-03-02\n",
        encoding="utf-8",
    )
    result = await procgov(
        "start",
        "procgov-change-request",
        "-f",
        str(request),
        "--var",
        "scope=cross-department",
        "--gateway",
        zeebe.address,
    )
    assert result.exit_code == 0, result.output
    variables = zeebe.instance(json.loads(result.stdout)["processInstanceKey"]).variables()
    assert variables["raisedOn"] == "2026-03-02"
    assert variables["scope"] == "cross-department"


async def test_a_start_without_the_required_variables_is_refused_with_their_names(zeebe: Any) -> None:
    await zeebe.deploy(BPMN_DIR / "procgov-change-request.bpmn")
    result = await procgov(
        "start",
        "procgov-change-request",
        "--var",
        "processId=P-001",
        "--var",
        "scope=department",
        "--gateway",
        zeebe.address,
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "procgov: procgov-change-request cannot start: missing processName, currentVersion, origin, department,"
        " departmentHead, requester, problem, proposedChange (a complete example: --file data/slm/change-request.yaml)"
    )
    assert _instances(zeebe) == []  # refused before the gateway was asked


async def test_a_file_that_is_not_an_object_of_variables_is_refused(tmp_path: Path) -> None:
    listing = tmp_path / "people.yaml"
    listing.write_text("- li.ming\n- wang.fang\n", encoding="utf-8")
    result = await procgov("start", "procgov-sla-review", "--file", str(listing), "--gateway", "127.0.0.1:1")
    assert result.exit_code == 2
    assert "expected an object of variables, got list" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{processId: 1}", encoding="utf-8")
    result = await procgov("start", "procgov-sla-review", "--file", str(broken), "--gateway", "127.0.0.1:1")
    assert result.exit_code == 2
    assert f"--file {broken}: not valid JSON" in result.stderr


async def test_a_process_without_a_contract_starts_unchecked(zeebe: Any) -> None:
    await zeebe.deploy(ROOT / "tests" / "runtime" / "bpmn" / "review.bpmn")
    result = await procgov("start", "runtime-review", "--gateway", zeebe.address)
    assert result.exit_code == 0, result.output
