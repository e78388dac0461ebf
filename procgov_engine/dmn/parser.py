"""Parse DMN XML (1.1 to 1.5 namespaces, Camunda Modeler output) into :mod:`procgov_engine.dmn.model`.

Every FEEL text is compiled here; a syntax error rejects the resource with a :class:`DmnParseError`
naming the element that holds the text, as Zeebe rejects such a deployment.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence

from procgov_engine import safe_xml
from procgov_engine.dmn.boxed import BoxedTranslator
from procgov_engine.dmn.errors import DmnParseError
from procgov_engine.dmn.model import (
    Aggregation,
    Decision,
    DecisionRequirements,
    DecisionService,
    DecisionTable,
    HitPolicy,
    Input,
    InputEntry,
    LiteralExpression,
    Output,
    OutputEntry,
    Rule,
)
from procgov_engine.dmn.types import parse_item_definitions
from procgov_engine.feel import (
    CompiledExpression,
    FeelError,
    FeelSyntaxError,
    UnaryTests,
    compile_expression,
    compile_unary_tests,
)

DMN_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # 1.1
        "http://www.omg.org/spec/DMN/20180521/MODEL/",  # 1.2
        "https://www.omg.org/spec/DMN/20191111/MODEL/",  # 1.3
        "https://www.omg.org/spec/DMN/20211108/MODEL/",  # 1.4
        "https://www.omg.org/spec/DMN/20230324/MODEL/",  # 1.5
    }
)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


class _Reader:
    """Walks one ``definitions`` element, restricted to the DMN namespace it declares."""

    def __init__(self, namespace: str, escaped_names: Sequence[str] = ()) -> None:
        self.ns = namespace
        self.escaped_names = escaped_names

    def children(self, element: ET.Element, local: str) -> Iterator[ET.Element]:
        tag = f"{{{self.ns}}}{local}" if self.ns else local
        return element.iterfind(tag)

    def child(self, element: ET.Element, local: str) -> ET.Element | None:
        return next(self.children(element, local), None)

    def text(self, element: ET.Element | None) -> str:
        """The ``<text>`` child's content (stripped), or ""."""
        if element is None:
            return ""
        text = self.child(element, "text")
        return (text.text or "").strip() if text is not None else ""


_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def _escape_names(text: str, names: Sequence[str]) -> str:
    """Wrap the DRG's variable names that contain spaces or dashes in backticks (as Zeebe's DMN engine
    does), so ``late-fine * 2`` reads the decision output ``late-fine``; string literals are left alone."""
    if not names:
        return text
    pieces = []
    last = 0
    for literal in _STRING_LITERAL.finditer(text):
        pieces.append(_escape_segment(text[last : literal.start()], names))
        pieces.append(literal.group())
        last = literal.end()
    pieces.append(_escape_segment(text[last:], names))
    return "".join(pieces)


def _escape_segment(segment: str, names: Sequence[str]) -> str:
    for name in names:
        segment = re.sub(rf"(^|[\s(,.\[])({re.escape(name)})(?=$|[\s(),.\]])", r"\1`\2`", segment)
    return segment


def _compile(text: str, element_id: str, what: str, names: Sequence[str] = (), where: str = "") -> CompiledExpression:
    try:
        return compile_expression(_escape_names(text, names))
    except FeelSyntaxError as exc:
        raise DmnParseError(
            f"{where}invalid FEEL {what} '{text}': {exc.detail} at position {exc.position}", element_id
        ) from exc


def _compile_tests(text: str, element_id: str, names: Sequence[str] = (), where: str = "") -> UnaryTests:
    try:
        return compile_unary_tests(_escape_names(text, names))
    except FeelSyntaxError as exc:
        raise DmnParseError(
            f"{where}invalid FEEL unary tests '{text}': {exc.detail} at position {exc.position}", element_id
        ) from exc


def _required_id(element: ET.Element, what: str, parent_id: str) -> str:
    # DMN 1.5 makes ``id`` optional; a named element without one is known by its name (as the TCK's
    # models and dmn-scala do)
    element_id = element.get("id") or element.get("name")
    if not element_id:
        raise DmnParseError(f"{what} has no id", parent_id)
    return element_id


