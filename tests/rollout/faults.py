"""Shared parts of the notification fault tests: an email-only directory, a one-task process, an SMTP
sink that answers slowly (so a kill lands between "message stored" and "250 OK" reached the worker),
and the counts the tests judge by."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import yaml
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc

from procgov_engine.testing.embedded import EmbeddedEngine
from tests.rollout.servers import DATA, MailSink

NOTIFY_ONCE = Path(__file__).parent / "bpmn" / "notify-once.bpmn"
OWNER = {"id": "li.ming", "name": "李明", "title": "营销副总裁 VP Marketing", "department": "营销中心 Marketing"}


class SlowMailSink(MailSink):
    """Stores the message, then waits ``reply_delay_s`` before answering 250: the window in which a
    worker killed mid-send has sent a message without learning (or recording) that it was sent."""

    reply_delay_s: float = 0.05

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler hook
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.reply_delay_s)
        return reply


def email_only_directory(tmp_path: Path) -> tuple[Path, list[str]]:
    """The sample directory without chat channels (mail is the channel under test); its person ids."""
    data = yaml.safe_load((DATA / "org-directory.yaml").read_text(encoding="utf-8"))
    for person in data["people"]:
        person.pop("chat", None)
    target = tmp_path / "org-directory.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target, [p["id"] for p in data["people"] if p.get("email")]


async def start_notifications(zeebe: EmbeddedEngine, people: list[str], count: int) -> list[int]:
    """``count`` instances of the one-task process, one recipient each, over gRPC."""
    keys = []
    async with grpc.aio.insecure_channel(zeebe.address) as channel:
        stub = gateway_pb2_grpc.GatewayStub(channel)
        for n in range(count):
            variables = {"recipients": [people[n % len(people)]], "processName": f"流程 P-{n:03d}",
                         "owner": OWNER}
            response = await stub.CreateProcessInstance(pb.CreateProcessInstanceRequest(
                bpmnProcessId="test-notify-once", version=-1, variables=json.dumps(variables)))
            keys.append(int(response.processInstanceKey))
    return keys


@dataclass(frozen=True)
class Outcome:
    completed: int
    incidents: list[str]
    notifications: dict[str, set[str]]  # X-Procgov-Notification → the Message-IDs it arrived under
    arrivals: int  # messages the server accepted, repeats included
    expected: int

    @property
    def missing(self) -> int:
        return self.expected - len(self.notifications)

    @property
    def duplicates(self) -> int:
        """Notifications that reached a mailbox as more than one message (a new Message-ID each)."""
        return sum(len(ids) - 1 for ids in self.notifications.values())

    @property
    def repeats(self) -> int:
        """Messages re-sent under a Message-ID already delivered (the receiver recognises them)."""
        return self.arrivals - sum(len(ids) for ids in self.notifications.values())


def outcome(zeebe: EmbeddedEngine, sink: MailSink, keys: list[int]) -> Outcome:
    wanted = set(keys)
    records = zeebe.records()
    completed = sum(1 for r in records if r["valueType"] == "PROCESS_INSTANCE" and r["intent"] == "ELEMENT_COMPLETED"
                    and r["value"].get("bpmnElementType") == "PROCESS"
                    and r["value"].get("processInstanceKey") in wanted)
    incidents = [str(r["value"].get("errorMessage")) for r in records
                 if r["valueType"] == "INCIDENT" and r["intent"] == "CREATED"]
    notifications: dict[str, set[str]] = {}
    for message in list(sink.messages):
        notifications.setdefault(str(message["X-Procgov-Notification"]), set()).add(str(message["Message-ID"]))
    return Outcome(completed, incidents, notifications, len(sink.messages), expected=len(keys))


async def wait_until(condition: Callable[[], bool], timeout_s: float, what: str,
                     tick: Callable[[], Any] | None = None) -> None:
    """Poll ``condition`` every 50 ms; ``tick`` (e.g. moving the engine clock) runs every second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    next_tick = loop.time() + 1
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        if tick is not None and loop.time() > next_tick:
            result = tick()
            if asyncio.iscoroutine(result):
                await result
            next_tick = loop.time() + 1
        await asyncio.sleep(0.05)
