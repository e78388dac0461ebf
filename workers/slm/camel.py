"""The base of every slm job-variable model: camelCase names in the process, no unknown variables."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def check_unique(field: str, what: str, keys: Iterable[str]) -> None:
    """Raise ``ValueError`` ("<field>: <what> 'x' appears twice") at the first key seen twice."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{field}: {what} {key!r} appears twice")
        seen.add(key)
