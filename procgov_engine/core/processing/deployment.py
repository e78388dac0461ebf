"""DeployResource: BPMN processes, DMN decision requirements and Camunda forms, versioned.

Versioning follows Zeebe (docs.camunda.io/docs/components/concepts/resources/#versioning): a resource
whose content is identical to the latest version of the same id is a duplicate and keeps that version;
any change creates version n+1. Start events with triggers subscribe for the latest version only.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from procgov_engine import strict_json
from procgov_engine.api import (
    DecisionMetadata,
    DecisionRequirementsMetadata,
    Deployment,
    FormMetadata,
    ProcessMetadata,
    Rejection,
    RejectionType,
    Resource,
)
from procgov_engine.core.processing.base import CommandProcessor
from procgov_engine.core.state import (
    DeployedProcess,
    SignalSubscription,
)
from procgov_engine.dmn import DmnParseError, parse_dmn
from procgov_engine.model.bpmn import ModelError, parse_bpmn
from procgov_engine.model.expressions import ExpressionError
from procgov_engine.model.timers import TimerFormatError, schedule


def _checksum(content: bytes) -> str:
    return hashlib.md5(content, usedforsecurity=False).hexdigest()


class CreateDeployment(CommandProcessor):
    """DEPLOYMENT CREATE: parse, validate and version every resource, all or none."""

    kind = "deploy"
    value_type = "DEPLOYMENT"
    intent = "CREATE"

    def process(self, args: dict[str, Any]) -> Deployment:
        resources = [Resource(r["name"], base64.b64decode(r["content"])) for r in args["resources"]]
        return self.deploy(resources, args["tenant_id"])

    def deploy(self, resources: Sequence[Resource], tenant_id: str) -> Deployment:
        w = self.w
        value: dict[str, Any] = {
            "resources": [
                {"resourceName": r.name, "resource": base64.b64encode(r.content).decode()} for r in resources
            ],
            "processesMetadata": [],
            "decisionsMetadata": [],
            "decisionRequirementsMetadata": [],
            "formMetadata": [],
            "tenantId": tenant_id,
        }
        w.command("DEPLOYMENT", "CREATE", -1, value)
        if not resources:
            self._reject(value, "Expected to deploy at least one resource, but none given")
        parsed: list[tuple[Resource, str, Any]] = []
        errors: list[str] = []
        for resource in resources:
            try:
                parsed.append((resource, *self._parse(resource)))
            except (ModelError, ValueError) as exc:
                errors.append(
                    f"'{resource.name}': {exc}" if not str(exc).startswith(f"'{resource.name}'") else str(exc)
                )
            except Exception as exc:  # e.g. RecursionError: a rejection, never a command that fails on replay
                errors.append(f"'{resource.name}': the resource could not be processed ({type(exc).__name__}: {exc})")
        if errors:
            self._reject(
                value, "Expected to deploy new resources, but encountered the following errors:\n" + "\n".join(errors)
            )
        # Ids are unique per kind, as in Zeebe: a form may share its id with a process.
        seen: dict[tuple[str, str], str] = {}
        for resource, kind, model in parsed:
            ids = [p.bpmn_process_id for p in model] if kind == "bpmn" else [model_id(kind, model)]
            for rid in ids:
                if (kind, rid) in seen:
                    self._reject(
                        value,
                        f"Expected the {kind} ids to be unique within a deployment but found a duplicated id '{rid}' "
                        f"in the resources '{seen[kind, rid]}' and '{resource.name}'.",
                    )
                seen[kind, rid] = resource.name
        deployment_key = w.next_key()
        processes: list[ProcessMetadata] = []
        decisions: list[DecisionMetadata] = []
        drgs: list[DecisionRequirementsMetadata] = []
        forms: list[FormMetadata] = []
        for resource, kind, model in parsed:
            if kind == "bpmn":
                processes.extend(self._deploy_processes(resource, model, tenant_id, deployment_key))
            elif kind == "dmn":
                drg_meta, decision_meta = self._deploy_drg(resource, model, tenant_id)
                drgs.append(drg_meta)
                decisions.extend(decision_meta)
            else:
                forms.append(self._deploy_form(resource, model, tenant_id, deployment_key))
        value["processesMetadata"] = [
            {
                "bpmnProcessId": m.bpmn_process_id,
                "version": m.version,
                "processDefinitionKey": m.process_definition_key,
                "resourceName": m.resource_name,
                "tenantId": m.tenant_id,
            }
            for m in processes
        ]
        value["decisionsMetadata"] = [
            {
                "decisionId": d.decision_id,
                "decisionName": d.decision_name,
                "version": d.version,
                "decisionKey": d.decision_key,
                "decisionRequirementsId": d.decision_requirements_id,
                "decisionRequirementsKey": d.decision_requirements_key,
                "tenantId": d.tenant_id,
            }
            for d in decisions
        ]
        value["decisionRequirementsMetadata"] = [
            {
                "decisionRequirementsId": d.decision_requirements_id,
                "version": d.version,
                "decisionRequirementsKey": d.decision_requirements_key,
                "resourceName": d.resource_name,
                "tenantId": d.tenant_id,
            }
            for d in drgs
        ]
        value["formMetadata"] = [
            {
                "formId": f.form_id,
                "version": f.version,
                "formKey": f.form_key,
                "resourceName": f.resource_name,
                "tenantId": f.tenant_id,
            }
            for f in forms
        ]
        w.event("DEPLOYMENT", "CREATED", deployment_key, value)
        return Deployment(deployment_key, processes, decisions, drgs, forms, tenant_id)

    def _reject(self, value: dict[str, Any], reason: str) -> None:
        self.w.rejection("DEPLOYMENT", "CREATE", -1, value, RejectionType.INVALID_ARGUMENT.value, reason)
        raise Rejection(RejectionType.INVALID_ARGUMENT, reason)

    def _parse(self, resource: Resource) -> tuple[str, Any]:
        name = resource.name.lower()
        if name.endswith((".bpmn", ".bpmn20.xml")):
            return "bpmn", parse_bpmn(resource.content, resource.name)
        if name.endswith((".dmn", ".dmn11.xml")):
            try:
                return "dmn", parse_dmn(resource.content)
            except DmnParseError as exc:
                raise ValueError(str(exc)) from exc
        if name.endswith(".form"):
            try:
                form = strict_json.loads(resource.content, "resource")
            except strict_json.InvalidDocument as exc:
                raise ValueError(f"not a JSON form: {exc}") from exc
            if not isinstance(form, dict) or not isinstance(form.get("id"), str) or not form["id"]:
                raise ValueError("a form needs a non-empty string 'id' field")
            return "form", form
        raise ValueError(
            "Expected to deploy a resource with the extension .bpmn, .dmn or .form, but got another extension"
        )

    # -- processes -----------------------------------------------------------------------------
    def _deploy_processes(
        self, resource: Resource, models: list[Any], tenant_id: str, deployment_key: int
    ) -> list[ProcessMetadata]:
        p = self.state
        w = self.w
        checksum = _checksum(resource.content)
        result = []
        for model in models:
            versions = p.processes_by_id.get((model.bpmn_process_id, tenant_id), [])
            latest = versions[-1] if versions else None
            if latest is not None and latest.checksum == checksum:
                result.append(
                    ProcessMetadata(latest.bpmn_process_id, latest.version, latest.key, latest.resource_name, tenant_id)
                )
                continue
            key = w.next_key()
            self.ctx.appliers.parsed[resource.content] = models  # parsed once: the applier takes the model
            w.event(
                "PROCESS",
                "CREATED",
                key,
                {
                    "bpmnProcessId": model.bpmn_process_id,
                    "version": (latest.version + 1) if latest else 1,
                    "processDefinitionKey": key,
                    "resourceName": resource.name,
                    "checksum": base64.b64encode(bytes.fromhex(checksum)).decode(),
                    "resource": base64.b64encode(resource.content).decode(),
                    "duplicate": False,
                    "deploymentKey": deployment_key,
                    "versionTag": model.version_tag,
                    "tenantId": tenant_id,
                },
            )
            process = p.processes_by_key[key]
            self._subscribe_start_events(process, latest)
            result.append(
                ProcessMetadata(process.bpmn_process_id, process.version, process.key, process.resource_name, tenant_id)
            )
        return result

    def _subscribe_start_events(self, process: DeployedProcess, previous: DeployedProcess | None) -> None:
        """Timer, message and signal start events of the new latest version replace the previous one's."""
        p = self.state
        w = self.w
        key = (process.bpmn_process_id, process.tenant_id)
        for timer_key in list(p.start_timers.get(key, [])):
            timer = p.timers.get(timer_key)
            if timer is not None:
                self.b.subscriptions.timer_event(timer, "CANCELED")
        # the previous version's message start events: the PROCESS CREATED applier dropped them
        for subs in p.signal_subs.values():
            for sub in list(subs.values()):
                if sub.owner is None and sub.process.bpmn_process_id == process.bpmn_process_id:
                    self.b.subscriptions.signal_event(sub, "DELETED")
        for start in process.model.start_events:
            if start.event_type == "TIMER":
                assert start.timer is not None
                try:
                    text = start.timer.expression.evaluate({}, self.ctx.feel_clock)
                    plan = schedule(start.timer.kind, str(text), w.now)
                except (ExpressionError, TimerFormatError):
                    continue  # validated at parse time for static values; a FEEL timer start needs no variables
                self.b.subscriptions.create_timer(process, start, None, plan)
            elif start.event_type == "MESSAGE":
                assert start.message is not None
                name = str(start.message.name.evaluate({}, self.ctx.feel_clock))
                w.event(
                    "MESSAGE_START_EVENT_SUBSCRIPTION",
                    "CREATED",
                    process.key,
                    {
                        "processDefinitionKey": process.key,
                        "bpmnProcessId": process.bpmn_process_id,
                        "messageName": name,
                        "startEventId": start.id,
                        "tenantId": process.tenant_id,
                    },
                )
            elif start.event_type == "SIGNAL":
                assert start.signal_name is not None
                name = str(start.signal_name.evaluate({}, self.ctx.feel_clock))
                sub = SignalSubscription(w.next_key(), name, None, start, process)
                self.b.subscriptions.signal_event(sub, "CREATED")

    # -- decisions -----------------------------------------------------------------------------
    def _deploy_drg(
        self, resource: Resource, model: Any, tenant_id: str
    ) -> tuple[DecisionRequirementsMetadata, list[DecisionMetadata]]:
        p = self.state
        w = self.w
        checksum = _checksum(resource.content)
        drg_id, drg_name = model_id("dmn", model), getattr(model, "name", "") or model_id("dmn", model)
        versions = p.drgs_by_id.get((drg_id, tenant_id), [])
        latest = versions[-1] if versions else None
        decisions_meta: list[DecisionMetadata] = []
        if latest is not None and latest.checksum == checksum:
            drg = latest
            for decision_id in decision_ids(model):
                d = p.decisions_by_id[(decision_id, tenant_id)][-1]
                decisions_meta.append(
                    DecisionMetadata(d.decision_id, d.name, d.version, d.key, drg.drg_id, drg.key, tenant_id)
                )
            return DecisionRequirementsMetadata(
                drg.drg_id, drg.name, drg.version, drg.key, drg.resource_name, tenant_id
            ), decisions_meta
        drg_key = w.next_key()
        self.ctx.appliers.parsed[resource.content] = model
        w.event(
            "DECISION_REQUIREMENTS",
            "CREATED",
            drg_key,
            {
                "decisionRequirementsId": drg_id,
                "decisionRequirementsName": drg_name,
                "decisionRequirementsVersion": (latest.version + 1) if latest else 1,
                "decisionRequirementsKey": drg_key,
                "namespace": getattr(model, "namespace", ""),
                "resourceName": resource.name,
                "checksum": base64.b64encode(bytes.fromhex(checksum)).decode(),
                "resource": base64.b64encode(resource.content).decode(),
                "duplicate": False,
                "tenantId": tenant_id,
            },
        )
        drg = p.drgs_by_id[(drg_id, tenant_id)][-1]
        for decision_id, decision_name in decision_entries(model):
            dversions = p.decisions_by_id.get((decision_id, tenant_id), [])
            decision_key = w.next_key()
            w.event(
                "DECISION",
                "CREATED",
                decision_key,
                {
                    "decisionId": decision_id,
                    "decisionName": decision_name,
                    "version": (dversions[-1].version + 1) if dversions else 1,
                    "decisionKey": decision_key,
                    "decisionRequirementsId": drg.drg_id,
                    "decisionRequirementsKey": drg.key,
                    "duplicate": False,
                    "tenantId": tenant_id,
                },
            )
            decision = p.decisions_by_key[decision_key]
            decisions_meta.append(
                DecisionMetadata(
                    decision.decision_id, decision.name, decision.version, decision.key, drg.drg_id, drg.key, tenant_id
                )
            )
        return DecisionRequirementsMetadata(
            drg.drg_id, drg.name, drg.version, drg.key, drg.resource_name, tenant_id
        ), decisions_meta

    # -- forms ---------------------------------------------------------------------------------
    def _deploy_form(
        self, resource: Resource, form: dict[str, Any], tenant_id: str, deployment_key: int
    ) -> FormMetadata:
        p = self.state
        w = self.w
        checksum = _checksum(resource.content)
        versions = p.forms_by_id.get((form["id"], tenant_id), [])
        latest = versions[-1] if versions else None
        if latest is not None and latest.checksum == checksum:
            return FormMetadata(latest.form_id, latest.version, latest.key, latest.resource_name, tenant_id)
        key = w.next_key()
        w.event(
            "FORM",
            "CREATED",
            key,
            {
                "formId": form["id"],
                "version": (latest.version + 1) if latest else 1,
                "formKey": key,
                "resourceName": resource.name,
                "checksum": base64.b64encode(bytes.fromhex(checksum)).decode(),
                "resource": base64.b64encode(resource.content).decode(),
                "duplicate": False,
                "tenantId": tenant_id,
            },
        )
        deployed = p.forms_by_id[(form["id"], tenant_id)][-1]
        return FormMetadata(deployed.form_id, deployed.version, deployed.key, deployed.resource_name, tenant_id)


def model_id(kind: str, model: Any) -> str:
    if kind == "form":
        return str(model["id"])
    return str(getattr(model, "id", ""))


def decision_entries(model: Any) -> list[tuple[str, str]]:
    decisions = getattr(model, "decisions", {})
    values = decisions.values() if isinstance(decisions, dict) else decisions
    return [(d.id, getattr(d, "name", "") or d.id) for d in values]


def decision_ids(model: Any) -> list[str]:
    return [d for d, _ in decision_entries(model)]
