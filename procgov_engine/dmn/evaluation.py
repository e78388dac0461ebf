"""Evaluate a decision of a decision requirements graph, following Camunda's DMN engine (dmn-scala).

Required decisions are evaluated first (depth first, in the order the model lists them) and their
outputs are visible to the requiring decision as variables named by the required decision's id. A
decision table evaluates its input expressions once, tests every rule's input entries (all must
match; a null outcome does not), evaluates the output entries of the matched rules (only the first
for FIRST) and applies the hit policy. No matched rule gives the outputs' default entries or null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from procgov_engine.dmn.errors import DmnEvaluationError
from procgov_engine.dmn.model import (
    Aggregation,
    Decision,
    DecisionRequirements,
    DecisionService,
    DecisionTable,
    HitPolicy,
    Output,
    Rule,
)
from procgov_engine.dmn.result import (
    DecisionResult,
    EvaluatedDecision,
    EvaluatedInput,
    EvaluatedOutput,
    MatchedRule,
)
from procgov_engine.dmn.types import coerce, resolve
from procgov_engine.feel import FeelError, FeelFunction, to_json
from procgov_engine.feel.values import DECIMAL_CONTEXT, feel_equals, feel_less

Clock = Callable[[], dt.datetime]
_OutputValues = dict[str, Any]


def evaluate_decision(
    drg: DecisionRequirements,
    decision_id: str,
    variables: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
) -> DecisionResult:
    """Evaluate ``decision_id`` (and what it requires) with JSON-like ``variables``.

    Raises :class:`DmnEvaluationError` naming the failed decision, rule and cell; its
    ``evaluated_decisions`` hold the decisions that succeeded before the failure.
    """
    if decision_id not in drg.decisions:
        raise DmnEvaluationError(
            decision_id, f"no decision found with id '{decision_id}' in decision requirements '{drg.id}'"
        )
    run = _Run(drg, dict(variables or {}), clock)
    try:
        output = run.evaluate(drg.decisions[decision_id])
    except DmnEvaluationError as exc:
        if not exc.evaluated_decisions:
            exc.evaluated_decisions = tuple(run.evaluated)
        raise
    decision = drg.decisions[decision_id]
    return DecisionResult(
        decision_id=decision.id,
        decision_name=decision.name,
        decision_requirements_id=drg.id,
        output=to_json(output),
        evaluated_decisions=tuple(run.evaluated),
    )


class _Run:
    """One evaluation: remembers each decision's output so a shared requirement runs once."""

    def __init__(self, drg: DecisionRequirements, variables: dict[str, Any], clock: Clock | None) -> None:
        self.drg = drg
        self.variables = variables
        self.clock = clock
        self.outputs: dict[str, Any] = {}
        self.evaluated: list[EvaluatedDecision] = []
        # Business knowledge models are function values in every decision's scope (DMN 1.5 6.3.9).
        # They share one frame, so a model invoking another (or itself) finds it at call time.
        self.functions: dict[str, Any] = {}
        for name, definition in drg.knowledge_models:
            self.functions[name] = definition.evaluate(self.functions, clock=clock)
        for service in drg.decision_services:
            self.functions[service.name] = self._service_function(service)

    def _service_function(self, service: DecisionService) -> FeelFunction:
        """A decision service as a FEEL function (DMN 1.5 6.3.10): a fresh evaluation whose input decisions
        are the arguments rather than evaluated."""
        required = [self.drg.decisions[i] for i in service.input_decisions]
        params = (*service.input_data, *(d.result_name for d in required))

        def call(*args: Any) -> Any:
            inputs = dict(zip(service.input_data, args, strict=False))
            run = _Run(self.drg, inputs, self.clock)
            for decision, value in zip(required, args[len(service.input_data) :], strict=False):
                run.outputs[decision.id] = value
            outputs = [self.drg.decisions[i] for i in service.output_decisions]
            values = [run.evaluate(d) for d in outputs]
            if len(values) == 1:
                return values[0]
            return {d.result_name: v for d, v in zip(outputs, values, strict=True)}

        return FeelFunction(service.name, (params,), call)

    def evaluate(self, decision: Decision) -> Any:
        if decision.id in self.outputs:
            return self.outputs[decision.id]
        scope = {**self.functions, **self.variables}
        for required_id in decision.required_decisions:
            required = self.drg.decisions[required_id]
            value = self.evaluate(required)
            scope[required_id] = value
            if required.result_name:
                scope[required.result_name] = value
        if isinstance(decision.logic, DecisionTable):
            output = self._table(decision, decision.logic, scope)
        else:
            literal = decision.logic
            try:
                output = literal.expression.evaluate(scope, clock=self.clock)
            except FeelError as exc:
                raise DmnEvaluationError(decision.id, str(exc), cell=f"literal expression '{literal.text}'") from exc
            output = coerce(output, resolve(literal.type_ref, self.drg.item_types))
            self.evaluated.append(
                EvaluatedDecision(decision.id, decision.name, decision.decision_type, to_json(output))
            )
        self.outputs[decision.id] = output
        return output

    # ------------------------------------------------------------------------------ decision table
    def _table(self, decision: Decision, table: DecisionTable, scope: dict[str, Any]) -> Any:
        input_values = []
        for table_input in table.inputs:
            try:
                input_values.append(table_input.expression.evaluate(scope, clock=self.clock))
            except FeelError as exc:
                raise DmnEvaluationError(
                    decision.id, str(exc), cell=f"input '{table_input.id}' expression '{table_input.expression_text}'"
                ) from exc

        matched: list[tuple[Rule, _OutputValues]] = []
        for rule in table.rules:
            if self._matches(decision, table, rule, input_values, scope):
                matched.append((rule, self._outputs(decision, table, rule, scope)))
                if table.hit_policy is HitPolicy.FIRST:
                    break

        output = _apply_hit_policy(decision, table, matched) if matched else self._defaults(decision, table, scope)

        self.evaluated.append(
            EvaluatedDecision(
                decision_id=decision.id,
                decision_name=decision.name,
                decision_type=decision.decision_type,
                decision_output=to_json(output),
                evaluated_inputs=tuple(
                    EvaluatedInput(table_input.id, table_input.name, to_json(value))
                    for table_input, value in zip(table.inputs, input_values, strict=True)
                ),
                matched_rules=tuple(
                    MatchedRule(
                        rule.id,
                        rule.index,
                        tuple(
                            EvaluatedOutput(output_def.id, output_def.name, to_json(values[_key(output_def)]))
                            for output_def in table.outputs
                        ),
                    )
                    for rule, values in matched
                ),
            )
        )
        return output

    def _matches(
        self, decision: Decision, table: DecisionTable, rule: Rule, input_values: list[Any], scope: dict[str, Any]
    ) -> bool:
        for table_input, entry, value in zip(table.inputs, rule.input_entries, input_values, strict=True):
            try:
                outcome = entry.tests.evaluate(value, scope, clock=self.clock)
            except FeelError as exc:
                raise _rule_error(
                    decision, rule, str(exc), f"input entry '{entry.id}' of input '{table_input.id}': '{entry.text}'"
                ) from exc
            if outcome is not True:
                return False
        return True

    def _outputs(self, decision: Decision, table: DecisionTable, rule: Rule, scope: dict[str, Any]) -> _OutputValues:
        values: _OutputValues = {}
        for output_def, entry in zip(table.outputs, rule.output_entries, strict=True):
            if entry.expression is None:
                values[_key(output_def)] = None
                continue
            try:
                values[_key(output_def)] = entry.expression.evaluate(scope, clock=self.clock)
            except FeelError as exc:
                raise _rule_error(
                    decision, rule, str(exc), f"output entry '{entry.id}' of output '{output_def.id}': '{entry.text}'"
                ) from exc
        return values

    def _defaults(self, decision: Decision, table: DecisionTable, scope: dict[str, Any]) -> Any:
        defaults: _OutputValues = {}
        for output_def in table.outputs:
            if output_def.default is None:
                continue
            try:
                defaults[_key(output_def)] = output_def.default.evaluate(scope, clock=self.clock)
            except FeelError as exc:
                raise DmnEvaluationError(decision.id, str(exc), cell=f"default output of '{output_def.id}'") from exc
        if not defaults:
            return None
        return next(iter(defaults.values())) if len(defaults) == 1 else defaults


