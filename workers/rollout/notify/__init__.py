"""Notifications of the rollout: e-mail over SMTP and chat incoming webhooks, from bilingual templates."""

from workers.rollout.notify.chat import chat_payload
from workers.rollout.notify.notifier import Notifier, NotifyRequest, NotifyResult, SmtpSettings
from workers.rollout.notify.templates import Message, Templates, parse_templates

__all__ = ["Message", "Notifier", "NotifyRequest", "NotifyResult", "SmtpSettings", "Templates", "chat_payload",
           "parse_templates"]
