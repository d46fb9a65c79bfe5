"""Another practitioner's bot works like #1's (issue 12): Telegram Business in her own account and
payments with her own keys. #1 is the env-configured practitioner; "bella" is added with
`main.py practitioner add` and has her own bot, accounts, provider token and Stripe account.

Everything goes through the webhooks, the real aiogram Dispatcher, the outbox relay and the Bot
API, Twilio and Stripe doubles; each call is checked for the bot token or key it was made with.
"""

import io
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from bot import redact
from bot.payments import practitioner_payments
from bot.payments.context import PaymentContext
from bot.platform.cli import run as cli
from bot.settings import Settings
from flows.payments import Mode
from main import build
from storage.models import BusinessChat as ChatRow
from storage.models import BusinessConnection, Identity, Message, OutboxItem, Payment, Request
from tests.e2e.business_client import CONNECTION, BusinessChat, connection_update
from tests.e2e.telegram_client import WebhookDelivery
from tests.e2e.test_payments_stripe import book_one_question, completed
from tests.e2e.test_payments_telegram import pre_checkout, successful_payment
from tests.e2e.test_telegram import PRACTITIONER_CHAT, book_planned_reading, telegram_settings
from tests.e2e.test_telegram_business import book
from tests.e2e.whatsapp_client import PUBLIC, WhatsAppUser
from tests.factories import FakeClock
from tests.fakes.stripe_api import API_KEY, WEBHOOK_SECRET, StripeAPI
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioAPI
from tests.platform.test_two_practitioners import B_OWN_CHAT, B_SECRET, B_TOKEN, Writer, add, bella

B_CONNECTION = "BIZ-bella-1"  # her account's connection to her bot
A_PAY_TOKEN = "381764678:TEST:a-provider-token"
B_PAY_TOKEN = "381764678:TEST:bella-provider-token"
B_STRIPE_KEY = "sk_test_bella_own_account"
B_STRIPE_SECRET = "whsec_bella_own_signing_secret"
B_FROM = "whatsapp:+14155550002"  # her WhatsApp sender on the platform's Twilio account
LINK = re.compile(r"https://t\.me/priem_test_bot\?start=(b\d+-[0-9A-Z]{8})")

Start = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def stripe_api() -> AsyncIterator[StripeAPI]:
    api = StripeAPI()
    api.keys.add(B_STRIPE_KEY)
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def start(
    db_path: Path, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI, stripe_api: StripeAPI, clock: FakeClock
) -> AsyncIterator[Start]:
    """Both practitioners on Telegram (webhooks) and WhatsApp; `payments` gives each her own keys."""
    running: list[Any] = []

    async def make(*, payments: bool) -> FastAPI:
        telegram_api.tokens.add(B_TOKEN)
        changes: dict[str, Any] = {
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": SecretStr(AUTH_TOKEN),
            "twilio_whatsapp_from": FROM,
            "twilio_api_base_url": twilio_api.base_url,
            "practitioner_whatsapp_numbers": ["+79990000001"],
        }
        argv = ["--slug", "bella", "--telegram-token", B_TOKEN, "--telegram-secret", B_SECRET]
        argv += ["--telegram-id", str(B_OWN_CHAT), "--whatsapp-from", B_FROM, "--password", "bella-pass"]
        if payments:
            changes |= {
                "telegram_payment_provider_token": SecretStr(A_PAY_TOKEN),
                "stripe_api_key": SecretStr(API_KEY),
                "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
                "stripe_api_base": stripe_api.base_url,
            }
            argv += ["--telegram-payment-token", B_PAY_TOKEN]
            argv += ["--stripe-api-key", B_STRIPE_KEY, "--stripe-webhook-secret", B_STRIPE_SECRET]
        settings = telegram_settings(db_path, telegram_api, "webhook").model_copy(update=changes)
        assert settings.telegram_business  # the deployment's switch, on by default, for everyone
        await add(settings, *argv)
        application = build(settings, clock=clock, run_background=False)
        context = application.router.lifespan_context(application)
        await context.__aenter__()
        running.append(context)
        return application

    yield make
    for context in running:
        await context.__aexit__(None, None, None)


