"""Which version of a called process a call activity starts: ``zeebe:calledElement bindingType``.

Doc "Call activities" § Defining the called process (docs.camunda.io/docs/components/modeler/bpmn/call-activities/):

- ``latest`` (default): the latest deployed version of the process id;
- ``deployment``: the version deployed in the same deployment as the calling process, so that processes
  released together keep calling each other even after a newer version of the callee is deployed;
- ``versionTag``: the latest version whose process carries ``zeebe:versionTag`` with that value.

A process that is missing under the chosen binding is a ``CALLED_ELEMENT_ERROR`` incident (worded as Zeebe's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from procgov_engine.core.state import DeployedProcess
from procgov_engine.model.bpmn import Element


class CalledProcessNotFound(LookupError):
    """No process matches the call activity's binding; the message is the incident's."""


def select_called_process(
    call: Element,
    process_id: str,
    versions: Sequence[DeployedProcess],
    caller: DeployedProcess,
    by_deployment: Mapping[int, Mapping[str, DeployedProcess]],
) -> DeployedProcess:
    """The version of ``process_id`` (all its ``versions``, oldest first) that ``call`` in ``caller`` binds to."""
    if call.called_binding == "deployment":
        called = by_deployment.get(caller.deployment_key, {}).get(process_id)
        if called is None:
            raise CalledProcessNotFound(
                f"Expected to call process with BPMN process id '{process_id}' from the same deployment as the "
                f"calling process, but no such process found in the deployment with key {caller.deployment_key}"
            )
        return called
    if call.called_binding == "versionTag":
        tag = call.called_version_tag or ""
        for candidate in reversed(versions):
            if candidate.model.version_tag == tag:
                return candidate
        raise CalledProcessNotFound(
            f"Expected to call process with BPMN process id '{process_id}' and version tag '{tag}', but no such "
            "process found"
        )
    if not versions:
        raise CalledProcessNotFound(
            f"Expected process with BPMN process id '{process_id}' to be deployed, but not found."
        )
    return versions[-1]
