"""XML for deployed resources (BPMN, DMN), parsed without DTDs and within a nesting limit.

A document type declaration lets a resource declare entities: a 2 MiB entity referenced 90 times
deployed fine and held ~180 MiB of expanded text in the engine (and "billion laughs" grows
exponentially); external entities would read files. BPMN and DMN never need a DTD (their schemas are
XSDs, and Camunda's modelers write none), so a resource with a ``<!DOCTYPE`` is refused, before any
entity is expanded. Nesting is limited too, because the engine walks models recursively: 3,000
nested sub-processes overflowed the stack while being deployed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import xml.parsers.expat

MAX_ELEMENT_DEPTH = 120
"""Deepest element nesting a resource may have (``definitions`` is level 1; each embedded sub-process
adds one level). Real models nest a handful of levels. The engine's state of an instance nests as
deep as its model, and the snapshot's pickler fails from about 180 nested sub-processes, so the limit
keeps a margin below that (tests/engine/gateway/test_gateway_hostile.py runs and snapshots 115)."""


class UnsafeXmlError(ValueError):
    """A resource the engine refuses to parse (a DTD, or nesting beyond :data:`MAX_ELEMENT_DEPTH`)."""


class _Refused(Exception):
    pass


def _screen(content: bytes | str, max_depth: int) -> None:
    """One pass of expat without building anything: stop at a DTD or too deep an element."""
    parser = xml.parsers.expat.ParserCreate()
    depth = 0

    def doctype(*_: object) -> None:
        raise _Refused(
            "Expected a resource without a document type declaration (<!DOCTYPE>): DTDs and entity "
            "declarations are not allowed in BPMN, DMN or form resources"
        )

    def start(*_: object) -> None:
        nonlocal depth
        depth += 1
        if depth > max_depth:
            raise _Refused(f"Expected elements nested at most {max_depth} levels deep, but they are nested deeper")

    def end(*_: object) -> None:
        nonlocal depth
        depth -= 1

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(content, True)
    except _Refused as refused:
        raise UnsafeXmlError(str(refused)) from None
    except xml.parsers.expat.ExpatError:
        pass  # not well-formed: ElementTree reports it with its own message


def parse(content: bytes | str, max_depth: int = MAX_ELEMENT_DEPTH) -> ET.Element:
    """The root element of ``content``; :class:`UnsafeXmlError` for a DTD or too deep a nesting,
    :class:`xml.etree.ElementTree.ParseError` if it is not well-formed."""
    _screen(content, max_depth)
    return ET.fromstring(content)
