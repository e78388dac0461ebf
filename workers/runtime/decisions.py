"""Pure, recorded decisions: a typed input and versioned rule data in, a typed output out.

A :class:`Decision` is what audit replays: given the recorded inputs and the rule text of the recorded
version, ``evaluate`` must give the recorded outputs again. That is why it takes no settings, clock or
I/O, and why rule data travels as a :class:`RuleSet` whose ``version`` is the hash of its text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from workers.runtime.errors import BusinessError

I = TypeVar("I", bound=BaseModel)  # noqa: E741 - the contract's own name for the input type
R = TypeVar("R")
O = TypeVar("O", bound=BaseModel)  # noqa: E741


@dataclass(frozen=True)
class Decision(Generic[I, R, O]):
    """A named, pure decision function with its rule-data parser.

    ``name`` is a stable id (``"rollout.exam-grade"``) stored with every decision record; renaming it
    breaks replay of older records. ``parse_rules`` raises :class:`~workers.runtime.RuleDataError`
    naming the row and field. ``business_error`` turns an output into a BPMN error (raised after the
    decision is recorded, so the record shows why the process took the error path).
    """

    name: str
    input_model: type[I]
    output_model: type[O]
    parse_rules: Callable[[str], R]
    evaluate: Callable[[I, R], O]
    business_error: Callable[[O], BusinessError | None] | None = None


def canonical_text(text: str) -> str:
    """The rule text as versioned: without a BOM and with ``\\n`` line ends, so a Windows checkout and
    a Linux one give the same version."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def text_version(text: str) -> str:
    """``sha256:`` + hex digest of the canonical text (the ``rule_version`` of decision records)."""
    return "sha256:" + hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RuleSet(Generic[R]):
    """Rule data for one decision: parsed once at start (bad data fails the worker's start, not a job)."""

    decision: Decision[Any, R, Any]
    text: str
    version: str
    rules: R

    @classmethod
    def from_text(cls, decision: Decision[Any, R, Any], text: str) -> RuleSet[R]:
        canonical = canonical_text(text)
        return cls(
            decision=decision, text=canonical, version=text_version(canonical), rules=decision.parse_rules(canonical)
        )

    @classmethod
    def from_file(cls, decision: Decision[Any, R, Any], path: str | Path) -> RuleSet[R]:
        return cls.from_text(decision, Path(path).read_text(encoding="utf-8"))