def parse_dmn(source: bytes | str) -> DecisionRequirements:
    """Parse a DMN resource into its decision requirements graph; raises :class:`DmnParseError`."""
    try:
        root = safe_xml.parse(source)
    except safe_xml.UnsafeXmlError as exc:
        raise DmnParseError(str(exc)) from None
    except ET.ParseError as exc:
        raise DmnParseError(f"not well-formed XML: {exc}") from exc
    namespace, local = _split(root.tag)
    if local != "definitions" or (namespace and namespace not in DMN_NAMESPACES):
        raise DmnParseError(f"expected a DMN <definitions> element but found <{local}> in namespace '{namespace}'")
    reader = _Reader(namespace, _names_to_escape(root, namespace))
    drg_id = _required_id(root, "definitions", "")
    decisions: dict[str, Decision] = {}
    for element in reader.children(root, "decision"):
        decision = _parse_decision(reader, element)
        if decision.id in decisions:
            raise DmnParseError("duplicate decision id", decision.id)
        decisions[decision.id] = decision
    if not decisions:
        raise DmnParseError("the DMN resource contains no decision", drg_id)
    _check_requirements(decisions)
    return DecisionRequirements(
        id=drg_id,
        name=root.get("name") or drg_id,
        namespace=root.get("namespace") or "",
        decisions=decisions,
        knowledge_models=_parse_knowledge_models(reader, root),
        item_types=parse_item_definitions(root, reader.children),
        decision_services=_parse_decision_services(reader, root, decisions),
    )


def _service_refs(
    reader: _Reader, service: ET.Element, local: str, known: Mapping[str, object], service_id: str
) -> list[str]:
    """The element ids a decision service's ``local`` references point at (``href="#id"``)."""
    ids = [(ref.get("href") or "").partition("#")[2] for ref in reader.children(service, local)]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise DmnParseError(f"decision service refers to unknown {local} '{unknown[0]}'", service_id)
    return ids


def _parse_decision_services(
    reader: _Reader, root: ET.Element, decisions: dict[str, Decision]
) -> tuple[DecisionService, ...]:
    """Each ``decisionService`` with its parameters: input data names, then input decisions."""
    input_names: dict[str, str] = {}
    for element in reader.children(root, "inputData"):
        variable = reader.child(element, "variable")
        name = (variable.get("name") if variable is not None else None) or element.get("name") or ""
        input_names[element.get("id") or ""] = name
    services = []
    for element in reader.children(root, "decisionService"):
        service_id = _required_id(element, "decision service", "")
        variable = reader.child(element, "variable")
        services.append(
            DecisionService(
                name=(variable.get("name") if variable is not None else None) or element.get("name") or service_id,
                output_decisions=tuple(_service_refs(reader, element, "outputDecision", decisions, service_id)),
                input_data=tuple(
                    input_names[i] for i in _service_refs(reader, element, "inputData", input_names, service_id)
                ),
                input_decisions=tuple(_service_refs(reader, element, "inputDecision", decisions, service_id)),
            )
        )
    return tuple(services)


def _translator(reader: _Reader, element_id: str) -> BoxedTranslator:
    ns_prefix = f"{{{reader.ns}}}" if reader.ns else ""

    def local(element: ET.Element) -> str:
        return element.tag[len(ns_prefix) :] if element.tag.startswith(ns_prefix) else ""

    return BoxedTranslator(lambda e: list(e), local, reader.text, element_id)


def _parse_knowledge_models(reader: _Reader, root: ET.Element) -> tuple[tuple[str, CompiledExpression], ...]:
    """Each business knowledge model as (variable name, FEEL function definition), DMN 1.5 6.3.9."""
    models = []
    for element in reader.children(root, "businessKnowledgeModel"):
        element_id = _required_id(element, "business knowledge model", "")
        variable = reader.child(element, "variable")
        name = (variable.get("name") if variable is not None else None) or element.get("name") or element_id
        logic = reader.child(element, "encapsulatedLogic")
        if logic is None:
            raise DmnParseError("business knowledge model has no encapsulated logic", element_id)
        text = _translator(reader, element_id).function(logic)
        models.append((name, _compile(text, element_id, "business knowledge model", reader.escaped_names)))
    return tuple(models)


def _names_to_escape(root: ET.Element, namespace: str) -> list[str]:
    """Variable names of decisions and input data that contain a space or a dash, longest first."""
    tag = f"{{{namespace}}}variable" if namespace else "variable"
    names = {element.get("name") or "" for element in root.iter(tag)}
    parameter_tag = f"{{{namespace}}}formalParameter" if namespace else "formalParameter"
    names |= {element.get("name") or "" for element in root.iter(parameter_tag)}
    return sorted((name for name in names if " " in name or "-" in name), key=len, reverse=True)


