"""The rollout in the process registry (流程清单, ``workers.runtime.stores.registry``).

Step 1 registers the rollout once the owner is appointed (``rollout.register-rollout``): one rollout per
process at a time, and the owner must be the registered one (000A step 1; an owner changes only by
``procgov processes reappoint``). A refusal is an incident whose message names the running rollout or the
registered owner: the operator resolves it (waits for the other rollout to end, or re-appoints) and
retries the job. The lifecycle state follows the steps (``rollout.registry-state``, task header ``state``:
pilot once the pilot is planned, issued once the process is issued) and step 9 ends the rollout with the
process in force (``rollout.end-rollout``). All are idempotent: a repeat of the same instance's update
changes nothing. An instance that is not the process's registered rollout (started at a later step, which
only a process-instance modification does) changes no state: ``registryState.applied`` is false, with why.
"""

from __future__ import annotations

from pydantic import Field

from workers.rollout._data import CamelModel
from workers.rollout.owner import OwnerRef
from workers.runtime.errors import PermanentError
from workers.runtime.stores.registry import STATES, ProcessRegistry, RegistryConflict


class RolloutRegistration(CamelModel):
    process_id: str = Field(min_length=1)
    process_name: str = ""
    process_version: str = Field(min_length=1)
    owner: OwnerRef


class RegisteredRollout(CamelModel):
    """Output ``registryEntry``: the registry's view of the process once the rollout is registered."""

    process_id: str
    current_version: str
    owner: str | None
    state: str
    rollout_instance: str | None


class RegistryEntryResult(CamelModel):
    registry_entry: RegisteredRollout


class RolloutRef(CamelModel):
    process_id: str = Field(min_length=1)


class RolloutRefused(PermanentError):
    """The registry refused the rollout (another one running, another owner registered): an incident
    with the registry's message, to resolve by hand and retry."""


def register_rollout(registry: ProcessRegistry, request: RolloutRegistration, *, instance: str) -> RegistryEntryResult:
    try:
        entry = registry.begin_rollout(request.process_id, instance=instance, name=request.process_name or
                                       request.process_id, version=request.process_version, owner=request.owner.id)
    except RegistryConflict as conflict:
        raise RolloutRefused(str(conflict)) from conflict
    return RegistryEntryResult(registry_entry=RegisteredRollout(
        process_id=entry.process_id, current_version=entry.current_version, owner=entry.owner, state=entry.state,
        rollout_instance=entry.rollout_instance))



class RegistryState(CamelModel):
    """Output ``registryState``: the lifecycle state this step set, or why it set none."""

    state: str
    applied: bool
    reason: str | None = None


class RegistryStateResult(CamelModel):
    registry_state: RegistryState


def set_lifecycle_state(registry: ProcessRegistry, request: RolloutRef, state: str, *,
                        instance: str) -> RegistryStateResult:
    if state not in STATES:
        raise PermanentError(f"task header 'state' must be one of {', '.join(STATES)}, got {state!r}")
    try:
        registry.set_state(request.process_id, state, instance=instance)
    except RegistryConflict as conflict:  # not this process's registered rollout: nothing to move
        return RegistryStateResult(registry_state=RegistryState(state=state, applied=False, reason=str(conflict)))
    return RegistryStateResult(registry_state=RegistryState(state=state, applied=True))
