"""MESSAGE, PROCESS_MESSAGE_SUBSCRIPTION and MESSAGE_START_EVENT_SUBSCRIPTION: buffered messages, message
subscriptions and message start events; a correlation is the command's trigger or the next instance's start."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state import Message, MessageSubscription
from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class MessageAppliers(Appliers):
    KEY_ONLY = frozenset(
        {
            ("PROCESS_MESSAGE_SUBSCRIPTION", "DELETED"),
        }
    )

    def appliers(self) -> AppliersTable:
        return {
            ("MESSAGE", "PUBLISHED"): self._message_published,
            ("MESSAGE", "EXPIRED"): self._message_expired,
            ("PROCESS_MESSAGE_SUBSCRIPTION", "CREATED"): self._subscription_created,
            ("PROCESS_MESSAGE_SUBSCRIPTION", "CORRELATED"): self._subscription_correlated,
            ("PROCESS_MESSAGE_SUBSCRIPTION", "DELETED"): self._subscription_deleted,
            ("MESSAGE_START_EVENT_SUBSCRIPTION", "CREATED"): self._message_start_created,
            ("MESSAGE_START_EVENT_SUBSCRIPTION", "CORRELATED"): self._message_start_correlated,
        }

    # -- MESSAGE ---------------------------------------------------------------------------------
    def _message_published(self, key: int, value: dict[str, Any]) -> None:
        message = Message(
            key,
            value["name"],
            value["correlationKey"],
            value["variables"],
            value["deadline"],
            value["timeToLive"],
            value["messageId"],
            value["tenantId"],
        )
        self.scratch.published = message
        if message.time_to_live <= 0:
            return
        state = self.state
        state.messages[key] = message
        state.messages_by_corr.setdefault((message.name, message.correlation_key, message.tenant_id), {})[key] = message
        self.add_due(message.deadline, "message_expire", key)

    def message(self, key: int) -> Message | None:
        """The message ``key``: buffered, or the one just published without a time to live."""
        message = self.state.messages.get(key)
        if message is None and self.scratch.published is not None and self.scratch.published.key == key:
            return self.scratch.published
        return message

    def _message_expired(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        message = state.messages.pop(key, None)
        if message is None:
            return
        _unindex(state.messages_by_corr, (message.name, message.correlation_key, message.tenant_id), key)

    # -- message subscriptions: both records of a change are written, the PROCESS_MESSAGE_SUBSCRIPTION
    # one is applied ----------------------------------------------------------------------------
    def _subscription_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        owner = state.instances[value["elementInstanceKey"]]
        sub = MessageSubscription(
            key,
            value["messageName"],
            value["correlationKey"],
            owner,
            self._element(owner.process, value["elementId"]),
            value["interrupting"],
            value["tenantId"],
        )
        state.subscriptions[key] = sub
        state.subs_by_corr.setdefault((sub.name, sub.correlation_key, sub.tenant_id), {})[key] = sub
        owner.subscription_keys.append(key)

    def _subscription_correlated(self, key: int, value: dict[str, Any]) -> None:
        self.scratch.trigger = (value["elementId"], value["variables"])
        message = self.message(value["messageKey"])
        if message is not None:
            message.correlated_processes.add(value["bpmnProcessId"])

    def _subscription_deleted(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        sub = state.subscriptions.pop(key, None)
        if sub is None:
            return
        _unindex(state.subs_by_corr, (sub.name, sub.correlation_key, sub.tenant_id), key)
        if key in sub.owner.subscription_keys:
            sub.owner.subscription_keys.remove(key)

    def _message_start_created(self, key: int, value: dict[str, Any]) -> None:
        state = self.state
        process = state.processes_by_key[value["processDefinitionKey"]]
        start = self._element(process, value["startEventId"])
        state.message_starts.setdefault((value["messageName"], process.tenant_id), []).append((process, start))

    def _message_start_correlated(self, key: int, value: dict[str, Any]) -> None:
        message = self.message(value["messageKey"])
        bpmn_id = value["bpmnProcessId"]
        if message is not None:
            message.correlated_processes.add(bpmn_id)
        self.scratch.starting = (bpmn_id, value["correlationKey"])
        self.scratch.start = (value["startEventId"], "", value["variables"])


def _unindex(index: dict[tuple[str, str, str], dict[int, Any]], corr: tuple[str, str, str], key: int) -> None:
    """Drop ``key`` from its correlation bucket, and the bucket once empty (so the index stays small)."""
    bucket = index.get(corr)
    if bucket is not None:
        bucket.pop(key, None)
        if not bucket:
            del index[corr]