def _rule_error(decision: Decision, rule: Rule, message: str, cell: str | None = None) -> DmnEvaluationError:
    return DmnEvaluationError(decision.id, message, rule_id=rule.id, rule_index=rule.index, cell=cell)


def _key(output: Output) -> str:
    return output.name or output.id


def _single(values: _OutputValues) -> Any:
    """A rule's result: the value for a single output, a context for several."""
    return next(iter(values.values())) if len(values) == 1 else dict(values)


def _priority(table: DecisionTable, values: _OutputValues) -> tuple[int, ...]:
    """Sort key: per output, the position of the rule's value among the output's listed values."""
    key = []
    for output_def in table.outputs:
        listed = output_def.priority_values
        value = values[_key(output_def)]
        position = next((i for i, allowed in enumerate(listed) if feel_equals(allowed, value) is True), len(listed))
        key.append(position)
    return tuple(key)


def _rules_text(matched: list[tuple[Rule, _OutputValues]]) -> str:
    return ", ".join(f"'{rule.id}' (#{rule.index})" for rule, _ in matched)


def _apply_hit_policy(decision: Decision, table: DecisionTable, matched: list[tuple[Rule, _OutputValues]]) -> Any:
    policy = table.hit_policy
    if policy is HitPolicy.FIRST:
        return _single(matched[0][1])
    if policy is HitPolicy.UNIQUE:
        if len(matched) > 1:
            second = matched[1][0]
            raise _rule_error(
                decision,
                second,
                f"hit policy UNIQUE allows a single matching rule, but rules {_rules_text(matched)} matched",
            )
        return _single(matched[0][1])
    if policy is HitPolicy.ANY:
        first = matched[0][1]
        for rule, values in matched[1:]:
            if feel_equals(_single(values), _single(first)) is not True:
                raise _rule_error(
                    decision,
                    rule,
                    f"hit policy ANY requires matching rules to have equal outputs, but rules {_rules_text(matched)} "
                    "differ",
                )
        return _single(first)
    if policy is HitPolicy.PRIORITY:
        ordered = sorted(matched, key=lambda pair: _priority(table, pair[1]))
        return _single(ordered[0][1])
    if policy is HitPolicy.OUTPUT_ORDER:
        ordered = sorted(matched, key=lambda pair: _priority(table, pair[1]))
        return [_single(values) for _, values in ordered]
    if policy is HitPolicy.RULE_ORDER:
        return [_single(values) for _, values in matched]
    # COLLECT
    results = [_single(values) for _, values in matched]
    if table.aggregation is None:
        return results
    if table.aggregation is Aggregation.COUNT:
        return Decimal(len(results))
    for (rule, _), value in zip(matched, results, strict=True):
        if not isinstance(value, Decimal):
            raise _rule_error(
                decision,
                rule,
                f"aggregation {table.aggregation.value} needs numbers, but the output is {to_json(value)!r}",
            )
    if table.aggregation is Aggregation.SUM:
        total = Decimal(0)
        for value in results:
            total = DECIMAL_CONTEXT.add(total, value)
        return total
    best = results[0]
    for value in results[1:]:
        if table.aggregation is Aggregation.MIN and feel_less(value, best):
            best = value
        if table.aggregation is Aggregation.MAX and feel_less(best, value):
            best = value
    return best
