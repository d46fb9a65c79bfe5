"""Secrets never reach the logs or an error page.

The secrets: the Telegram bot token (it sits in every Bot API URL), Twilio's auth token (and the
Basic credentials made from it), the Telegram webhook secret, and the secret half of the token.
Traffic includes the failures that tend to print them: the Bot API answering 5xx then 401,
Twilio answering 500 and 401, forged webhooks (bad secret, bad signature), malformed bodies.

Two runs: in-process, with every logger at DEBUG captured (what our code and our libraries log,
before any filter); and the real service as a child process at LOG_LEVEL=DEBUG, its whole
output grepped (what an operator's log file holds).
"""

import asyncio
import base64
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot import redact
from bot.settings import Settings
from main import build
from tests.e2e.service import Service
from tests.e2e.telegram_client import SECRET_HEADER, TelegramUser, WebhookDelivery
from tests.e2e.whatsapp_client import PUBLIC, WEBHOOK, WhatsAppUser, post_signed, sign
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioAPI

WEBHOOK_SECRET = "whsec-Never_Logged-4f1c"
SECRETS = {
    "telegram token": TOKEN,
    "telegram token's secret half": TOKEN.split(":", 1)[1],
    "twilio auth token": AUTH_TOKEN,
    "twilio basic credentials": base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
    "telegram webhook secret": WEBHOOK_SECRET,
}


def leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def settings_for(db_path: Path, telegram: TelegramBotAPI, twilio: TwilioAPI) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db_path}",
        telegram_bot_token=TOKEN,
        telegram_api_server=telegram.base_url,
        telegram_mode="webhook",
        telegram_webhook_secret=WEBHOOK_SECRET,
        public_base_url=PUBLIC,
        practitioner_telegram_ids="777",
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=FROM,
        twilio_api_base_url=twilio.base_url,
        practitioner_whatsapp_numbers="+79990000001",
        log_level="DEBUG",
    )


@pytest.fixture
async def both(
    db_path: Path, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    application = build(settings_for(db_path, telegram_api, twilio_api), clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


async def hostile_and_failing_traffic(
    http: httpx.AsyncClient, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI
) -> list[httpx.Response]:
    """Everything that could print a secret; returns every response (error pages included)."""
    responses = []
    telegram_api.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    telegram_api.fail_next("sendMessage", 401, "Unauthorized", times=2)
    twilio_api.fail_next(500, times=2)
    twilio_api.fail_next(401, 20003, times=2)
    update = {
        "update_id": 91,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Анна"},
            "text": "СРОЧНО помогите",
        },
    }
    for headers in ({SECRET_HEADER: WEBHOOK_SECRET}, {SECRET_HEADER: "wrong"}, {}):
        responses.append(await http.post("/webhook/telegram", json=update, headers=headers))
    responses.append(
        await http.post("/webhook/telegram", content=b"{not json", headers={SECRET_HEADER: WEBHOOK_SECRET})
    )
    form = {"MessageSid": "SM" + "7" * 32, "From": "whatsapp:+79990001122", "Body": "срочно, помогите", "NumMedia": "0"}
    responses.append(await post_signed(http, WEBHOOK, form))
    responses.append(await post_signed(http, WEBHOOK, form, signature="forged"))
    responses.append(await post_signed(http, WEBHOOK, form, signature=sign(PUBLIC + WEBHOOK, form, "another-token")))
    json_type = {"content-type": "application/json"}
    responses.append(await http.post("/chat/api/messages", content=b"Infinity", headers=json_type))
    responses.append(await http.get("/nowhere"))
    return responses


async def test_no_secret_in_logs_or_error_pages_in_process(
    both: FastAPI, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # the root, so every logger without a level of its own
    for name in logging.root.manager.loggerDict:  # and those with one (httpx, aiogram, twilio…)
        caplog.set_level(logging.DEBUG, logger=name)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=both), base_url="http://127.0.0.1:8000") as http:
        responses = await hostile_and_failing_traffic(http, telegram_api, twilio_api)
        # The relay works through the failures: 5xx retried, 401 waits for the operator.
        telegram = TelegramUser(both, telegram_api, WebhookDelivery(http, WEBHOOK_SECRET), 4343, "Вера")
        await telegram.ask("Здравствуйте")
        for _ in range(6):
            await both.state.telegram.inbox.process_pending()
            await both.state.relay.drain()
            clock.advance(minutes=5)
        await WhatsAppUser(http, both, twilio_api, "+79990003344", "Оля").say("привет")
    statuses = {r.status_code for r in responses}
    assert {200, 400, 403, 404, 422} <= statuses, statuses
    assert [c.status for c in telegram_api.called("sendMessage")].count(401) == 2
    assert [r.status for r in twilio_api.requests].count(401) == 2
    logged = "\n".join(caplog.text.splitlines()) + "\n".join(
        logging.Formatter().format(record) for record in caplog.records  # with tracebacks
    )
    assert len(caplog.records) > 20, "nothing was logged: the test would prove nothing"
    assert not leaks(logged), leaks(logged)
    pages = "\n".join(f"{r.headers}\n{r.text}" for r in responses)
    assert not leaks(pages), leaks(pages)


