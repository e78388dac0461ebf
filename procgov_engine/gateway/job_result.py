"""``CompleteJobRequest.result`` over gRPC: a task listener's denial and corrections.

The gateway serves the message classes pyzeebe generates from an older gateway.proto, whose
``CompleteJobRequest`` ends at ``variables``. Camunda 8.8's gateway.proto adds ``JobResult result = 3``
(``denied = 1``, ``corrections = 2``, ``deniedReason = 3``, ``type = 4``, ``activateElements = 5``;
``JobResultCorrections``: ``assignee = 1``, ``dueDate = 2``, ``followUpDate = 3``, ``candidateUsers = 4``,
``candidateGroups = 5`` as ``StringList { repeated string values = 1 }``, ``priority = 6``). Protobuf keeps
fields a message class does not know, so the request's bytes are read again here with just those messages
declared (in a pool of their own), and the result becomes the engine's job result.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

_PACKAGE = "procgov.gateway_result"
_F = descriptor_pb2.FieldDescriptorProto


def _file() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="procgov_job_result.proto", package=_PACKAGE, syntax="proto3")

    def message(name: str, fields: list[tuple[str, int, int, str | None, bool]]) -> None:
        proto = file.message_type.add(name=name)
        for field_name, number, kind, type_name, repeated in fields:
            field = proto.field.add(name=field_name, number=number, type=kind)
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if not repeated and kind != _F.TYPE_MESSAGE:
                field.proto3_optional = True  # presence: an omitted correction keeps the task's value
                oneof = len(proto.oneof_decl)
                proto.oneof_decl.add(name=f"_{field_name}")
                field.oneof_index = oneof
            if type_name is not None:
                field.type_name = f".{_PACKAGE}.{type_name}"

    message("StringList", [("values", 1, _F.TYPE_STRING, None, True)])
    message(
        "JobResultCorrections",
        [
            ("assignee", 1, _F.TYPE_STRING, None, False),
            ("dueDate", 2, _F.TYPE_STRING, None, False),
            ("followUpDate", 3, _F.TYPE_STRING, None, False),
            ("candidateUsers", 4, _F.TYPE_MESSAGE, "StringList", False),
            ("candidateGroups", 5, _F.TYPE_MESSAGE, "StringList", False),
            ("priority", 6, _F.TYPE_INT32, None, False),
        ],
    )
    message(
        "JobResult",
        [
            ("denied", 1, _F.TYPE_BOOL, None, False),
            ("corrections", 2, _F.TYPE_MESSAGE, "JobResultCorrections", False),
            ("deniedReason", 3, _F.TYPE_STRING, None, False),
            ("type", 4, _F.TYPE_STRING, None, False),
        ],
    )
    message("CompleteJobRequest", [("result", 3, _F.TYPE_MESSAGE, "JobResult", False)])
    return file


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())
CompleteJobResult: Any = message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{_PACKAGE}.CompleteJobRequest"))
"""The result part of Camunda 8.8's ``CompleteJobRequest``; also what tests build requests with."""

_CORRECTION_NAMES = {"candidateUsers": "candidateUsersList", "candidateGroups": "candidateGroupsList"}


_RESULT_TAG = b"\x1a"
"""The key of field 3 with wire type 2 (length-delimited): a request that carries ``result`` holds
this byte. Its absence proves there is none (the byte can also occur elsewhere, e.g. in the job key or
a length; then the request is parsed)."""


class InvalidJobResult(ValueError):
    """The request carries a result the engine cannot take."""


def job_result(request: Message) -> dict[str, Any] | None:
    """The engine's job result (``{denied, deniedReason, corrections}``) in a CompleteJob request, or None."""
    raw = request.SerializeToString()
    if _RESULT_TAG not in raw:
        return None  # the common case: no byte of the request can start field 3, so no result
    try:
        parsed = CompleteJobResult.FromString(raw)
    except DecodeError as error:
        raise InvalidJobResult(f"Expected 'result' to be a JobResult, but it could not be read ({error})") from None
    if not parsed.HasField("result"):
        return None
    result = parsed.result
    kind = result.type if result.HasField("type") else "userTask"
    if kind != "userTask":
        raise InvalidJobResult(f"Expected the job result type to be 'userTask', but it was '{kind}'")
    engine_result: dict[str, Any] = {"denied": result.denied, "deniedReason": result.deniedReason}
    if result.HasField("corrections"):
        corrections: dict[str, Any] = {}
        given = result.corrections
        for name in ("assignee", "dueDate", "followUpDate", "priority"):
            if given.HasField(name):
                corrections[name] = getattr(given, name)
        for name in ("candidateUsers", "candidateGroups"):
            if given.HasField(name):
                corrections[_CORRECTION_NAMES[name]] = list(getattr(given, name).values)
        engine_result["corrections"] = corrections
    return engine_result
