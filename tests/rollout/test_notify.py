"""``rollout.notify`` against a real SMTP server and a real webhook endpoint.

Each recipient is notified once per (instance, element instance, recipient, channel), even when the job
is delivered twice; a server outage is a transient failure naming the server; a refusal is permanent.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from aiohttp import web

from tests.rollout.conftest import DATA
from tests.rollout.servers import CHANNEL_PATHS, SmtpServer, WebhookSink, free_port, webhooks_for
from workers.rollout import RolloutDeps, build_router
from workers.rollout.deps import RolloutSettings
from workers.rollout.notify import Notifier, NotifyRequest, SmtpSettings, chat_payload, parse_templates
from workers.rollout.notify.chat import idempotency_key_header
from workers.rollout.notify.mail import message_id
from workers.rollout.notify.notifier import NotificationFailed, WebhookEndpoint
from workers.rollout.notify.templates import TemplateError
from workers.rollout.org_directory import parse_org_directory
from workers.runtime import IdempotencyStore, JobContext, PermanentError, TransientError, open_engine
from workers.runtime.errors import RetryLaterError
from workers.runtime.policy import Fail, RetryPolicy, decide
from workers.runtime.settings import WorkerSettings

AFFECTED = ["chen.jing", "wang.fang", "liu.yang", "anna.schmidt"]
OWNER = {"id": "li.ming", "name": "李明", "title": "营销副总裁 VP Marketing", "department": "营销中心 Marketing"}


@pytest.fixture
def notifier(tmp_path: Path, smtp: SmtpServer, webhooks: WebhookSink) -> Notifier:
    directory = parse_org_directory((DATA / "org-directory.yaml").read_text(encoding="utf-8"))
    templates = parse_templates((DATA / "notifications.yaml").read_text(encoding="utf-8"))
    store = IdempotencyStore(open_engine(f"sqlite:///{tmp_path / 'store.db'}"), wait_s=0.2)
    return Notifier(directory, templates, SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5), store,
                    webhooks=webhooks_for(webhooks))


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


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_a_webhook_client_error_is_permanent_naming_the_status_and_body(
        notifier: Notifier, webhooks: WebhookSink, status: int) -> None:
    webhooks.replies["/slack/pmo"] = [(status, {"ok": False, "error": "invalid_token"})]
    with pytest.raises(NotificationFailed) as raised:
        await notifier.notify(announcement(recipients=["anna.schmidt"]), job("announcement"))
    assert isinstance(raised.value, PermanentError)
    assert re.search(rf"anna\.schmidt via chat:pmo-slack: slack webhook http://127\.0\.0\.1:\d+/slack/pmo refused "
                     rf"the message with HTTP {status} ", raised.value.message)
    assert '"error": "invalid_token"' in raised.value.message  # the body excerpt says why
    assert decide(raised.value, retries=5, policy=RetryPolicy()) == Fail(retries=0, message=raised.value.message)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_a_webhook_timeout_rate_limit_or_server_error_is_transient(
        notifier: Notifier, webhooks: WebhookSink, status: int) -> None:
    webhooks.replies["/slack/pmo"] = [(status, {"ok": False, "error": "later"})]
    with pytest.raises(TransientError, match=rf"slack webhook .*/slack/pmo answered HTTP {status}"):
        await notifier.notify(announcement(recipients=["anna.schmidt"]), job("announcement"))
    command = decide(TransientError("x"), retries=5, policy=RetryPolicy(initial_retries=5))
    assert isinstance(command, Fail) and command.retries == 4 and command.retry_back_off_ms > 0


async def test_an_unreachable_webhook_is_transient(tmp_path: Path, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    closed = free_port()  # nothing listens there: connection refused
    notifier = Notifier(parse_org_directory((DATA / "org-directory.yaml").read_text(encoding="utf-8")),
                        parse_templates((DATA / "notifications.yaml").read_text(encoding="utf-8")),
                        SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5),
                        IdempotencyStore(open_engine(f"sqlite:///{tmp_path / 'store.db'}")),
                        webhooks={"pmo-slack": WebhookEndpoint(f"http://127.0.0.1:{closed}/slack/pmo")})
    with pytest.raises(TransientError, match=rf"slack webhook http://127\.0\.0\.1:{closed}/slack/pmo unreachable"):
        await notifier.notify(announcement(recipients=["anna.schmidt"]), job("announcement"))


async def test_a_recipient_the_mail_server_refuses_with_5xx_is_permanent(
        notifier: Notifier, smtp: SmtpServer) -> None:
    smtp.sink.refused["anna.schmidt@example.com"] = "550 5.1.1 <anna.schmidt@example.com>: no such user"
    with pytest.raises(NotificationFailed) as raised:
        await notifier.notify(announcement(recipients=["anna.schmidt"]), job("announcement"))
    message = raised.value.message
    assert f"SMTP server 127.0.0.1:{smtp.sink.port}: anna.schmidt@example.com refused with 550" in message
    assert "no such user" in message and "permanent" in message
    smtp.sink.refused["anna.schmidt@example.com"] = "450 4.2.1 mailbox busy, try later"
    with pytest.raises(TransientError, match=r"anna\.schmidt@example\.com refused with 450"):
        await notifier.notify(announcement(recipients=["anna.schmidt"]), job("announcement", 21))


ANNA = {"recipients": ["anna.schmidt"], "processName": "P", "owner": OWNER}


def _directory(tmp_path: Path, pmo_url: str | None) -> Path:
    """The sample directory, with a ``url`` for the pmo-slack channel (as an old directory might have)."""
    data = yaml.safe_load((DATA / "org-directory.yaml").read_text(encoding="utf-8"))
    if pmo_url:
        data["channels"]["pmo-slack"]["url"] = pmo_url
    target = tmp_path / "org-directory.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def _rollout_deps(tmp_path: Path, smtp: SmtpServer, directory: Path) -> RolloutDeps:
    """RolloutDeps as a deployment builds them: WorkerSettings read from the environment."""
    settings = WorkerSettings(_env_file=None, store_url=f"sqlite:///{tmp_path / 'store.db'}",  # type: ignore[call-arg]
                              smtp={"host": "127.0.0.1", "port": smtp.sink.port, "timeout_s": 5})
    return RolloutDeps.from_settings(settings, RolloutSettings(org_directory=directory))


async def test_webhook_settings_win_over_a_url_in_the_directory(
        tmp_path: Path, smtp: SmtpServer, webhooks: WebhookSink, monkeypatch: pytest.MonkeyPatch) -> None:
    """PROCGOV_WEBHOOKS__PMO_SLACK__URL (env spelling: upper case, ``_``) configures channel ``pmo-slack``."""
    monkeypatch.setenv("PROCGOV_WEBHOOKS__PMO_SLACK__URL", f"{webhooks.base_url}/from-settings/pmo")
    deps = _rollout_deps(tmp_path, smtp, _directory(tmp_path, f"{webhooks.base_url}/from-directory/pmo"))
    await build_router(deps).handle("rollout.notify", ANNA,
                                    job("announcement"))
    assert len(webhooks.to("/from-settings/pmo")) == 1 and webhooks.to("/from-directory/pmo") == []


async def test_a_url_in_the_directory_is_the_fallback_and_no_url_at_all_names_the_setting(
        tmp_path: Path, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    deps = _rollout_deps(tmp_path, smtp, _directory(tmp_path, f"{webhooks.base_url}/from-directory/pmo"))
    await build_router(deps).handle("rollout.notify", ANNA,
                                    job("announcement"))
    assert len(webhooks.to("/from-directory/pmo")) == 1
    deps = _rollout_deps(tmp_path, smtp, DATA / "org-directory.yaml")  # the sample: channels by key only
    with pytest.raises(NotificationFailed, match="chat channel 'pmo-slack' has no webhook URL: set "
                                                 "PROCGOV_WEBHOOKS__PMO_SLACK__URL"):
        await build_router(deps).handle("rollout.notify", ANNA,
                                        job("announcement", 22))


async def test_a_webhook_secret_signs_the_message_as_the_platform_checks_it(
        tmp_path: Path, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    secret = "SEC0123456789abcdef"
    notifier = Notifier(parse_org_directory((DATA / "org-directory.yaml").read_text(encoding="utf-8")),
                        parse_templates((DATA / "notifications.yaml").read_text(encoding="utf-8")),
                        SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5),
                        IdempotencyStore(open_engine(f"sqlite:///{tmp_path / 'store.db'}")),
                        webhooks=webhooks_for(webhooks, {name: secret for name in CHANNEL_PATHS}))
    await notifier.notify(announcement(), job("announcement"))
    # DingTalk: timestamp (ms) and sign = base64(HMAC-SHA256(secret, "<timestamp>\n<secret>")) in the query
    [dingtalk, _] = [p for p in webhooks.posts if p.path == "/dingtalk/sales"]
    stamp = dingtalk.query["timestamp"]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest())
    assert dingtalk.query["sign"] == expected.decode()
    # Feishu: timestamp (s) and sign = base64(HMAC-SHA256 keyed "<timestamp>\n<secret>" of nothing) in the body
    [feishu] = webhooks.to("/feishu/warehouse")
    key = f"{feishu['timestamp']}\n{secret}".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    # Slack-compatible: an HMAC of the exact body in a header
    [slack] = [p for p in webhooks.posts if p.path == "/slack/pmo"]
    body = json.dumps(slack.body, ensure_ascii=False, separators=(",", ":")).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert slack.headers["X-Procgov-Signature"] == f"sha256={signature}"


def activation(at_s: float, element_instance_key: int = 20) -> JobContext:
    """``job()`` as activated at ``at_s`` on the engine's clock, with rollout.notify's 60 s timeout."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(seconds=at_s)
    return dataclasses.replace(job("announcement", element_instance_key), deadline=start + timedelta(seconds=60),
                               activated_at=start)


