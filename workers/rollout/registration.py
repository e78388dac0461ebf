"""The rollout in the process registry (流程清单, ``workers.runtime.stores.registry``).

Step 1 registers the rollout once the owner is appointed (``rollout.register-rollout``): one rollout per
process at a time, and the owner must be the registered one (000A step 1; an owner changes only by
``procgov processes reappoint``). A refusal is an incident whose message names the running rollout or the
registered owner: the operator resolves it (waits for the other rollout to end, or re-appoints) and
retries the job. Step 9 ends the rollout with the process in force (``rollout.end-rollout``). Both are
idempotent: the registry confirms a repeat of the same instance's update. (The intermediate lifecycle
states pilot / issued are not set yet: an instance started at a later step has no registered rollout.)
"""

from __future__ import annotations

from pydantic import Field

from workers.rollout._data import CamelModel
from workers.rollout.owner import OwnerRef
from workers.runtime.errors import PermanentError
from workers.runtime.stores.registry import ProcessRegistry, RegistryConflict


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

