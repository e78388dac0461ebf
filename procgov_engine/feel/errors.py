"""Errors raised by the FEEL interpreter.

FEEL itself turns most evaluation problems into ``null`` (as Camunda's engine does since 1.17), so
these are reserved for problems a modeller must fix: text that does not parse, and invocations of
functions that do not exist (Zeebe raises an incident for those rather than silently yielding null).
"""

from __future__ import annotations


class FeelError(Exception):
    """An expression cannot be evaluated at all; the message is worded for an incident."""


class FeelSyntaxError(FeelError):
    """The expression text does not parse; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, expression: str, position: int) -> None:
        super().__init__(f"failed to parse expression '{expression}': {message} at position {position}")
        self.expression = expression
        self.position = position
        self.detail = message