def _check_requirements(decisions: dict[str, Decision]) -> None:
    for decision in decisions.values():
        for required in decision.required_decisions:
            if required not in decisions:
                raise DmnParseError(f"requires unknown decision '{required}'", decision.id)
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(decision_id: str, path: list[str]) -> None:
        if decision_id in done:
            return
        if decision_id in visiting:
            cycle = " -> ".join([*path[path.index(decision_id) :], decision_id])
            raise DmnParseError(f"decision requirements form a cycle: {cycle}", decision_id)
        visiting.add(decision_id)
        for required in decisions[decision_id].required_decisions:
            visit(required, [*path, decision_id])
        visiting.discard(decision_id)
        done.add(decision_id)

    for decision_id in decisions:
        visit(decision_id, [])


def _parse_decision(reader: _Reader, element: ET.Element) -> Decision:
    decision_id = _required_id(element, "decision", "")
    required: list[str] = []
    for requirement in reader.children(element, "informationRequirement"):
        target = reader.child(requirement, "requiredDecision")
        if target is None:
            continue  # requiredInput: input data come from the variables
        href = target.get("href") or ""
        if not href.startswith("#") or len(href) < 2:
            raise DmnParseError(f"requiredDecision href '{href}' is not a local reference '#id'", decision_id)
        required.append(href[1:])
    table = reader.child(element, "decisionTable")
    literal = reader.child(element, "literalExpression")
    logic: DecisionTable | LiteralExpression
    if table is not None:
        logic = _parse_table(reader, table, decision_id)
    elif literal is not None:
        logic = _parse_literal(reader, element, literal, decision_id)
    else:
        logic = _parse_boxed(reader, element, decision_id)
    variable = reader.child(element, "variable")
    return Decision(
        id=decision_id,
        name=element.get("name") or decision_id,
        logic=logic,
        required_decisions=tuple(required),
        result_name=(variable.get("name") if variable is not None else None) or decision_id,
    )


def _parse_literal(reader: _Reader, decision: ET.Element, literal: ET.Element, decision_id: str) -> LiteralExpression:
    element_id = literal.get("id") or decision_id
    text = reader.text(literal)
    if not text:
        raise DmnParseError("literal expression is empty", element_id)
    variable = reader.child(decision, "variable")
    name = (variable.get("name") if variable is not None else None) or decision_id
    type_ref = variable.get("typeRef") if variable is not None else None
    return LiteralExpression(
        id=element_id,
        text=text,
        expression=_compile(text, element_id, "literal expression", reader.escaped_names),
        variable_name=name,
        type_ref=type_ref,
    )


def _parse_boxed(reader: _Reader, decision: ET.Element, decision_id: str) -> LiteralExpression:
    """A decision whose logic is a boxed expression (context, invocation, list, ...), as FEEL text."""
    translator = _translator(reader, decision_id)
    boxed = translator.expression_of(decision)
    if boxed is None:
        raise DmnParseError("decision has no decision logic", decision_id)
    text = translator.translate(boxed)
    variable = reader.child(decision, "variable")
    return LiteralExpression(
        id=boxed.get("id") or decision_id,
        text=text,
        expression=_compile(text, decision_id, "boxed expression", reader.escaped_names),
        variable_name=(variable.get("name") if variable is not None else None) or decision_id,
        type_ref=variable.get("typeRef") if variable is not None else None,
    )


