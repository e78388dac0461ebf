"""``rollout.notify`` against a real SMTP server and a real webhook endpoint.

Each recipient is notified once per (instance, element instance, recipient, channel), even when the job
is delivered twice; a server outage is a transient failure naming the server; a refusal is permanent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.rollout.conftest import DATA
from tests.rollout.servers import SmtpServer, WebhookSink, directory_for
from workers.rollout.notify import Notifier, NotifyRequest, SmtpSettings, chat_payload, parse_templates
from workers.rollout.notify.notifier import NotificationFailed
from workers.rollout.notify.templates import TemplateError
from workers.rollout.org_directory import parse_org_directory
from workers.runtime import IdempotencyStore, JobContext, TransientError, open_engine

AFFECTED = ["chen.jing", "wang.fang", "liu.yang", "anna.schmidt"]
OWNER = {"id": "li.ming", "name": "李明", "title": "营销副总裁 VP Marketing", "department": "营销中心 Marketing"}


@pytest.fixture
def notifier(tmp_path: Path, smtp: SmtpServer, webhooks: WebhookSink) -> Notifier:
    directory = parse_org_directory(directory_for(webhooks, tmp_path / "org.yaml").read_text(encoding="utf-8"))
    templates = parse_templates((DATA / "notifications.yaml").read_text(encoding="utf-8"))
    store = IdempotencyStore(open_engine(f"sqlite:///{tmp_path / 'store.db'}"))
    return Notifier(directory, templates, SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5), store)


def job(template: str, element_instance_key: int = 20) -> JobContext:
    return JobContext(key=1, type="rollout.notify", process_instance_key=10, bpmn_process_id="procgov-rollout",
                      process_definition_key=1, element_id="Step3_Announce",
                      element_instance_key=element_instance_key, retries=3, custom_headers={"template": template})


def announcement(**changes: Any) -> NotifyRequest:
    values: dict[str, Any] = {"recipients": AFFECTED, "processName": "订单履约流程 Order fulfilment", "owner": OWNER}
    values.update(changes)
    return NotifyRequest.model_validate(values)


async def test_every_affected_employee_gets_mail_and_chat_in_their_language(
        notifier: Notifier, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    result = await notifier.notify(announcement(), job("announcement"))
    mails = smtp.sink.messages
    assert sorted(str(m["To"]) for m in mails) == sorted([
        "陈静 <chen.jing@example.com>", "王芳 <wang.fang@example.com>", "刘洋 <liu.yang@example.com>",
        "Anna Schmidt <anna.schmidt@example.com>"])
    chinese = smtp.sink.to("wang.fang@example.com")[0]
    assert chinese["Subject"] == "【流程推行】「订单履约流程 Order fulfilment」新流程推行通知"
    assert "势在必行" in chinese.get_content() and "李明" in chinese.get_content()
    english = smtp.sink.to("anna.schmidt@example.com")[0]
    assert "closed-book exam" in english.get_content() and english["X-Procgov-Notification"].endswith(
        "anna.schmidt:email")
    # one chat message per recipient, each in its platform's format
    assert webhooks.to("/dingtalk/sales")[0]["msgtype"] == "markdown"  # chen.jing and wang.fang
    assert len(webhooks.to("/dingtalk/sales")) == 2
    feishu = webhooks.to("/feishu/warehouse")
    assert feishu[0]["msg_type"] == "text" and feishu[0]["content"]["text"].startswith("【流程推行】")
    assert "@刘洋" in feishu[0]["content"]["text"]
    assert webhooks.to("/slack/pmo")[0]["text"].startswith("*[Rollout] The new process")
    assert {d.status for d in result.notification_receipt.deliveries} == {"sent"}
    assert len(result.notification_receipt.deliveries) == 8


async def test_the_owner_hears_of_the_appointment_on_wecom(notifier: Notifier, webhooks: WebhookSink) -> None:
    await notifier.notify(announcement(recipients=["li.ming"]), job("owner-appointed"))
    [wecom] = webhooks.to("/wecom/order-rollout")
    assert wecom == chat_payload("wecom", "【流程落地】您已被任命为「订单履约流程 Order fulfilment」的流程owner",
                                 wecom["markdown"]["content"].split("\n", 1)[1])
    assert "负责流程的推行、推动流程的培训、带领流程的优化改善" in wecom["markdown"]["content"]


async def test_a_job_delivered_twice_notifies_nobody_twice(
        notifier: Notifier, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    await notifier.notify(announcement(), job("announcement"))
    again = await notifier.notify(announcement(), job("announcement"))
    assert len(smtp.sink.messages) == 4 and len(webhooks.posts) == 4
    assert {d.status for d in again.notification_receipt.deliveries} == {"already-sent"}
    # the same element entered again (a retake invitation in a loop) is a new message
    await notifier.notify(announcement(recipients=["wang.fang"]), job("announcement", element_instance_key=21))
    assert len(smtp.sink.to("wang.fang@example.com")) == 2


async def test_a_mail_server_outage_is_transient_and_the_retry_sends_only_what_is_missing(
        notifier: Notifier, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    smtp.stop()
    with pytest.raises(TransientError) as raised:
        await notifier.notify(announcement(), job("announcement"))
    assert f"SMTP server 127.0.0.1:{smtp.sink.port} unreachable" in raised.value.message
    assert "wang.fang via email" in raised.value.message
    assert len(webhooks.posts) == 4  # chat went out regardless
    smtp.start()
    result = await notifier.notify(announcement(), job("announcement"))
    assert len(smtp.sink.messages) == 4 and len(webhooks.posts) == 4
    statuses = {(d.channel.split(":")[0], d.status) for d in result.notification_receipt.deliveries}
    assert statuses == {("email", "sent"), ("chat", "already-sent")}


async def test_a_webhook_503_is_transient_and_a_platform_refusal_is_not(
        notifier: Notifier, webhooks: WebhookSink) -> None:
    webhooks.replies["/feishu/warehouse"] = [(503, {"msg": "busy"})]
    outage = r"feishu webhook http://127\.0\.0\.1:\d+/feishu/warehouse answered HTTP 503"
    with pytest.raises(TransientError, match=outage):
        await notifier.notify(announcement(recipients=["liu.yang"]), job("announcement"))
    await notifier.notify(announcement(recipients=["liu.yang"]), job("announcement"))  # the retry succeeds
    assert len(webhooks.to("/feishu/warehouse")) == 1
    webhooks.replies["/dingtalk/sales"] = [(200, {"errcode": 310000, "errmsg": "keywords not in content"})]
    with pytest.raises(NotificationFailed, match=r"dingtalk webhook .* refused the message: errcode 310000"):
        await notifier.notify(announcement(recipients=["chen.jing"]), job("announcement", 30))


async def test_bad_requests_fail_with_a_message_an_operator_can_act_on(notifier: Notifier) -> None:
    with pytest.raises(NotificationFailed, match="recipients not in the organisation directory: ghost"):
        await notifier.notify(announcement(recipients=["ghost"]), job("announcement"))
    with pytest.raises(NotificationFailed, match="header 'template' is 'nope'; known templates: announcement"):
        await notifier.notify(announcement(), job("nope"))
    with pytest.raises(TemplateError, match="template 'announcement' \\(zh\\): 'owner' is undefined"):
        await notifier.notify(announcement(owner=None), job("announcement"))


def test_every_template_exists_in_both_languages() -> None:
    templates = parse_templates((DATA / "notifications.yaml").read_text(encoding="utf-8"))
    assert templates.names == {"owner-appointed", "announcement", "exam-retake", "exam-escalation", "issuance",
                               "go-live", "cutover-postponed", "rollout-closed"}
    message = templates.render("exam-retake", "en", {"processName": "P", "recipient": {"name": "Anna"}, "data": {
        "attempt": 1, "score": 60, "maxScore": 100, "passMarkPercent": 80, "attemptsAllowed": 3}})
    assert "attempt 2 of 3" in message.body
