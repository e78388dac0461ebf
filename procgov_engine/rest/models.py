"""Request bodies of the implemented operations, as pydantic models that follow Camunda's OpenAPI spec
(``tests/engine/rest/spec/`` holds the spec file they were written and are tested against).

Every model forbids unknown properties (the spec's ``additionalProperties: false``) and uses strict
types, so that a wrong JSON type is refused rather than coerced. Keys are LongKey strings.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

LongKey = Annotated[StrictStr, Field(pattern=r"^-?[0-9]+$", min_length=1, max_length=25)]
TenantId = Annotated[StrictStr, Field(pattern=r"^(<default>|[\w\.\-]{1,31})$", min_length=1, max_length=31)]
BusinessId = Annotated[StrictStr, Field(min_length=1, max_length=256)]
Variables = dict[str, Any]
Int32 = Annotated[StrictInt, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
OperationRef = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]

MAX_DURATION_MS = 10**13
"""Longest duration (timeout, back-off, TTL, request timeout) taken: about 317 years. The spec allows any
int64, but a deadline past year 9999 cannot be stored or shown, so a longer one is a 400 rather than a
record the log cannot hold."""
MAX_TIMESTAMP_MS = 253_402_300_799_999
"""Latest instant the clock can be pinned to: 9999-12-31T23:59:59.999Z."""

Duration = Annotated[StrictInt, Field(ge=-(2**63), le=MAX_DURATION_MS)]
Timestamp = Annotated[StrictInt, Field(ge=-(2**63), le=MAX_TIMESTAMP_MS)]


class Body(BaseModel):
    """Unknown properties refused; ``null`` only where the spec marks the property ``nullable``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None and name not in cls.nullable and name in cls.model_fields | _aliases(cls):
                    raise ValueError(f"Request property [{name}] cannot be null")
        return data


def _aliases(model: type[BaseModel]) -> dict[str, Any]:
    return {f.alias: f for f in model.model_fields.values() if f.alias}


class StartInstruction(Body):
    elementId: StrictStr


class ProcessInstanceCreation(Body):
    """``ProcessInstanceCreationInstructionByKey`` | ``…ById``: exactly one of the two identifiers."""

    processDefinitionKey: LongKey | None = None
    processDefinitionId: StrictStr | None = None
    processDefinitionVersion: Int32 = -1
    variables: Variables | None = None
    startInstructions: list[StartInstruction] = []
    runtimeInstructions: list[dict[str, Any]] = []
    tenantId: TenantId | None = None
    operationReference: OperationRef | None = None
    awaitCompletion: StrictBool = False
    requestTimeout: Duration = 0
    fetchVariables: list[StrictStr] = []
    tags: list[StrictStr] = []  # a TagSet, checked after duplicates collapse (rest/instances.py)
    businessId: BusinessId | None = None


class OperationReference(Body):
    operationReference: OperationRef | None = None


class JobActivation(Body):
    type: StrictStr
    worker: StrictStr = ""
    timeout: Duration
    maxJobsToActivate: Int32
    fetchVariable: list[StrictStr] | None = None
    requestTimeout: Duration = 0
    tenantIds: list[TenantId] = []
    tenantFilter: Literal["PROVIDED", "ASSIGNED"] = "PROVIDED"
    withLease: StrictBool | None = None
    nullable = frozenset({"withLease"})

    @field_validator("tenantFilter", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class JobCompletion(Body):
    nullable = frozenset({"variables", "result", "leaseToken", "businessId"})
    variables: Variables | None = None
    result: dict[str, Any] | None = None
    leaseToken: StrictStr | None = None
    businessId: BusinessId | None = None


class JobFailure(Body):
    nullable = frozenset({"leaseToken"})
    retries: Int32 = 0
    errorMessage: StrictStr = ""
    retryBackOff: Duration = 0
    variables: Variables | None = None
    leaseToken: StrictStr | None = None


class JobError(Body):
    nullable = frozenset({"errorMessage", "variables", "leaseToken"})
    errorCode: StrictStr
    errorMessage: StrictStr | None = None
    variables: Variables | None = None
    leaseToken: StrictStr | None = None


class JobChangeset(Body):
    nullable = frozenset({"retries", "timeout", "priority"})
    retries: Int32 | None = None
    timeout: Duration | None = None
    priority: Int32 | None = None


class JobUpdate(Body):
    nullable = frozenset({"leaseToken"})
    changeset: JobChangeset
    operationReference: OperationRef | None = None
    leaseToken: StrictStr | None = None


class MessagePublication(Body):
    name: StrictStr
    correlationKey: StrictStr = ""
    timeToLive: Duration = 0
    messageId: StrictStr = ""
    variables: Variables | None = None
    tenantId: TenantId | None = None
    businessId: BusinessId | None = None


class MessageCorrelation(Body):
    name: StrictStr
    correlationKey: StrictStr = ""
    variables: Variables | None = None
    tenantId: TenantId | None = None
    businessId: BusinessId | None = None


class SignalBroadcast(Body):
    signalName: StrictStr
    variables: Variables | None = None
    tenantId: TenantId | None = None


class DecisionEvaluation(Body):
    """``DecisionEvaluationById`` | ``DecisionEvaluationByKey``."""

    decisionDefinitionId: StrictStr | None = None
    decisionDefinitionKey: LongKey | None = None
    variables: Variables | None = None
    tenantId: TenantId | None = None


class ClockPin(Body):
    timestamp: Timestamp


class UserTaskAssignment(Body):
    nullable = frozenset({"allowOverride", "action"})
    assignee: StrictStr | None = None
    allowOverride: StrictBool | None = None
    action: StrictStr | None = None


class UserTaskCompletion(Body):
    nullable = frozenset({"variables", "action"})
    variables: Variables | None = None
    action: StrictStr | None = None


class UserTaskChangeset(BaseModel):
    """``Changeset``: the spec allows other properties ("additional attributes will be ignored")."""

    model_config = ConfigDict(extra="allow")
    dueDate: StrictStr | None = None
    followUpDate: StrictStr | None = None
    candidateUsers: list[StrictStr] | None = None
    candidateGroups: list[StrictStr] | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=100)] | None = None


class UserTaskUpdate(Body):
    nullable = frozenset({"changeset", "action"})
    changeset: UserTaskChangeset | None = None
    action: StrictStr | None = None


class JobResultCorrections(BaseModel):
    """A task listener's corrections; "additional attributes will be ignored" (the spec)."""

    model_config = ConfigDict(extra="ignore")
    assignee: StrictStr | None = None
    dueDate: StrictStr | None = None
    followUpDate: StrictStr | None = None
    candidateUsers: list[StrictStr] | None = None
    candidateGroups: list[StrictStr] | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=100)] | None = None


class JobResultUserTask(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: StrictStr | None = None
    denied: StrictBool | None = None
    deniedReason: StrictStr | None = None
    corrections: JobResultCorrections | None = None
