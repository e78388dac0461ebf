"""Arguments a newcomer gets wrong: an engine port or address that cannot be served is refused (exit 2,
naming the option) before anything starts, and ``procgov deploy`` lints ``bpmn/`` from a checkout's
root with the checkout's ``bpmn/.bpmnlintrc``, telling a broken lint set-up apart from broken models."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from procgov.cli import app
from procgov.commands import deploy as deploy_command
from procgov.commands.deploy import BPMNLINT
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--port", "99999", "99999 is not a TCP port"),
        ("--port", "-1", "-1 is not a TCP port"),
        ("--host", "no-such-host.invalid", "'no-such-host.invalid' is not an address this machine can resolve"),
        ("--host", "", "an address is required"),
    ],
)
def test_engine_refuses_an_unusable_address_before_starting(option: str, value: str, says: str, tmp_path: Path) -> None:
    data = tmp_path / "engine"
    result = CliRunner().invoke(app, ["engine", option, value, "--data", str(data)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output and says in result.output
    assert not data.exists()


@pytest.mark.parametrize("command", [["start", "procgov-sla-review"], ["deploy", "--no-lint"]])
def test_a_gateway_that_is_not_host_port_is_refused(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--gateway", "localhost:99999"])
    assert result.exit_code == 2
    assert "PROCGOV_GATEWAY_ADDRESS: expected host:port, got 'localhost:99999'" in result.stderr


def _checkout_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("node") is None or not BPMNLINT.exists():
        skip_or_fail("node and tools/node_modules (bpmnlint) are needed")
    shutil.copytree(ROOT / "bpmn", tmp_path / "bpmn")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "bpmn"


@pytest.mark.node
async def test_deploy_lints_the_relative_bpmn_dir_with_its_config(
    zeebe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's ``procgov deploy`` from a fresh clone's root: relative ``bpmn/``, bpmnlint run in tools/."""
    import asyncio

    _checkout_copy(tmp_path, monkeypatch)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["deploy", "--gateway", zeebe.address])
    assert result.exit_code == 0, result.output
    assert "process   procgov-rollout v1" in result.stdout


@pytest.mark.node
def test_a_lint_set_up_that_cannot_run_is_not_blamed_on_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bpmn = _checkout_copy(tmp_path, monkeypatch)
    (bpmn / ".bpmnlintrc").write_text('{"extends": ["plugin:no-such-plugin/all"]}', encoding="utf-8")
    monkeypatch.setattr(deploy_command, "ROOT", tmp_path)  # no fallback to the checkout's own config
    result = CliRunner().invoke(app, ["deploy", "--gateway", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.stderr.startswith("procgov: bpmnlint could not run (exit 1): ")
    assert "found problems in the models" not in result.stderr
