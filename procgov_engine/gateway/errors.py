"""Mapping of engine rejections to gRPC status codes, worded as Zeebe's gateway words them.

The status code decides how a client reacts. pyzeebe (``pyzeebe/grpc_internals``) raises a typed error
for NOT_FOUND (``ProcessDefinitionNotFoundError``, ``JobNotFoundError``, ``ProcessInstanceNotFoundError``,
``DecisionNotFoundError``), INVALID_ARGUMENT (``InvalidJSONError``, ``ProcessInvalidError``,
``ActivateJobsRequestInvalidError``), FAILED_PRECONDITION (``JobAlreadyDeactivatedError``,
``ProcessDefinitionHasNoStartEventError``), ALREADY_EXISTS (``MessageAlreadyExistsError``) and
DEADLINE_EXCEEDED (``ProcessTimeoutError``); but it treats UNAVAILABLE, CANCELLED, RESOURCE_EXHAUSTED,
INTERNAL and DEADLINE_EXCEEDED as a sick gateway (counting connection retries, a worker backs off
for 5 s). So a client's mistake is never answered with one of those; INTERNAL is reserved for
Zeebe's PROCESSING_ERROR and for genuine engine faults.
"""

from __future__ import annotations

import grpc

from procgov_engine.api import Rejection, RejectionType

STATUS_BY_REJECTION: dict[RejectionType, grpc.StatusCode] = {
    RejectionType.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    RejectionType.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    RejectionType.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    RejectionType.INVALID_STATE: grpc.StatusCode.FAILED_PRECONDITION,
    RejectionType.PROCESSING_ERROR: grpc.StatusCode.INTERNAL,
}


def rejection_status(rejection: Rejection, intent: str) -> tuple[grpc.StatusCode, str]:
    """Status code and Zeebe-worded detail for a rejected command.

    Zeebe's gateway reports ``Command 'CREATE' rejected with code 'NOT_FOUND': <reason>``; the intent
    names the command the RPC wrote (e.g. ``COMPLETE`` for CompleteJob).
    """
    code = STATUS_BY_REJECTION[rejection.type]
    return code, f"Command '{intent}' rejected with code '{rejection.type.value}': {rejection.reason}"
