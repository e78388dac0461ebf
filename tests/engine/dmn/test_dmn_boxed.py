"""Boxed expressions and business knowledge models (DMN 1.5 chapter 7 and 6.3.9), found with the DMN TCK.

Each boxed expression is evaluated as the FEEL its chapter-7 section defines it to mean; the
models follow the TCK's shapes (levels 2 and 3) and dmn-scala, which supports the same set.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from procgov_engine.dmn import DmnParseError, evaluate_decision, parse_dmn

DMN15 = "https://www.omg.org/spec/DMN/20230324/MODEL/"


def _model(body: str) -> bytes:
    return f'<definitions xmlns="{DMN15}" id="defs" name="boxed" namespace="ns">{body}</definitions>'.encode()


def _literal(text: str) -> str:
    return f"<literalExpression><text>{text}</text></literalExpression>"


def _decision(body: str, name: str = "d") -> str:
    return f'<decision id="{name}" name="{name}"><variable name="{name}"/>{body}</decision>'


def _eval(body: str, variables: dict[str, object] | None = None, decision: str = "d") -> object:
    return evaluate_decision(parse_dmn(_model(body)), decision, variables or {}).output


def test_context_with_result_entry_and_names_with_spaces() -> None:
    """DMN 1.5 7.3.1 Context: entries see earlier entries (a name may contain spaces, DMN 1.5 10.3.1.2
    rule 27); an entry without a variable is the context's result."""
    body = _decision(
        "<context>"
        f'<contextEntry><variable name="Monthly Rate"/>{_literal("Loan Rate / 12")}</contextEntry>'
        f'<contextEntry><variable name="Months"/>{_literal("12")}</contextEntry>'
        f"<contextEntry>{_literal('Monthly Rate * Months')}</contextEntry>"
        "</context>"
    )
    body += '<inputData id="rate" name="Loan Rate"><variable name="Loan Rate"/></inputData>'
    assert _eval(body, {"Loan Rate": 0.06}) == 0.06


def test_context_without_result_entry_is_a_context() -> None:
    """DMN 1.5 7.3.1: without a result entry the boxed context's value is the context itself."""
    body = _decision(
        "<context>"
        f'<contextEntry><variable name="a"/>{_literal("1")}</contextEntry>'
        f'<contextEntry><variable name="b c"/>{_literal("a + 1")}</contextEntry>'
        "</context>"
    )
    assert _eval(body) == {"a": 1, "b c": 2}


def test_invocation_of_a_business_knowledge_model_by_parameter_names() -> None:
    """DMN 1.5 7.3.3 Invocation binds the BKM's parameters by name; 6.3.9 the BKM is a function."""
    bkm = (
        '<businessKnowledgeModel id="bkm" name="Monthly Payment"><variable name="Monthly Payment"/>'
        '<encapsulatedLogic><formalParameter name="principal"/><formalParameter name="term in months"/>'
        f"{_literal('principal / term in months')}</encapsulatedLogic></businessKnowledgeModel>"
    )
    invocation = (
        f"<invocation>{_literal('Monthly Payment')}"
        f'<binding><parameter name="term in months"/>{_literal("4")}</binding>'
        f'<binding><parameter name="principal"/>{_literal("100")}</binding>'
        "</invocation>"
    )
    assert _eval(bkm + _decision(invocation)) == 25


def test_business_knowledge_model_invoking_another_and_itself() -> None:
    """DMN 1.5 6.3.9: a BKM may require another BKM; recursion works as function calls do in FEEL."""
    factorial = (
        '<businessKnowledgeModel id="f" name="fact"><variable name="fact"/>'
        '<encapsulatedLogic><formalParameter name="n"/>'
        f"{_literal('if n &lt;= 1 then 1 else n * fact(n - 1)')}</encapsulatedLogic></businessKnowledgeModel>"
    )
    twice = (
        '<businessKnowledgeModel id="t" name="twice fact"><variable name="twice fact"/>'
        '<encapsulatedLogic><formalParameter name="n"/>'
        f"{_literal('2 * fact(n)')}</encapsulatedLogic></businessKnowledgeModel>"
    )
    assert _eval(twice + factorial + _decision(_literal("twice fact(5)"))) == 240


def test_list_relation_and_filter() -> None:
    """DMN 1.5 7.3.5 List, 7.3.6 Relation (a list of contexts), 7.3.9 Filter."""
    relation = (
        '<relation><column name="name"/><column name="age"/>'
        f"<row>{_literal('&quot;Ann&quot;')}{_literal('30')}</row>"
        f"<row>{_literal('&quot;Bob&quot;')}{_literal('12')}</row>"
        "</relation>"
    )
    assert _eval(_decision(relation)) == [{"name": "Ann", "age": 30}, {"name": "Bob", "age": 12}]
    assert _eval(_decision(f"<list>{_literal('1')}{_literal('1 + 1')}</list>")) == [1, 2]
    people = _decision(relation, "people")
    filtered = (
        '<decision id="adults" name="adults"><variable name="adults"/>'
        '<informationRequirement><requiredDecision href="#people"/></informationRequirement>'
        f"<filter><in>{_literal('people')}</in><match>{_literal('item.age &gt;= 18')}</match></filter></decision>"
    )
    assert _eval(people + filtered, decision="adults") == [{"name": "Ann", "age": 30}]


