"""BPMN models: parsing (with deploy-time validation) into the executable form the processor runs."""

from procgov_engine.model.bpmn import Element, ModelError, Process, SequenceFlow, parse_bpmn
from procgov_engine.model.expressions import Expression, ExpressionError

__all__ = ["Element", "Expression", "ExpressionError", "ModelError", "Process", "SequenceFlow", "parse_bpmn"]
