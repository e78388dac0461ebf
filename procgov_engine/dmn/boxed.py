"""Boxed expressions (DMN 1.5 chapter 7) written out as the FEEL expression they mean.

Each boxed expression has a FEEL equivalent that the spec itself gives (7.3.1 context, 7.3.3
invocation, 7.3.4 function definition, 7.3.5 list, 7.3.6 relation, 7.3.7-7.3.10 conditional,
filter, iterator); translating to that text lets the one FEEL compiler handle scoping and null
semantics. A context's entries become string keys (so names with spaces need no quoting as keys)
and its result entry is read back through a reserved key. Decision tables nested inside a boxed
expression have no FEEL form and are refused, like Java/PMML function kinds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from procgov_engine.dmn.errors import DmnParseError

#: the context key that carries a context's unnamed result entry
RESULT_KEY = "__procgov_result__"
BOXED_KINDS = (
    "literalExpression",
    "context",
    "invocation",
    "list",
    "relation",
    "functionDefinition",
    "conditional",
    "filter",
    "for",
    "some",
    "every",
)


def _quote_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote_name(name: str) -> str:
    """A parameter or iterator name: a plain identifier as written, any other (``term in months``) quoted."""
    return name if name.isidentifier() else f"`{name}`"


class BoxedTranslator:
    """Turns boxed expression elements into FEEL text; ``child`` and ``text`` come from the parser."""

    def __init__(
        self,
        children: Callable[[ET.Element], list[ET.Element]],
        local: Callable[[ET.Element], str],
        text: Callable[[ET.Element], str],
        element_id: str,
    ) -> None:
        self._children = children
        self._local = local
        self._text = text
        self._id = element_id

    def expression_of(self, element: ET.Element) -> ET.Element | None:
        """The first boxed expression child of ``element`` (a decision, context entry, binding ...)."""
        for child in self._children(element):
            if self._local(child) in BOXED_KINDS:
                return child
            if self._local(child) == "decisionTable":
                raise DmnParseError("a decision table inside a boxed expression is not supported", self._id)
        return None

    def _named(self, element: ET.Element, local: str) -> ET.Element | None:
        return next((c for c in self._children(element) if self._local(c) == local), None)

    def _inner(self, element: ET.Element | None, what: str) -> str:
        """The FEEL text of the expression inside a wrapper such as ``<if>`` or ``<binding>``."""
        if element is None:
            raise DmnParseError(f"boxed expression has no {what}", self._id)
        inner = self.expression_of(element)
        return "null" if inner is None else self.translate(inner)

    def translate(self, element: ET.Element) -> str:
        kind = self._local(element)
        if kind == "literalExpression":
            text = self._text(element)
            return f"({text})" if text else "null"
        if kind == "context":
            return self._context(element)
        if kind == "invocation":
            return self._invocation(element)
        if kind == "list":
            items = [self.translate(c) for c in self._children(element) if self._local(c) in BOXED_KINDS]
            return "[" + ", ".join(items) + "]"
        if kind == "relation":
            return self._relation(element)
        if kind == "functionDefinition":
            return self.function(element)
        if kind == "conditional":
            c, t, e = (self._inner(self._named(element, part), part) for part in ("if", "then", "else"))
            return f"(if {c} then {t} else {e})"
        if kind == "filter":
            source = self._inner(self._named(element, "in"), "in")
            return f"(({source})[{self._inner(self._named(element, 'match'), 'match')}])"
        if kind in ("for", "some", "every"):
            variable = _quote_name(element.get("iteratorVariable") or "item")
            source = self._inner(self._named(element, "in"), "in")
            if kind == "for":
                return f"(for {variable} in {source} return {self._inner(self._named(element, 'return'), 'return')})"
            condition = self._inner(self._named(element, "satisfies"), "satisfies")
            return f"({kind} {variable} in {source} satisfies {condition})"
        raise DmnParseError(f"boxed expression <{kind}> is not supported", self._id)

    def _context(self, element: ET.Element) -> str:
        entries = []
        result = None
        for entry in self._children(element):
            if self._local(entry) != "contextEntry":
                continue
            variable = self._named(entry, "variable")
            inner = self.expression_of(entry)
            value = "null" if inner is None else self.translate(inner)
            if variable is None:
                result = value
            else:
                entries.append(f"{_quote_string(variable.get('name') or '')}: {value}")
        if result is not None:
            entries.append(f"{_quote_string(RESULT_KEY)}: {result}")
            return "({" + ", ".join(entries) + "}." + RESULT_KEY + ")"
        return "{" + ", ".join(entries) + "}"

    def _invocation(self, element: ET.Element) -> str:
        callee = self.expression_of(element)
        if callee is None:
            raise DmnParseError("invocation names no function", self._id)
        name = self._text(callee) if self._local(callee) == "literalExpression" else self.translate(callee)
        arguments = []
        for binding in self._children(element):
            if self._local(binding) != "binding":
                continue
            parameter = self._named(binding, "parameter")
            inner = self.expression_of(binding)
            value = "null" if inner is None else self.translate(inner)
            parameter_name = (parameter.get("name") if parameter is not None else None) or ""
            arguments.append(f"{_quote_name(parameter_name)}: {value}")
        return f"{name}({', '.join(arguments)})"

    def _relation(self, element: ET.Element) -> str:
        columns = [c.get("name") or "" for c in self._children(element) if self._local(c) == "column"]
        rows = []
        for row in self._children(element):
            if self._local(row) != "row":
                continue
            cells = [self.translate(c) for c in self._children(row) if self._local(c) in BOXED_KINDS]
            rows.append("{" + ", ".join(f"{_quote_string(k)}: {v}" for k, v in zip(columns, cells, strict=False)) + "}")
        return "[" + ", ".join(rows) + "]"

    def function(self, element: ET.Element) -> str:
        """A ``functionDefinition`` or a BKM's ``encapsulatedLogic`` as ``(function(a, b) body)``."""
        kind = element.get("kind") or "FEEL"
        if kind != "FEEL":
            raise DmnParseError(f"function definition of kind '{kind}' is not supported", self._id)
        params = [
            _quote_name(p.get("name") or "") for p in self._children(element) if self._local(p) == "formalParameter"
        ]
        body = self.expression_of(element)
        return f"(function({', '.join(params)}) {'null' if body is None else self.translate(body)})"
