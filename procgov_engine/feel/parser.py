"""The one LALR parser instance, and the translation of lark's errors into :class:`FeelSyntaxError`."""

from __future__ import annotations

from typing import Any

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from procgov_engine.feel.errors import FeelSyntaxError
from procgov_engine.feel.grammar import GRAMMAR

_PARSER = Lark(GRAMMAR, parser="lalr", start=["expression", "unary_tests"], propagate_positions=False)


_FRIENDLY = {
    "NAME": "a name",
    "BACKTICK_NAME": "a `quoted name`",
    "FUNCTION_NAME": "a function",
    "NUMBER": "a number",
    "STRING": "a string",
    "CMP": "a comparison operator",
    "TYPE_NAME": "a type name",
    "PROPERTY_NAME": "a property name",
    "$END": "the end",
}


def _describe(terminal: str) -> str:
    """A terminal as the modeller wrote it: ``'('`` rather than ``LPAR``."""
    if terminal in _FRIENDLY:
        return _FRIENDLY[terminal]
    try:
        pattern = _PARSER.get_terminal(terminal).pattern
    except KeyError:
        return terminal
    return f"'{pattern.value}'" if pattern.type == "str" else terminal


def parse(text: str, start: str) -> Tree[Any]:
    """Parse ``text`` from the ``expression`` or ``unary_tests`` start symbol."""
    try:
        return _PARSER.parse(text, start=start)
    except UnexpectedEOF as exc:
        raise FeelSyntaxError("unexpected end of expression", text, len(text)) from exc
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            raise FeelSyntaxError("unexpected end of expression", text, len(text)) from exc
        expected = ", ".join(sorted({_describe(name) for name in exc.expected})[:10])
        position = token.start_pos if token.start_pos is not None else 0
        raise FeelSyntaxError(f"unexpected '{token}' (expected one of {expected})", text, position) from exc
    except UnexpectedCharacters as exc:
        position = exc.pos_in_stream or 0
        raise FeelSyntaxError(f"unexpected character '{text[position]}'", text, position) from exc
    except UnexpectedInput as exc:  # pragma: no cover - lark's remaining error kinds
        raise FeelSyntaxError(str(exc), text, getattr(exc, "pos_in_stream", 0) or 0) from exc
