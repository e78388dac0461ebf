"""PROCESS, DECISION_REQUIREMENTS, DECISION, FORM and DEPLOYMENT: the deployed resources, their versions and
parsed models, and what each deployment resolved to."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from procgov_engine.core.state import DeployedDecision, DeployedDrg, DeployedForm, DeployedProcess
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable
from procgov_engine.dmn import parse_dmn
from procgov_engine.model.bpmn import parse_bpmn


class DeploymentAppliers(Appliers):
    def appliers(self) -> AppliersTable:
        return {
            ("PROCESS", "CREATED"): self._process_created,
            ("DECISION_REQUIREMENTS", "CREATED"): self._drg_created,
            ("DECISION", "CREATED"): self._decision_created,
            ("FORM", "CREATED"): self._form_created,
            ("DEPLOYMENT", "CREATED"): self._deployment_created,
        }

    # -- deployments: PROCESS, DECISION_REQUIREMENTS, DECISION, FORM, DEPLOYMENT -----------------
    def _model(self, content: bytes, parse: Callable[[bytes], Any]) -> Any:
        model = self.scratch.parsed.get(content)
        if model is None:
            model = self.scratch.parsed[content] = parse(content)
        return model

    @staticmethod
    def _checksum(value: dict[str, Any]) -> str:
        return base64.b64decode(value["checksum"]).hex()

    def _process_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        content = base64.b64decode(value["resource"])
        resource_name = value["resourceName"]
        models = self._model(content, lambda c: parse_bpmn(c, resource_name))
        bpmn_id, tenant_id = value["bpmnProcessId"], value["tenantId"]
        model = next(m for m in models if m.bpmn_process_id == bpmn_id)
        process = DeployedProcess(
            key=key,
            bpmn_process_id=bpmn_id,
            version=value["version"],
            resource_name=resource_name,
            checksum=self._checksum(value),
            model=model,
            resource=content,
            deployment_key=value["deploymentKey"],
            tenant_id=tenant_id,
        )
        state.processes_by_id.setdefault((bpmn_id, tenant_id), []).append(process)
        state.processes_by_key[key] = process
        # the new latest version's start events replace the previous one's (no record says so for
        # message start events: their subscriptions are simply those of the latest version)
        for corr, starts in list(state.message_starts.items()):
            kept = [(proc, el) for proc, el in starts if proc.bpmn_process_id != bpmn_id]
            if len(kept) != len(starts):
                state.message_starts[corr] = kept

    def _drg_created(self, key: int, value: dict[str, Any]) -> None:
        content = base64.b64decode(value["resource"])
        drg = DeployedDrg(
            key,
            value["decisionRequirementsId"],
            value["decisionRequirementsName"],
            value["decisionRequirementsVersion"],
            value["resourceName"],
            self._checksum(value),
            self._model(content, parse_dmn),
            content,
            value["tenantId"],
        )
        self.state.drgs_by_id.setdefault((drg.drg_id, drg.tenant_id), []).append(drg)

    def _decision_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        tenant_id = value["tenantId"]
        drgs = state.drgs_by_id[(value["decisionRequirementsId"], tenant_id)]
        drg = next(d for d in reversed(drgs) if d.key == value["decisionRequirementsKey"])
        decision = DeployedDecision(
            key,
            value["decisionId"],
            value["decisionName"],
            value["version"],
            drg.key,
            drg.drg_id,
            drg.model,
            tenant_id,
        )
        state.decisions_by_id.setdefault((decision.decision_id, tenant_id), []).append(decision)
        state.decisions_by_key[key] = decision

    def _form_created(self, key: int, value: dict[str, Any]) -> None:
        form = DeployedForm(
            key,
            value["formId"],
            value["version"],
            value["resourceName"],
            self._checksum(value),
            base64.b64decode(value["resource"]),
            value["tenantId"],
        )
        self.state.forms_by_id.setdefault((form.form_id, form.tenant_id), []).append(form)

    def _deployment_created(self, key: int, value: dict[str, Any]) -> None:
        """The versions each resource of the deployment resolved to, new or duplicates (bindingType
        ``deployment`` of call activities and linked forms)."""
        state = self.state
        self.scratch.parsed.clear()
        for meta in value["processesMetadata"]:
            process = state.processes_by_key[meta["processDefinitionKey"]]
            state.processes_by_deployment.setdefault(key, {})[process.bpmn_process_id] = process
        for meta in value["formMetadata"]:
            form_key = (meta["formId"], meta["tenantId"])
            form = next(f for f in state.forms_by_id[form_key] if f.key == meta["formKey"])
            state.forms_by_deployment.setdefault(key, {})[form_key] = form
