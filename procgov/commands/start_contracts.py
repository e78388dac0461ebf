"""The per-process start contract (``bpmn/start-contracts.yaml``): which variables ``procgov start``
requires for each process and which values it accepts, so a start that misses one is refused with the
names at once, not turned into a returned request or an incident later.

A process the file does not name (a model of your own) starts without a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONTRACTS_FILE = Path(__file__).resolve().parents[2] / "bpmn" / "start-contracts.yaml"  # in a checkout


def default_contracts_file() -> Path:
    """``./bpmn/start-contracts.yaml`` when run beside the models (the image's /app, a checkout's root),
    else the checkout procgov lives in (as ``procgov demo`` finds ``bpmn/``)."""
    local = Path("bpmn") / CONTRACTS_FILE.name
    return local if local.is_file() else CONTRACTS_FILE

# JSON types as the engine sees the variables (YAML/JSON already parsed); bool is not an integer here.
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class ContractError(ValueError):
    """The contract file itself is unusable; the message names the process and variable."""


@dataclass(frozen=True)
class VariableSpec:
    name: str
    type: str
    required: bool = True
    enum: tuple[Any, ...] | None = None
    pattern: str | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not accepted, or None."""
        wanted = _TYPES[self.type]
        if not isinstance(value, wanted) or (isinstance(value, bool) and bool not in wanted):
            return f"{self.name}: expected {self.type}, got {type(value).__name__} {value!r}"
        if isinstance(value, str) and not value.strip():
            return f"{self.name}: empty"
        if self.enum is not None and value not in self.enum:
            return f"{self.name}: must be one of {', '.join(map(str, self.enum))}, got {value!r}"
        if self.pattern is not None and isinstance(value, str) and not re.search(self.pattern, value):
            return f"{self.name}: {value!r} does not match {self.pattern}"
        return None


@dataclass(frozen=True)
class StartContract:
    process_id: str
    variables: tuple[VariableSpec, ...]
    sample: str | None = None

    @property
    def required(self) -> list[str]:
        return [spec.name for spec in self.variables if spec.required]

    def problems(self, variables: dict[str, Any]) -> list[str]:
        """Every missing required variable and every given variable with an unaccepted value."""
        missing = [name for name in self.required if variables.get(name) is None]
        found = [f"missing {', '.join(missing)}"] if missing else []
        for spec in self.variables:
            if variables.get(spec.name) is not None:
                problem = spec.problem(variables[spec.name])
                if problem:
                    found.append(problem)
        return found


def load_contracts(path: Path | None = None) -> dict[str, StartContract]:
    """Every process's contract from ``path`` (default: :func:`default_contracts_file`); a
    :class:`ContractError` names what is wrong in it."""
    path = path if path is not None else default_contracts_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ContractError(f"cannot read the start contracts {path}: {error}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{path}: expected a mapping of process ids")
    contracts = {}
    for process_id, body in data.items():
        specs = []
        for name, spec in ((body or {}).get("variables") or {}).items():
            if not isinstance(spec, dict) or spec.get("type") not in _TYPES:
                raise ContractError(f"{path}: {process_id}.{name}: type must be one of {', '.join(_TYPES)}")
            enum = spec.get("enum")
            specs.append(
                VariableSpec(
                    name,
                    spec["type"],
                    bool(spec.get("required", True)),
                    tuple(enum) if enum is not None else None,
                    spec.get("pattern"),
                )
            )
        contracts[str(process_id)] = StartContract(str(process_id), tuple(specs), (body or {}).get("sample"))
    return contracts