@pytest.fixture
async def http_of() -> AsyncIterator[Callable[[FastAPI], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(app: FastAPI) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


class HerChat(BusinessChat):
    """A client's chat in bella's own Telegram account: updates reach her bot's webhook, and only
    her bot's messages count as replies (each checked to carry her connection's id)."""

    def __init__(self, app: FastAPI, api: TelegramBotAPI, http: httpx.AsyncClient, chat_id: int, name: str) -> None:
        delivery = WebhookDelivery(http, B_SECRET)
        delivery.deliver = Writer._post(http, "/webhook/telegram/bella", B_SECRET)  # type: ignore[method-assign]
        super().__init__(app, api, delivery, B_OWN_CHAT, chat_id, name)
        self.connection = B_CONNECTION

    async def send(self, update: dict[str, Any]) -> None:
        await self.delivery.deliver(update)
        await (await bella(self.app)).telegram.inbox.process_pending()  # type: ignore[union-attr]
        await self.app.state.relay.drain()

    def sent_here(self) -> list[dict[str, Any]]:
        return [
            c.params
            for c in self.api.called("sendMessage")
            if c.status == 200 and c.bot == B_TOKEN and c.params["chat_id"] == self.chat_id
        ]


class HerWhatsAppClient(WhatsAppUser):
    """A client writing to bella's WhatsApp sender (Twilio posts `To` her number)."""

    def form(self, body: str = "", *, sid: str | None = None, **extra: str) -> dict[str, str]:
        return super().form(body, sid=sid, **{"To": B_FROM, **extra})


async def rows(app: FastAPI, model: type, *where: Any) -> list[Any]:  # noqa: ANN401
    async with app.state.desk.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


def sends(api: TelegramBotAPI, method: str, token: str, chat_id: int) -> list[dict[str, Any]]:
    return [
        c.params for c in api.called(method) if c.status == 200 and c.bot == token and c.params["chat_id"] == chat_id
    ]


# Telegram Business


async def test_her_bot_takes_business_connections_from_her_accounts_only(
    start: Start, http_of: Callable[[FastAPI], httpx.AsyncClient], telegram_api: TelegramBotAPI
) -> None:
    app = await start(payments=False)
    http = http_of(app)
    b = (await bella(app)).practitioner_id
    assert "business_connection" in {c.bot: c.params for c in telegram_api.called("setWebhook")}[B_TOKEN][
        "allowed_updates"
    ]
    to_her_bot = Writer(app, telegram_api, http, B_OWN_CHAT, "Белла", to_b=True)
    to_a_bot = Writer(app, telegram_api, http, PRACTITIONER_CHAT, "Марина", to_b=False)

    # #1's account connecting bella's bot, and bella's account connecting #1's bot: refused.
    await to_her_bot.send(connection_update(telegram_api, PRACTITIONER_CHAT, connection="A-into-bella"))
    await to_a_bot.send(connection_update(telegram_api, B_OWN_CHAT, connection="bella-into-A"))
    assert await rows(app, BusinessConnection) == []
    assert telegram_api.called("getChat") == []

    # Her own account: stored under her, with its rights, and she hears it through her own bot.
    await to_her_bot.send(connection_update(telegram_api, B_OWN_CHAT, connection=B_CONNECTION))
    await to_a_bot.send(connection_update(telegram_api, PRACTITIONER_CHAT))  # #1's, as before
    stored = {row.connection_id: row for row in await rows(app, BusinessConnection)}
    assert {(cid, row.practitioner_id) for cid, row in stored.items()} == {(B_CONNECTION, b), (CONNECTION, 1)}
    assert stored[B_CONNECTION].user_id == B_OWN_CHAT and stored[B_CONNECTION].can_reply
    assert stored[B_CONNECTION].rights == {"can_reply": True, "can_read_messages": True}
    [told] = sends(telegram_api, "sendMessage", B_TOKEN, B_OWN_CHAT)
    assert "подключён" in told["text"]
    assert [c.bot for c in telegram_api.called("getChat") if c.params["chat_id"] == B_OWN_CHAT] == [B_TOKEN]
    assert sends(telegram_api, "sendMessage", TOKEN, B_OWN_CHAT) == []  # #1's bot told her nothing


async def test_a_client_in_her_account_runs_the_journey_through_her_bot_and_her_rows(
    start: Start, http_of: Callable[[FastAPI], httpx.AsyncClient], telegram_api: TelegramBotAPI, clock: FakeClock
) -> None:
    app = await start(payments=False)
    http = http_of(app)
    b = (await bella(app)).practitioner_id
    her = Writer(app, telegram_api, http, B_OWN_CHAT, "Белла", to_b=True)
    await her.send(connection_update(telegram_api, B_OWN_CHAT, connection=B_CONNECTION))
    her.replies()

    # A message carrying #1's connection id reaches bella's bot: not hers, nothing happens.
    stray = HerChat(app, telegram_api, http, 6001, "Анна")
    await stray.send(stray.message("Здравствуйте!", connection=CONNECTION))
    assert stray.replies() == [] and await rows(app, Message) == []

    anna = HerChat(app, telegram_api, http, 6001, "Анна")
    confirmation = await book(anna)  # every reply checked: her bot, her connection's id
    assert "запрос принят" in confirmation
    token = LINK.search(confirmation)
    assert token is not None, confirmation  # the one-tap link to her bot's chat
    assert sends(telegram_api, "sendMessage", TOKEN, 6001) == []  # #1's bot never spoke to her client
    history = await rows(app, Message)
    assert history and {(m.practitioner_id, m.channel) for m in history} == {(b, "tg_business")}
    [identity] = await rows(app, Identity, Identity.channel == "tg_business")
    assert (identity.practitioner_id, identity.address) == (b, f"{B_OWN_CHAT}:6001")
    outbox = await rows(app, OutboxItem, OutboxItem.channel == "tg_business")
    assert {(r.practitioner_id, r.business_connection_id, r.state) for r in outbox} == {(b, B_CONNECTION, "sent")}
    [request] = await rows(app, Request)
    assert request.practitioner_id == b
    assert await rows(app, Message, Message.practitioner_id == 1) == []  # #1's data untouched

    # She writes in the chat herself: the bot steps back there (the same rule as #1's).
    await anna.send(anna.hers("Анна, я сама отвечу"))
    [chat] = await rows(app, ChatRow)
    assert chat.practitioner_id == b and chat.paused_at is not None
    [told] = her.replies()  # through her bot, to her own chat
    assert "Вы пишете клиенту Анна сами" in told and anna.replies() == []
    await anna.send(anna.message("Спасибо!"))
    assert anna.replies() == []  # paused: the bot says nothing over her
    await her.send(her.message("/resume"))

    # The client opens her bot's chat by the link; 25 h later a push goes there, not into her
    # account (the 24-hour window is closed), through her bot.
    bot_chat = Writer(app, telegram_api, http, 6001, "Анна", to_b=True)
    await bot_chat.send(bot_chat.message(f"/start {token[1]}"))
    anna.seen = len(anna.sent_here())
    assert "Место в очереди: 1" in await anna.ask("где мой расклад?")  # her account again, in the window
    clock.advance(hours=25)
    await her.send(her.message(f"/paid {request.id}"))
    [push] = anna.sent_here()[anna.seen :]
    assert "business_connection_id" not in push and "получена" in push["text"]  # in her bot's chat
    [row] = await rows(app, OutboxItem, OutboxItem.text == push["text"])
    assert (row.practitioner_id, row.channel, row.state) == (b, "tg_business", "sent")


# Payments


async def test_her_invoice_carries_her_provider_token_through_her_bot_and_pays_her_request(
    start: Start, http_of: Callable[[FastAPI], httpx.AsyncClient], telegram_api: TelegramBotAPI, clock: FakeClock
) -> None:
    app = await start(payments=True)
    http = http_of(app)
    b = (await bella(app)).practitioner_id
    anna = Writer(app, telegram_api, http, 1001, "Анна", to_b=False)
    boris = Writer(app, telegram_api, http, 2002, "Борис", to_b=True)
    await book_planned_reading(anna)
    await book_planned_reading(boris)

    [a_invoice] = sends(telegram_api, "sendInvoice", TOKEN, 1001)
    [b_invoice] = sends(telegram_api, "sendInvoice", B_TOKEN, 2002)
    assert a_invoice["provider_token"] == A_PAY_TOKEN
    assert b_invoice["provider_token"] == B_PAY_TOKEN and b_invoice["currency"] == "RUB"
    assert sends(telegram_api, "sendInvoice", TOKEN, 2002) == sends(telegram_api, "sendInvoice", B_TOKEN, 1001) == []
    [b_request] = await rows(app, Request, Request.practitioner_id == b)
    assert b_invoice["payload"].startswith(f"{b_request.id}:")

    # Her invoice checked out at #1's bot finds nothing there: refused, nothing changes.
    await anna.delivery.deliver(pre_checkout(anna, b_invoice))
    [refused] = [c for c in telegram_api.called("answerPreCheckoutQuery") if c.bot == TOKEN]
    assert refused.params["ok"] is False
    # At her own bot: answered at once by her bot, then paid once.
    await boris.delivery.deliver(pre_checkout(boris, b_invoice))
    [answer] = [c for c in telegram_api.called("answerPreCheckoutQuery") if c.bot == B_TOKEN]
    assert answer.params["ok"] is True
    clock.advance(minutes=3)
    paid = successful_payment(boris, b_invoice, "tg-charge-bella-1", clock)
    for _ in range(2):
        await boris.send(paid)

    [b_request] = await rows(app, Request, Request.practitioner_id == b)
    assert (b_request.stage, b_request.payment_state, b_request.paid_at) == ("queued", "paid", clock.now)
    [b_payment] = await rows(app, Payment, Payment.practitioner_id == b)
    assert (b_payment.state, b_payment.telegram_charge_id) == ("paid", "tg-charge-bella-1")
    assert len([t for t in boris.replies() if "получена" in t]) == 1
    [a_request] = await rows(app, Request, Request.practitioner_id == 1)
    [a_payment] = await rows(app, Payment, Payment.practitioner_id == 1)
    assert (a_request.payment_state, a_payment.state) == ("unpaid", "invoiced")  # #1's untouched


async def test_her_stripe_links_and_webhook_use_her_own_account(
    start: Start,
    http_of: Callable[[FastAPI], httpx.AsyncClient],
    twilio_api: TwilioAPI,
    stripe_api: StripeAPI,
    clock: FakeClock,
) -> None:
    app = await start(payments=True)
    http = http_of(app)
    b = (await bella(app)).practitioner_id
    vera = HerWhatsAppClient(http, app, twilio_api, "+79990003333", "Вера")
    await book_one_question(vera)
    [payment] = await rows(app, Payment)
    assert payment.practitioner_id == b and payment.provider == "stripe"
    link = f"{PUBLIC}/pay/bella/{payment.id}/{payment.check_token}"
    [sent] = [r for r in twilio_api.delivered(vera.address) if link in r.body]
    assert sent.params["From"] == B_FROM  # from her sender

    assert (await http.get(f"/pay/{payment.id}/{payment.check_token}")).status_code == 404  # not #1's
    opened = await http.get(link.removeprefix(PUBLIC))
    assert opened.status_code == 303
    [call] = stripe_api.calls
    assert call.api_key == B_STRIPE_KEY  # her Stripe account, never #1's
    [session] = stripe_api.sessions.values()

    clock.advance(minutes=10)
    body = completed(session, clock, event_id="evt_bella_1")
    headers = {"Content-Type": "application/json"}

    async def post(path: str, secret: str) -> int:
        signature = stripe.WebhookSignature.generate_signature_header(body, secret)
        response = await http.post(path, content=body, headers={**headers, "Stripe-Signature": signature})
        await app.state.relay.drain()
        return response.status_code

    # Signed with #1's secret at her path, or with hers at #1's path: refused, nothing changes.
    assert await post("/webhook/payments/stripe/bella", WEBHOOK_SECRET) == 400
    assert await post("/webhook/payments/stripe", B_STRIPE_SECRET) == 400
    assert await post("/webhook/payments/stripe/nobody", B_STRIPE_SECRET) == 404
    [payment] = await rows(app, Payment)
    assert payment.state == "invoiced"
    for _ in range(2):  # Stripe re-delivering
        assert await post("/webhook/payments/stripe/bella", B_STRIPE_SECRET) == 200
    [request] = await rows(app, Request)
    assert (request.practitioner_id, request.stage, request.payment_state) == (b, "queued", "paid")
    [payment] = await rows(app, Payment)
    assert (payment.state, payment.event_id) == ("paid", "evt_bella_1")
    assert len([r for r in twilio_api.delivered(vera.address) if "получена" in r.body]) == 1


async def test_a_practitioner_without_keys_offers_no_payment(
    start: Start, http_of: Callable[[FastAPI], httpx.AsyncClient], telegram_api: TelegramBotAPI
) -> None:
    """#1's keys are hers alone: bella without her own gets no invoices and no Stripe routes."""
    app = await start(payments=False)
    http = http_of(app)
    tenant = await bella(app)
    assert tenant.payments is None
    await book_planned_reading(Writer(app, telegram_api, http, 2002, "Борис", to_b=True))
    assert telegram_api.called("sendInvoice") == [] and await rows(app, Payment) == []
    assert (await http.post("/webhook/payments/stripe/bella", content=b"{}")).status_code == 404


async def test_changed_keys_are_taken_without_a_restart_and_never_printed(
    start: Start, http_of: Callable[[FastAPI], httpx.AsyncClient], telegram_api: TelegramBotAPI, db_path: Path
) -> None:
    app = await start(payments=True)
    http = http_of(app)
    settings = telegram_settings(db_path, telegram_api, "webhook")
    out = io.StringIO()
    token = ["--telegram-payment-token", "new:TEST:tok"]
    assert await cli(["practitioner", "set", "--slug", "bella", *token], settings, out) == 0
    assert await cli(["practitioner", "set", "--slug", "bella", "--stripe-api-key", ""], settings, out) == 2  # half
    assert await cli(["practitioner", "set", "--slug", "nobody", "--stripe-api-key", "x"], settings, out) == 2
    assert await cli(["practitioner", "list"], settings, out) == 0
    listing = out.getvalue()
    assert "payment-token=yes\tstripe=yes" in listing
    for secret in ("new:TEST:tok", B_PAY_TOKEN, B_STRIPE_KEY, B_STRIPE_SECRET):
        assert secret not in listing

    await app.state.platform.sync()  # the periodic sync
    await book_planned_reading(Writer(app, telegram_api, http, 2002, "Борис", to_b=True))
    [invoice] = sends(telegram_api, "sendInvoice", B_TOKEN, 2002)
    assert invoice["provider_token"] == "new:TEST:tok"


async def test_her_secrets_are_masked_in_the_logs_once_her_bot_is_built(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = redact.Redact([])
    monkeypatch.setattr(redact, "_installed", [net])  # as main.main() installs it on the root handlers
    await start(payments=True)
    line = json.dumps([B_TOKEN, B_TOKEN.split(":", 1)[1], B_SECRET, B_PAY_TOKEN, B_STRIPE_KEY, B_STRIPE_SECRET])
    masked = net.clean(line)
    assert masked == json.dumps([redact.MASK] * 6), masked


@pytest.mark.parametrize(
    ("stars_on", "has_bot", "token", "mode"),
    [
        (False, True, None, None),  # #1's TELEGRAM_PAYMENTS off: no invoices, whatever #1's keys
        (True, True, None, Mode.STARS),  # on for the deployment: Stars, paid to her own bot
        (True, True, B_PAY_TOKEN, Mode.CARD),  # her provider token: card invoices
        (True, False, B_PAY_TOKEN, None),  # no bot of hers, no invoices
    ],
)
def test_her_telegram_invoices_follow_the_deployment_switch_and_her_own_token(
    stars_on: bool, has_bot: bool, token: str | None, mode: Mode | None
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_payments=stars_on, telegram_payment_provider_token=A_PAY_TOKEN
    )
    ctx = PaymentContext(sessions=None, practitioner_id=2, texts=None, practice=None, clock=None)  # type: ignore[arg-type]
    payments = practitioner_payments(
        settings, ctx, slug="bella", has_bot=has_bot, provider_token=token, stripe_api_key=None,
        stripe_webhook_secret=None,
    )  # fmt: skip
    assert (payments.offers.telegram if payments is not None else None) == mode
    if payments is not None:
        assert payments.invoices.provider_token == token  # never #1's A_PAY_TOKEN
