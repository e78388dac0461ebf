"""PROCESS_INSTANCE_CREATION CREATE and PROCESS_INSTANCE CANCEL (docs.camunda.io/docs/apis-tools/
zeebe-api/gateway-service/#createprocessinstance-rpc and #cancelprocessinstance-rpc)."""

from __future__ import annotations

import re
from typing import Any, NoReturn

from procgov_engine.api import ProcessInstanceCreated, RejectionType
from procgov_engine.core.behaviours.context import reject
from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.core.state import TERMINATING, DeployedProcess
from procgov_engine.model.bpmn import Element

MAX_TAGS = 10
TAG = re.compile(r"[A-Za-z][A-Za-z0-9_\-:.]{0,99}")
TAG_FORMAT = (
    "Tag must start with a letter (a-z, A-Z), followed by alphanumerics, underscores, minuses, colons, or "
    "periods. It must not be blank and must be 100 characters or less."
)


class CreateProcessInstance(CommandProcessor):
    kind = "create"
    value_type = "PROCESS_INSTANCE_CREATION"
    intent = "CREATE"

    def process(self, args: dict[str, Any]) -> ProcessInstanceCreated:
        process = self.find_process(
            args["bpmn_process_id"], args["process_definition_key"], args["version"], args["tenant_id"]
        )
        variables = args["variables"]
        start_element_ids = args["start_element_ids"]
        tags = list(dict.fromkeys(args.get("tags", ())))  # a set in Zeebe: duplicates collapse
        value = {
            "bpmnProcessId": process.bpmn_process_id,
            "version": process.version,
            "processDefinitionKey": process.key,
            "processInstanceKey": -1,
            "variables": dict(variables),
            "startInstructions": [{"elementId": e} for e in start_element_ids],
            "tenantId": process.tenant_id,
        }
        if tags:  # Camunda 8.8's ProcessInstanceCreationRecord.tags (left out when empty, see instance_tags)
            value["tags"] = tags
        self.w.command("PROCESS_INSTANCE_CREATION", "CREATE", -1, value)
        starts: list[Element] = []
        if start_element_ids:
            for element_id in start_element_ids:
                element = process.model.elements.get(element_id)
                if element is None or element.element_type in ("PROCESS", "BOUNDARY_EVENT"):
                    self._reject(
                        value,
                        RejectionType.INVALID_ARGUMENT,
                        f"Expected to create instance of process with start instructions but no element found with "
                        f"id '{element_id}'.",
                    )
                if element.parent is not process.model.root:
                    self._reject(
                        value,
                        RejectionType.INVALID_ARGUMENT,
                        f"Expected to create instance of process with start instructions but the element with id "
                        f"'{element_id}' is inside a sub-process; only elements of the process scope are supported.",
                    )
                starts.append(element)
        else:
            none_start = process.model.root.none_start
            if none_start is None:
                self._reject(
                    value,
                    RejectionType.INVALID_STATE,
                    "Expected to create instance of process with none start event, but there is no such event",
                )
            starts.append(none_start)
        self._validate_tags(value, tags)
        root = self.b.lifecycle.start_instance(process, starts, variables, tags=tags)
        created = dict(value, processInstanceKey=root.key)
        self.w.event("PROCESS_INSTANCE_CREATION", "CREATED", root.key, created, root.key)
        return ProcessInstanceCreated(
            process.key, process.bpmn_process_id, process.version, root.key, process.tenant_id
        )

    def _validate_tags(self, value: dict[str, Any], tags: list[str]) -> None:
        """Zeebe's limits (ProcessInstanceCreationHelper.validateTags, TagUtil): at most 10 tags, each
        starting with a letter, then letters, digits, ``_ - : .``, at most 100 characters."""
        if len(tags) > MAX_TAGS:
            self._reject(
                value,
                RejectionType.INVALID_ARGUMENT,
                "Expected to create instance of process with tags, but the number of tags exceeds the limit of "
                f"{MAX_TAGS}.",
            )
        invalid = [t for t in tags if not isinstance(t, str) or not TAG.fullmatch(t)]
        if invalid:
            self._reject(
                value,
                RejectionType.INVALID_ARGUMENT,
                "Expected to create instance of process with tags, but the tags '"
                + "', '".join(map(str, invalid))
                + f"' are invalid. {TAG_FORMAT}",
            )

    def _reject(self, value: dict[str, Any], kind: RejectionType, reason: str) -> NoReturn:
        self.ctx.reject_command(self.value_type, self.intent, value, kind, reason)

    def find_process(
        self, bpmn_process_id: str | None, key: int | None, version: int, tenant_id: str
    ) -> DeployedProcess:
        if key:
            process = self.state.processes_by_key.get(key)
            if process is None:
                raise reject(
                    RejectionType.NOT_FOUND, f"Expected to find process definition with key '{key}', but none found"
                )
            return process
        versions = self.state.processes_by_id.get((bpmn_process_id or "", tenant_id))
        if not versions:
            raise reject(
                RejectionType.NOT_FOUND,
                f"Expected to find process definition with process ID '{bpmn_process_id}', but none found",
            )
        if version is None or version < 0:
            return versions[-1]
        for process in versions:
            if process.version == version:
                return process
        raise reject(
            RejectionType.NOT_FOUND,
            f"Expected to find process definition with process ID '{bpmn_process_id}' and version '{version}', "
            "but none found",
        )


class CancelProcessInstance(CommandProcessor):
    kind = "cancel"
    value_type = "PROCESS_INSTANCE"
    intent = "CANCEL"

    def process(self, args: dict[str, Any]) -> None:
        key = args["key"]
        value = {"processInstanceKey": key}
        self.w.command("PROCESS_INSTANCE", "CANCEL", key, value, key)
        root = self.state.instances.get(key)
        if root is None or root.flow_scope is not None or root.state == TERMINATING:  # terminating: waits already
            self.ctx.reject_command(
                "PROCESS_INSTANCE",
                "CANCEL",
                value,
                RejectionType.NOT_FOUND,
                f"Expected to cancel a process instance with key '{key}', but no such process was found",
            )
        if root.parent_process_instance_key > 0:
            self.ctx.reject_command(
                "PROCESS_INSTANCE",
                "CANCEL",
                value,
                RejectionType.INVALID_STATE,
                f"Expected to cancel a process instance with key '{key}', but it is created by a parent process "
                f"instance. Cancel the root process instance '{root.parent_process_instance_key}' instead.",
            )
        self.b.lifecycle.terminate(root)