def test_conditional_and_iterators() -> None:
    """DMN 1.5 7.3.7 Conditional, 7.3.10 Iterator (for / some / every)."""
    conditional = (
        f"<conditional><if>{_literal('x &gt; 1')}</if><then>{_literal('&quot;big&quot;')}</then>"
        f"<else>{_literal('&quot;small&quot;')}</else></conditional>"
    )
    assert _eval(_decision(conditional), {"x": 5}) == "big"
    loop = f'<for iteratorVariable="v"><in>{_literal("[1, 2, 3]")}</in><return>{_literal("v * 2")}</return></for>'
    assert _eval(_decision(loop)) == [2, 4, 6]
    some = (
        f'<some iteratorVariable="v"><in>{_literal("[1, 2]")}</in><satisfies>{_literal("v &gt; 1")}</satisfies></some>'
    )
    every = some.replace("<some", "<every").replace("</some>", "</every>")
    assert _eval(_decision(some)) is True
    assert _eval(_decision(every)) is False


def test_function_definition_in_a_context() -> None:
    """DMN 1.5 7.3.4 Function Definition: a boxed function, invoked from a later entry."""
    body = _decision(
        "<context>"
        '<contextEntry><variable name="add one"/><functionDefinition><formalParameter name="x"/>'
        f"{_literal('x + 1')}</functionDefinition></contextEntry>"
        f"<contextEntry>{_literal('add one(41)')}</contextEntry>"
        "</context>"
    )
    assert _eval(body) == 42


def test_unsupported_logic_is_refused_with_its_reason() -> None:
    """Java/PMML functions (DMN 1.5 7.3.4 kind) and decision tables inside boxed expressions have no FEEL
    form: the resource is refused at deploy, naming the element, as Zeebe refuses an invalid model."""
    java = _decision('<functionDefinition kind="Java">' + _literal("1") + "</functionDefinition>")
    with pytest.raises(DmnParseError, match="kind 'Java' is not supported"):
        parse_dmn(_model(java))
    nested_table = _decision(
        '<context><contextEntry><variable name="t"/><decisionTable id="dt"/></contextEntry></context>'
    )
    with pytest.raises(DmnParseError, match="decision table inside a boxed expression"):
        parse_dmn(_model(nested_table))


def test_decision_without_id_is_known_by_its_name() -> None:
    """DMN 1.5 (6.3.1 NamedElement / DMNElement): ``id`` is optional; the TCK names such decisions."""
    drg = parse_dmn(_model(f'<decision name="greeting">{_literal("&quot;hi&quot;")}</decision>'))
    assert evaluate_decision(drg, "greeting", {}).output == "hi"


ITEM_DEFINITIONS = (
    '<itemDefinition name="tNumberList" isCollection="true"><typeRef>number</typeRef></itemDefinition>'
    '<itemDefinition name="tNameAndAge"><itemComponent name="name"><typeRef>string</typeRef></itemComponent>'
    '<itemComponent name="age"><typeRef>number</typeRef></itemComponent></itemDefinition>'
)


@pytest.mark.parametrize(
    ("type_ref", "text", "expected"),
    [
        ("string", "1 + 1", None),  # not a string: null
        ("number", "1 + 1", 2),
        ("string", '["foo"]', "foo"),  # from singleton list
        ("string", "[1]", None),
        ("tNumberList", "[1, 2]", [1, 2]),
        ("tNumberList", '[1, 2, "foo"]', None),
        ("tNumberList", "3", [3]),  # to singleton list
        ("tNameAndAge", '{name: "foo", surname: "bar", age: 10}', {"name": "foo", "surname": "bar", "age": 10}),
        ("tNameAndAge", '{name: "foo"}', None),  # a declared component is missing
        ("tUnknown", '"kept"', "kept"),  # a type the model does not define is not checked
    ],
)
def test_result_conforms_to_the_variable_type_ref(type_ref: str, text: str, expected: object) -> None:
    """DMN 1.5 10.3.2.9.4 type conversions: a result not of the declared type is null, with the
    singleton-list conversions in both directions (TCK 0082-feel-coercion)."""
    cell = _literal(escape(text))
    decision = f'<decision id="d" name="d"><variable name="d" typeRef="{type_ref}"/>{cell}</decision>'
    assert _eval(ITEM_DEFINITIONS + decision) == expected


def test_decision_service_is_a_function_of_its_inputs() -> None:
    """DMN 1.5 6.3.10 Decision service: invoked as a function whose parameters are its input data, then
    its input decisions (given, not evaluated); its value is the output decision's (TCK 0085)."""
    body = (
        '<inputData id="i_name" name="name"><variable name="name"/></inputData>'
        '<decisionService id="ds" name="greet"><variable name="greet"/>'
        '<outputDecision href="#hello"/><inputData href="#i_name"/><inputDecision href="#title"/></decisionService>'
        f'<decision id="title" name="title"><variable name="title"/>{_literal("&quot;Dr&quot;")}</decision>'
        '<decision id="hello" name="hello"><variable name="hello"/>'
        '<informationRequirement><requiredDecision href="#title"/></informationRequirement>'
        '<informationRequirement><requiredInput href="#i_name"/></informationRequirement>'
        f"{_literal('&quot;Hello &quot; + title + &quot; &quot; + name')}</decision>"
        f"{_decision(_literal('greet(&quot;Ann&quot;, &quot;Ms&quot;)'))}"
    )
    assert _eval(body) == "Hello Ms Ann"
    assert _eval(body, {"name": "Bob"}, decision="hello") == "Hello Dr Bob"
