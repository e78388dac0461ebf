"""The organisation directory: who exists, their rank, and how to reach them.

It is rule data the deployment configures (``data/rollout/org-directory.yaml`` by default, see
:class:`workers.rollout.deps.RolloutSettings`), never code: the owner check of 000A step 1 reads the
rank from it, and notifications read e-mail addresses and chat channels from it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, field_validator, model_validator

from workers.rollout._data import StrictCamelModel, load_yaml, validate_model
from workers.runtime.errors import RuleDataError

Rank = Literal["senior-executive", "manager", "employee"]
ChatKind = Literal["wecom", "dingtalk", "feishu", "slack"]
Language = Literal["zh", "en"]


class ChatChannel(StrictCamelModel):
    """An incoming-webhook chat channel (WeCom / DingTalk / Feishu group robot, or Slack-compatible).

    The webhook URL carries the robot's key, a secret: leave ``url`` out here and configure it as
    ``PROCGOV_WEBHOOKS__<CHANNEL>__URL`` (the runtime's webhook settings) instead.
    """

    kind: ChatKind
    url: HttpUrl | None = None


class Person(StrictCamelModel):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    rank: Rank
    department: str = Field(min_length=1)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    chat: str | None = None  # a channel name from ``channels``
    language: Language = "zh"

    @property
    def is_senior_executive(self) -> bool:
        return self.rank == "senior-executive"


class OrgDirectory(StrictCamelModel):
    organisation: str = Field(min_length=1)
    channels: dict[str, ChatChannel] = Field(default_factory=dict)
    people: list[Person] = Field(min_length=1)

    @field_validator("people")
    @classmethod
    def _unique_ids(cls, people: list[Person]) -> list[Person]:
        seen: set[str] = set()
        for person in people:
            if person.id in seen:
                raise ValueError(f"person id {person.id!r} appears twice")
            seen.add(person.id)
        return people

    @model_validator(mode="after")
    def _channels_exist(self) -> OrgDirectory:
        for person in self.people:
            if person.chat is not None and person.chat not in self.channels:
                raise ValueError(f"person {person.id!r}: chat channel {person.chat!r} is not in 'channels'")
        return self

    def find(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    def get(self, person_id: str) -> Person:
        person = self.find(person_id)
        if person is None:
            raise KeyError(f"person {person_id!r} is not in the organisation directory")
        return person


def parse_org_directory(text: str) -> OrgDirectory:
    """Parse the directory YAML; raises :class:`RuleDataError` naming the person and field."""
    document = load_yaml(text, "organisation directory")
    if not isinstance(document, dict):
        raise RuleDataError("organisation directory must be a YAML mapping with 'organisation' and 'people'")
    return validate_model(OrgDirectory, document, "organisation directory")
