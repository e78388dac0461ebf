"""MESSAGE PUBLISH and the time-driven MESSAGE EXPIRE (docs.camunda.io/docs/components/concepts/messages/):
a message correlates at once and stays buffered for its time to live."""

from __future__ import annotations

from typing import Any

from procgov_engine.api import RejectionType
from procgov_engine.core.processing.base import CommandProcessor


class PublishMessage(CommandProcessor):
    kind = "publish"
    value_type = "MESSAGE"
    intent = "PUBLISH"

    def process(self, args: dict[str, Any]) -> int:
        name, correlation_key, ttl = args["name"], args["correlation_key"], args["ttl"]
        message_id, variables, tenant_id = args["message_id"], args["variables"], args["tenant_id"]
        w, state = self.w, self.state
        value = {
            "name": name,
            "correlationKey": correlation_key,
            "timeToLive": ttl,
            "messageId": message_id,
            "variables": dict(variables),
            "deadline": w.now + ttl,
            "tenantId": tenant_id,
        }
        w.command("MESSAGE", "PUBLISH", -1, value)
        bucket = state.messages_by_corr.get((name, correlation_key, tenant_id), {})
        if message_id and any(m.message_id == message_id and m.deadline > w.now for m in bucket.values()):
            self.ctx.reject_command(
                "MESSAGE",
                "PUBLISH",
                value,
                RejectionType.ALREADY_EXISTS,
                f"Expected to publish a new message with id '{message_id}', but a message with that id was "
                "already published",
            )
        key = w.next_key()
        w.event("MESSAGE", "PUBLISHED", key, value)  # its applier buffers a message with a time to live
        message = self.ctx.appliers.message(key)
        assert message is not None
        self.b.events.correlate_message(message)
        if ttl <= 0:
            w.event("MESSAGE", "EXPIRED", key, value)
        return key


class ExpireMessage(CommandProcessor):
    kind = "message_expire"
    value_type = "MESSAGE"
    intent = "EXPIRE"

    def process(self, args: dict[str, Any]) -> None:
        message_key = args["key"]
        state = self.state
        message = state.messages[message_key]
        value = self.b.events.message_value(message)
        self.w.command("MESSAGE", "EXPIRE", message_key, value)
        self.w.event("MESSAGE", "EXPIRED", message_key, self.b.events.message_value(message))