def _killed_mid_delivery(store_path: Path, *keys: str) -> None:
    """What a worker SIGKILLed mid-send leaves behind: its claims, still ``running``, of activation 0 s."""
    engine = open_engine(f"sqlite:///{store_path}")
    with engine.begin() as conn:
        for key in keys:
            conn.execute(sa.text("INSERT INTO idempotency_keys (key, status, claimed_at, job_key, job_deadline_ms) "
                                 "VALUES (:k, 'running', 0, 1, :d)"),
                         {"k": key, "d": int(activation(0).deadline.timestamp() * 1000)})  # type: ignore[union-attr]


async def test_the_message_id_and_idempotency_key_are_the_same_on_every_attempt(
        notifier: Notifier, smtp: SmtpServer, webhooks: WebhookSink) -> None:
    await notifier.notify(announcement(recipients=["anna.schmidt"]), job("announcement"))
    [mail] = smtp.sink.messages
    key = "rollout.notify:10:20:anna.schmidt"
    assert mail["Message-ID"] == message_id(f"{key}:email", "example.com")
    assert mail["Message-ID"].startswith("<procgov.") and mail["X-Procgov-Notification"] == f"{key}:email"
    [post] = webhooks.posts
    assert post.headers["Idempotency-Key"] == idempotency_key_header(f"{key}:chat:pmo-slack")


