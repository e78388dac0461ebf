"""Loading the shipped deployment files once, and the facts the deploy tests check them against.

No container engine or cluster runs here, so the deploy tests validate the files themselves: against
the Compose Specification and Kubernetes schemas (both vendored by dev dependencies, never fetched),
and against what the code actually serves (health paths, port, worker groups).
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
K8S_DIR = ROOT / "deploy" / "k8s"
OTEL_CONFIG = ROOT / "deploy" / "otel-collector.yaml"

# The Kubernetes minor version the manifests must be valid for (oldest still-supported upstream).
K8S_VERSION = "1.31"


def worker_groups() -> list[str]:
    """Every worker group the composition root knows (``procgov.groups.GROUP_NAMES``)."""
    from procgov.groups import GROUP_NAMES

    on_disk = {p.name for p in (ROOT / "workers").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert set(GROUP_NAMES) <= on_disk, f"groups without a package under workers/: {set(GROUP_NAMES) - on_disk}"
    return list(GROUP_NAMES)


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def load_k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every Kubernetes object in deploy/k8s/ (kustomization.yaml is not one), with its file."""
    docs: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                assert isinstance(doc, dict), f"{path.name}: every document must be a mapping"
                docs.append((path, doc))
    return docs


def load_kustomization() -> dict[str, Any]:
    data = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def env_mapping(environment: Any) -> dict[str, str]:
    """A compose ``environment`` (mapping or ``KEY=VALUE`` list) as a dict of strings."""
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return {str(k): "" if v is None else str(v) for k, v in environment.items()}
    result: dict[str, str] = {}
    for item in environment:
        key, _, value = str(item).partition("=")
        result[key] = value
    return result


def dockerfile_instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        keyword, _, args = logical.partition(" ")
        yield keyword.upper(), args.strip()
        logical = ""


_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.IGNORECASE)
_URL_WITH_PASSWORD = re.compile(r"://[^/@:\s]+:[^/@\s]+@")


def looks_secret(name: str, value: str) -> bool:
    """A setting that must live in a Secret: a secret-ish name, or a URL carrying a password."""
    return bool(_SECRET_NAME.search(name) or _URL_WITH_PASSWORD.search(value))


@functools.cache
def settings_classes() -> dict[str, type[Any]]:
    """``{env prefix: settings class}`` for the runtime and every worker group (their routers are
    imported, which imports the groups' own ``BaseSettings``, e.g. ``PROCGOV_ROLLOUT_``)."""
    from pydantic_settings import BaseSettings

    from procgov.groups import GROUP_NAMES

    for name in GROUP_NAMES:
        importlib.import_module(f"workers.{name}.router")
    classes: dict[str, type[Any]] = {}
    pending: list[type[Any]] = list(BaseSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        prefix = cls.model_config.get("env_prefix", "")
        if cls.__module__.startswith("workers.") and prefix.startswith("PROCGOV_"):
            classes[prefix] = cls
    return classes


def unknown_settings(names: Iterable[str]) -> list[str]:
    """The ``PROCGOV_*`` names no settings class reads (they all allow extra names, so a typo would
    silently fall back to a default).

    A name maps onto a settings class whose prefix it starts with: ``PREFIX_FIELD`` or
    ``PREFIX_FIELD__SUBFIELD`` for nested models; a dict-valued field takes any key.
    """
    from pydantic import BaseModel

    classes = settings_classes()

    def known(model: type[BaseModel], parts: list[str]) -> bool:
        head, rest = parts[0], parts[1:]
        if head not in model.model_fields:
            return False
        annotation = model.model_fields[head].annotation
        if not rest:
            return True
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return known(annotation, rest)
        return getattr(annotation, "__origin__", None) is dict

    unknown = []
    for name in names:
        if not name.startswith("PROCGOV_"):
            continue
        # Every class whose prefix matches reads the name (PROCGOV_AUDIT_KEY_FILE is the runtime's
        # audit_key_file although PROCGOV_AUDIT_ is the audit group's prefix).
        prefixes = [p for p in classes if name.startswith(p)]
        if not any(known(classes[p], name.removeprefix(p).lower().split("__")) for p in prefixes):
            unknown.append(name)
    return unknown


def default_health_port() -> int:
    from workers.runtime.settings import WorkerSettings

    default = WorkerSettings.model_fields["health_port"].default
    assert isinstance(default, int)
    return default


# The workspace's distributions (pyproject.toml, [tool.uv.workspace]) and the package each one ships.
DISTRIBUTIONS = {"procgov": "procgov", "procgov-engine": "procgov_engine", "procgov-workers": "workers"}
MEMBERS_DIR = ROOT / "packages"


def uv_binary() -> str | None:
    """The pinned uv ``make setup`` installs (``.tools/bin/uv``), else one on ``PATH``."""
    import shutil

    pinned = ROOT / ".tools" / "bin" / "uv"
    return str(pinned) if pinned.is_file() else shutil.which("uv")


@functools.cache
def _locked_packages() -> dict[str, dict[str, Any]]:
    import tomllib

    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {package["name"]: package for package in lock["package"]}


def locked_closure(roots: Iterable[str], *, leaving_out: Iterable[str] = ()) -> set[str]:
    """Every package ``uv.lock`` installs for ``roots`` (runtime dependencies and the extras they ask
    for, no dependency groups), not following the packages in ``leaving_out``."""
    packages = _locked_packages()
    skip = set(leaving_out)
    seen: set[str] = set()
    pending = [name for name in roots if name not in skip]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        package = packages[name]
        for dependency in package.get("dependencies", []):
            wanted = [dependency["name"]]
            for extra in dependency.get("extra", []):
                extras = packages[dependency["name"]].get("optional-dependencies", {})
                wanted.extend(d["name"] for d in extras.get(extra, []))
            pending.extend(w for w in wanted if w not in skip and w not in seen)
    return seen


def engine_only_packages() -> set[str]:
    """The packages only the engine brings into ``procgov``'s install: the worker image leaves them out."""
    full = locked_closure(["procgov"])
    return full - locked_closure(["procgov"], leaving_out=["procgov-engine"])