@pytest.mark.slow
@pytest.mark.sqlite_only  # the service on its SQLite file: once is enough, whatever the test database
async def test_no_secret_in_the_services_output(
    tmp_path: Path, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI
) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'priem.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_SERVER": telegram_api.base_url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PUBLIC_BASE_URL": PUBLIC,
        "PRACTITIONER_TELEGRAM_IDS": "777",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WHATSAPP_FROM": FROM,
        "TWILIO_API_BASE_URL": twilio_api.base_url,
        "PRACTITIONER_WHATSAPP_NUMBERS": "+79990000001",
        "LOG_LEVEL": "DEBUG",
    }
    service = Service(tmp_path, env)
    try:
        await service.start()
        async with httpx.AsyncClient(base_url=service.base_url) as http:
            responses = await hostile_and_failing_traffic(http, telegram_api, twilio_api)
            # The relay and the inbox run in the background: wait (bounded) until the doubles
            # have seen the failures they were told to give.
            for _ in range(300):
                if len([c for c in telegram_api.called("sendMessage") if c.status == 401]) >= 1 and len(
                    [r for r in twilio_api.requests if r.status == 401]
                ) >= 1:
                    break
                await asyncio.sleep(0.1)
    finally:
        service.stop()
    output = service.output()
    assert "DEBUG" in output and "priem is up" in output, output[-2000:]
    assert any(c.status == 401 for c in telegram_api.called("sendMessage")), "the failures were not reached"
    assert not leaks(output), leaks(output)
    # Nor what clients wrote, nor their numbers, even at DEBUG (bot/redact.py quiets SQL logging).
    for private in ("помогите", "79990001122"):
        assert private not in output, private
    pages = "\n".join(f"{r.headers}\n{r.text}" for r in responses)
    assert not leaks(pages), leaks(pages)


def test_the_redaction_filter_masks_secrets_in_messages_arguments_and_tracebacks() -> None:
    """The net under the rule: whatever a library might print, the handler's output is masked."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=TOKEN, twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN, twilio_whatsapp_from=FROM, telegram_webhook_secret=WEBHOOK_SECRET,
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redact.Redact(redact.secrets_of(settings)))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    half = TOKEN.split(":", 1)[1]
    try:
        logger.error("GET https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.error("Basic %s and %s", SECRETS["twilio basic credentials"], WEBHOOK_SECRET)
        try:
            raise RuntimeError(f"auth {AUTH_TOKEN} refused; half {half}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "RuntimeError" in output and output.count(redact.MASK) >= 5, output
    assert not leaks(output), output


def test_every_secret_setting_is_masked_not_only_the_channel_tokens() -> None:
    """Passwords and payment keys are settings like the tokens: the filter takes every SecretStr."""
    values = {
        "dashboard_password": "dash-password-4711",
        "platform_admin_password": "admin-password-4712",
        "stripe_api_key": "sk_test_4713secret",
        "stripe_webhook_secret": "whsec_4714secret",
        "link_secret": "link-secret-4715",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    masked = redact.Redact(redact.secrets_of(settings)).clean(" ".join(values.values()))
    assert masked == " ".join([redact.MASK] * len(values))