async def test_after_a_crash_mail_is_repeated_under_its_message_id_and_chat_is_reported_uncertain(
        notifier: Notifier, smtp: SmtpServer, webhooks: WebhookSink, tmp_path: Path) -> None:
    """The killed activation's deadline (60 s) has passed when the job comes back (61 s): its claims are
    taken over at once, no retry spent waiting. Mail can tell a repeat by its Message-ID, so it is sent
    again under the same one; the Slack webhook cannot, so the incident says the outcome is uncertain."""
    key = "rollout.notify:10:20:anna.schmidt"
    _killed_mid_delivery(tmp_path / "store.db", f"{key}:email", f"{key}:chat:pmo-slack")
    with pytest.raises(RetryLaterError) as waiting:  # the killed activation still holds the job: wait
        await notifier.notify(announcement(recipients=["anna.schmidt"]), activation(30))
    assert "anna.schmidt via email: side effect" in waiting.value.message
    assert decide(waiting.value, retries=5, policy=RetryPolicy()) == Fail(  # no retry spent, back 30 s later
        retries=5, message=waiting.value.message, retry_back_off_ms=30_000)
    with pytest.raises(NotificationFailed) as raised:
        await notifier.notify(announcement(recipients=["anna.schmidt"]), activation(61))
    assert "anna.schmidt via chat:pmo-slack: outcome uncertain" in raised.value.message
    assert webhooks.posts == []  # never silently repeated
    [mail] = smtp.sink.messages
    assert mail["Message-ID"] == message_id(f"{key}:email", "example.com")
    assert decide(raised.value, retries=5, policy=RetryPolicy()) == Fail(retries=0, message=raised.value.message)


@pytest.mark.parametrize("deduplicates", [False, True])
async def test_a_webhook_that_takes_the_message_but_never_answers_is_not_silently_repeated(
        tmp_path: Path, smtp: SmtpServer, deduplicates: bool) -> None:
    """The POST arrives, the answer does not (timeout): the message may be out. A receiver that drops
    repeats by Idempotency-Key gets it again on the retry (same key); a public platform does not, so
    the incident says the outcome is uncertain and the retry of that incident sends nothing."""
    arrived: list[str] = []

    async def swallow(request: web.Request) -> web.Response:
        arrived.append(request.headers["Idempotency-Key"])
        await asyncio.sleep(1.0 if len(arrived) == 1 else 0)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slack/pmo", swallow)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        notifier = Notifier(parse_org_directory((DATA / "org-directory.yaml").read_text(encoding="utf-8")),
                            parse_templates((DATA / "notifications.yaml").read_text(encoding="utf-8")),
                            SmtpSettings(host="127.0.0.1", port=smtp.sink.port, timeout_s=5),
                            IdempotencyStore(open_engine(f"sqlite:///{tmp_path / 'store.db'}")),
                            webhooks={"pmo-slack": WebhookEndpoint(f"http://127.0.0.1:{port}/slack/pmo",
                                                                   deduplicates=deduplicates)},
                            http_timeout_s=0.3)
        request = announcement(recipients=["anna.schmidt"])
        if deduplicates:
            with pytest.raises(TransientError, match=r"slack webhook .* did not answer"):
                await notifier.notify(request, job("announcement"))
            await notifier.notify(request, job("announcement"))
            assert len(arrived) == 2 and arrived[0] == arrived[1]  # one key: the receiver drops the repeat
        else:
            with pytest.raises(NotificationFailed, match=r"chat:pmo-slack: outcome uncertain: .* got no answer"):
                await notifier.notify(request, job("announcement"))
            with pytest.raises(NotificationFailed, match="outcome uncertain"):  # the incident retried: still not
                await notifier.notify(request, job("announcement"))
            assert len(arrived) == 1
    finally:
        await runner.cleanup()
