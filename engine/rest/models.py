"""Request bodies of the implemented operations, as pydantic models that follow Camunda's OpenAPI spec
(``tests/engine/rest/spec/`` holds the spec file they were written and are tested against).

Every model forbids unknown properties (the spec's ``additionalProperties: false``) and uses strict
types, so that a wrong JSON type is refused rather than coerced. Keys are LongKey strings.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

LongKey = Annotated[StrictStr, Field(pattern=r"^-?[0-9]+$", min_length=1, max_length=25)]
TenantId = Annotated[StrictStr, Field(pattern=r"^(<default>|[\w\.\-]{1,31})$", min_length=1, max_length=31)]
BusinessId = Annotated[StrictStr, Field(min_length=1, max_length=256)]
Tag = Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-:.]{0,99}$", max_length=100)]
Variables = dict[str, Any]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StartInstruction(Body):
    elementId: StrictStr


class ProcessInstanceCreation(Body):
    """``ProcessInstanceCreationInstructionByKey`` | ``…ById``: exactly one of the two identifiers."""

    processDefinitionKey: LongKey | None = None
    processDefinitionId: StrictStr | None = None
    processDefinitionVersion: StrictInt = -1
    variables: Variables | None = None
    startInstructions: list[StartInstruction] = []
    runtimeInstructions: list[dict[str, Any]] = []
    tenantId: TenantId | None = None
    operationReference: StrictInt | None = Field(None, ge=1)
    awaitCompletion: StrictBool = False
    requestTimeout: StrictInt = 0
    fetchVariables: list[StrictStr] = []
    tags: Annotated[list[Tag], Field(max_length=10)] = []
    businessId: BusinessId | None = None


class OperationReference(Body):
    operationReference: StrictInt | None = Field(None, ge=1)


class JobActivation(Body):
    type: StrictStr
    worker: StrictStr = ""
    timeout: StrictInt
    maxJobsToActivate: StrictInt
    fetchVariable: list[StrictStr] | None = None
    requestTimeout: StrictInt = 0
    tenantIds: list[TenantId] = []
    tenantFilter: Literal["PROVIDED", "ASSIGNED"] = "PROVIDED"
    withLease: StrictBool | None = None

    @field_validator("tenantFilter", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class JobCompletion(Body):
    variables: Variables | None = None
    result: dict[str, Any] | None = None
    leaseToken: StrictStr | None = None
    businessId: BusinessId | None = None


class JobFailure(Body):
    retries: StrictInt = 0
    errorMessage: StrictStr = ""
    retryBackOff: StrictInt = 0
    variables: Variables | None = None
    leaseToken: StrictStr | None = None


class JobError(Body):
    errorCode: StrictStr
    errorMessage: StrictStr | None = None
    variables: Variables | None = None
    leaseToken: StrictStr | None = None


class JobChangeset(Body):
    retries: StrictInt | None = None
    timeout: StrictInt | None = None
    priority: StrictInt | None = None


class JobUpdate(Body):
    changeset: JobChangeset
    operationReference: StrictInt | None = Field(None, ge=1)
    leaseToken: StrictStr | None = None


class MessagePublication(Body):
    name: StrictStr
    correlationKey: StrictStr = ""
    timeToLive: StrictInt = 0
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
    timestamp: StrictInt
