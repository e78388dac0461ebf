"""The worker-group registry: groups load lazily by name; a missing one is reported, not fatal."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from procgov.groups import GROUP_NAMES, GroupUnavailable, decision_registry, load_group, load_groups
from tests.runtime.handlers import GRADE, grade_router
from workers.runtime.settings import WorkerSettings


class FakeDeps:
    """Stands in for a group's Deps: records the settings it was built from."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> FakeDeps:
        return cls(settings)


@pytest.fixture
def installed_group(monkeypatch: pytest.MonkeyPatch) -> str:
    """Install a group module pair under the name ``audit`` as a group would ship it."""
    package = types.ModuleType("workers.audit")
    package.DECISIONS = (GRADE,)  # type: ignore[attr-defined]
    router = types.ModuleType("workers.audit.router")
    router.Deps = FakeDeps  # type: ignore[attr-defined]
    built: list[Any] = []

    def build_router(deps: FakeDeps) -> Any:
        built.append(deps)
        return grade_router()

    router.build_router = build_router  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "workers.audit", package)
    monkeypatch.setitem(sys.modules, "workers.audit.router", router)
    return "audit"


def test_a_group_builds_its_router_from_settings(installed_group: str) -> None:
    group = load_group(installed_group)
    router = group.build_router(WorkerSettings(_env_file=None))  # type: ignore[call-arg]
    assert router.task_types == ["runtime-test.grade"]
    assert group.decisions == (GRADE,)


def test_decision_registry_collects_every_groups_decisions(installed_group: str) -> None:
    registry = decision_registry([load_group(installed_group)])
    assert registry == {"runtime-test.exam-grade": GRADE}


def test_unknown_and_missing_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GroupUnavailable, match="unknown worker group 'billing'"):
        load_group("billing")
    monkeypatch.setitem(sys.modules, "workers.slm.router", None)  # import of it fails like a missing file
    with pytest.raises(GroupUnavailable, match="worker group 'slm'"):
        load_group("slm")
    groups, skipped = load_groups()
    assert "slm" not in [g.name for g in groups]
    assert any("'slm'" in reason for reason in skipped)
    assert len(groups) + len(skipped) == len(GROUP_NAMES)


def test_decision_registry_reports_a_group_that_fails_to_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """A group that cannot be imported must not silently drop its decisions from audit replay."""
    monkeypatch.setitem(sys.modules, "workers.slm", None)  # import of it fails
    with pytest.raises(GroupUnavailable, match="worker group 'slm' cannot be imported"):
        decision_registry()