def _parse_table(reader: _Reader, table: ET.Element, decision_id: str) -> DecisionTable:
    table_id = table.get("id") or decision_id
    hit_text = (table.get("hitPolicy") or "UNIQUE").strip()
    try:
        hit_policy = HitPolicy(hit_text)
    except ValueError:
        raise DmnParseError(f"unknown hit policy '{hit_text}'", table_id) from None
    aggregation: Aggregation | None = None
    if table.get("aggregation"):
        if hit_policy is not HitPolicy.COLLECT:
            raise DmnParseError(f"aggregation is only allowed with hit policy COLLECT, not {hit_text}", table_id)
        try:
            aggregation = Aggregation(table.get("aggregation", ""))
        except ValueError:
            raise DmnParseError(f"unknown aggregation '{table.get('aggregation')}'", table_id) from None

    inputs = tuple(_parse_input(reader, element, table_id) for element in reader.children(table, "input"))
    outputs = tuple(_parse_output(reader, element, table_id) for element in reader.children(table, "output"))
    if not outputs:
        raise DmnParseError("decision table has no output", table_id)
    if len(outputs) > 1:
        for output in outputs:
            if not output.name:
                raise DmnParseError("an output of a table with several outputs needs a name", output.id)
    if aggregation is not None and len(outputs) > 1:
        raise DmnParseError("aggregation needs a table with a single output", table_id)
    rules = tuple(
        _parse_rule(reader, element, index, inputs, outputs, table_id, decision_id)
        for index, element in enumerate(reader.children(table, "rule"), start=1)
    )
    return DecisionTable(
        id=table_id, hit_policy=hit_policy, aggregation=aggregation, inputs=inputs, outputs=outputs, rules=rules
    )


def _parse_input(reader: _Reader, element: ET.Element, table_id: str) -> Input:
    input_id = _required_id(element, "input", table_id)
    expression = reader.child(element, "inputExpression")
    text = reader.text(expression)
    if not text:
        raise DmnParseError("input has no input expression", input_id)
    return Input(
        id=input_id,
        label=element.get("label") or "",
        expression_text=text,
        expression=_compile(text, input_id, "input expression", reader.escaped_names),
        type_ref=expression.get("typeRef") if expression is not None else None,
    )


def _parse_output(reader: _Reader, element: ET.Element, table_id: str) -> Output:
    output_id = _required_id(element, "output", table_id)
    priority: tuple[object, ...] = ()
    values_text = reader.text(reader.child(element, "outputValues"))
    if values_text:
        try:
            listed = compile_expression(f"[{values_text}]").evaluate({})
        except (FeelSyntaxError, FeelError) as exc:
            raise DmnParseError(f"invalid output values '{values_text}': {exc}", output_id) from exc
        priority = tuple(listed)
    default_text = reader.text(reader.child(element, "defaultOutputEntry"))
    return Output(
        id=output_id,
        name=element.get("name") or "",
        label=element.get("label") or "",
        type_ref=element.get("typeRef"),
        priority_values=priority,
        default=_compile(default_text, output_id, "default output entry", reader.escaped_names)
        if default_text
        else None,
    )


def _parse_rule(
    reader: _Reader,
    element: ET.Element,
    index: int,
    inputs: tuple[Input, ...],
    outputs: tuple[Output, ...],
    table_id: str,
    decision_id: str,
) -> Rule:
    rule_id = element.get("id") or f"{table_id}-rule-{index}"
    input_elements = list(reader.children(element, "inputEntry"))
    output_elements = list(reader.children(element, "outputEntry"))
    if len(input_elements) != len(inputs):
        raise DmnParseError(f"rule #{index} has {len(input_elements)} input entries for {len(inputs)} inputs", rule_id)
    if len(output_elements) != len(outputs):
        raise DmnParseError(
            f"rule #{index} has {len(output_elements)} output entries for {len(outputs)} outputs", rule_id
        )
    input_entries = []
    rule_where = f"decision '{decision_id}', rule '{rule_id}' (#{index}), "
    for position, (entry, table_input) in enumerate(zip(input_elements, inputs, strict=True), start=1):
        entry_id = entry.get("id") or f"{rule_id}-input-{position}"
        text = reader.text(entry)
        where = f"{rule_where}input entry for input '{table_input.id}': "
        tests = _compile_tests(text, entry_id, reader.escaped_names, where)
        input_entries.append(InputEntry(id=entry_id, text=text, tests=tests))
    output_entries = []
    for position, (entry, output) in enumerate(zip(output_elements, outputs, strict=True), start=1):
        entry_id = entry.get("id") or f"{rule_id}-output-{position}"
        text = reader.text(entry)
        where = f"{rule_where}output entry for output '{output.id}': "
        compiled = _compile(text, entry_id, "output entry", reader.escaped_names, where) if text else None
        output_entries.append(OutputEntry(id=entry_id, text=text, expression=compiled))
    description = reader.child(element, "description")
    return Rule(
        id=rule_id,
        index=index,
        input_entries=tuple(input_entries),
        output_entries=tuple(output_entries),
        description=(description.text or "").strip() if description is not None else "",
    )
