"""The registry of worker groups: which groups exist and how to build their routers.

Each group ``workers/<name>/`` declares (docs/contracts.md, "Worker runtime surface"):

- ``workers/<name>/router.py``: ``build_router(deps) -> TaskRouter`` and ``Deps``, a class with
  ``Deps.from_settings(settings: WorkerSettings) -> Deps`` (mail, webhooks, rule data, stores …);
- ``workers/<name>/__init__.py``: ``DECISIONS``, a tuple of every :class:`Decision` the group records,
  so audit can replay them.

Groups are imported lazily by name, so ``procgov --help`` stays fast and a group that is not written
yet (or fails to import) is reported, not fatal, unless it is asked for explicitly.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from workers.runtime import Decision, TaskRouter
from workers.runtime.settings import WorkerSettings

GROUP_NAMES: tuple[str, ...] = ("rollout", "slm", "audit")


class GroupUnavailable(Exception):
    """A group cannot be loaded; the message says which and why."""


@dataclass(frozen=True)
class WorkerGroup:
    name: str
    package: ModuleType
    router_module: ModuleType

    @property
    def decisions(self) -> tuple[Decision[Any, Any, Any], ...]:
        return tuple(getattr(self.package, "DECISIONS", ()))

    def build_router(self, settings: WorkerSettings) -> TaskRouter:
        from_settings = self.router_module.Deps.from_settings
        if "registry" in inspect.signature(from_settings).parameters:
            # A group that re-checks decisions (audit) gets every group's decisions to replay with.
            deps = from_settings(settings, registry=decision_registry())
        else:
            deps = from_settings(settings)
        router = self.router_module.build_router(deps)
        if not isinstance(router, TaskRouter):
            raise GroupUnavailable(
                f"workers.{self.name}.router.build_router returned {type(router).__name__}, not a TaskRouter"
            )
        return router


def load_group(name: str) -> WorkerGroup:
    if name not in GROUP_NAMES:
        raise GroupUnavailable(f"unknown worker group {name!r} (known: {', '.join(GROUP_NAMES)})")
    try:
        package = importlib.import_module(f"workers.{name}")
        router_module = importlib.import_module(f"workers.{name}.router")
    except ModuleNotFoundError as error:
        if error.name and (error.name == f"workers.{name}" or error.name.startswith(f"workers.{name}.router")):
            raise GroupUnavailable(f"worker group {name!r} has no workers/{name}/router.py yet") from error
        raise GroupUnavailable(f"worker group {name!r} cannot be imported: {error}") from error
    except ImportError as error:
        raise GroupUnavailable(f"worker group {name!r} cannot be imported: {error}") from error
    if not hasattr(router_module, "Deps") and hasattr(router_module, f"{name.capitalize()}Deps"):
        setattr(router_module, "Deps", getattr(router_module, f"{name.capitalize()}Deps"))  # noqa: B010 - e.g. RolloutDeps
    missing = [attr for attr in ("build_router", "Deps") if not hasattr(router_module, attr)]
    if missing:
        raise GroupUnavailable(f"workers/{name}/router.py lacks {' and '.join(missing)}")
    return WorkerGroup(name, package, router_module)


def load_groups(names: Iterable[str] | None = None) -> tuple[list[WorkerGroup], list[str]]:
    """Load ``names`` (all known groups when None). Returns the loaded groups and, for the default
    set only, the reasons the others were skipped; asked-for groups that fail raise."""
    if names is not None:
        return [load_group(name) for name in names], []
    groups, skipped = [], []
    for name in GROUP_NAMES:
        try:
            groups.append(load_group(name))
        except GroupUnavailable as error:
            skipped.append(str(error))
    return groups, skipped


def decision_registry(groups: Sequence[WorkerGroup] | None = None) -> dict[str, Decision[Any, Any, Any]]:
    """``{decision.name: Decision}`` over every group's ``DECISIONS`` (what audit replays with).

    Only the group packages are imported (not their routers), so this works without settings. A
    group package that fails to import raises :class:`GroupUnavailable`.
    """
    packages: list[tuple[str, ModuleType]] = []
    if groups is None:
        for name in GROUP_NAMES:
            try:
                packages.append((name, importlib.import_module(f"workers.{name}")))
            except ImportError as error:
                # Skipping it would silently drop its decisions from audit replay.
                raise GroupUnavailable(
                    f"worker group {name!r} cannot be imported, so its decisions cannot be replayed: {error}"
                ) from error
    else:
        packages = [(group.name, group.package) for group in groups]
    registry: dict[str, Decision[Any, Any, Any]] = {}
    owner: dict[str, str] = {}
    for name, package in packages:
        for decision in getattr(package, "DECISIONS", ()):
            if decision.name in registry and registry[decision.name] is not decision:
                raise ValueError(
                    f"decision {decision.name!r} is declared by groups {owner[decision.name]!r} and {name!r}"
                )
            registry[decision.name] = decision
            owner[decision.name] = name
    return registry
