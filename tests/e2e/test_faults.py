"""Fault injection at the HTTP boundary: for a minute, 30% of the sends to the Bot API and Twilio
doubles fail — 500, 502, 503, 429 (Telegram with parameters.retry_after, Twilio 20429) and
timeouts — while clients keep writing on both channels.

The app runs in this process with its background work on (the relay, the Telegram inbox worker,
the scheduler) on the wall clock: Telegram updates arrive at the webhook and go through the real
aiogram stack out to the Bot API double; WhatsApp messages arrive as signed Twilio webhooks and go
out through the twilio SDK to the Twilio double. Backoff is the relay's own (bot/relay.backoff,
and retry_after where the platform gives one).

A timeout is ambiguous: the request was written, and the platform may or may not have delivered
it. priem marks such a send `uncertain` and never re-sends it (shared/RELIABILITY.md). The doubles
decide, seeded, whether each timed-out message was written, and record it; so the assertions
stay exact:
- our webhooks answered every request 200, and every message is in history, answered;
- every outbox row ended `sent` or `uncertain`: nothing pending, failed or lost;
- each chat received exactly the `sent` rows plus the uncertain ones the double had written, in
  the order the rows were queued, each once; the uncertain rows are exactly the timeouts, and
  each is on the practitioner's page.
"""

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.desk import utc_now
from bot.settings import Settings
from bot.whatsapp.sender import with_choices
from main import build
from storage.engine import make_engine, session_factory
from storage.models import InboxUpdate, Message, OutboxItem
from tests.database import url_for
from tests.e2e.dashboard_login import log_in
from tests.e2e.telegram_client import SECRET_HEADER, TelegramUser, WebhookDelivery
from tests.e2e.whatsapp_client import PUBLIC, WEBHOOK, WhatsAppUser, post_signed
from tests.fakes.faults import TIMEOUT, FaultWindow
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioAPI

WINDOW = 60.0  # seconds of faults: the minute
RATE = 0.3
# The senders wait 30 s for an answer in production; here 3 s, so that a minute holds many
# timeouts and the drain is not spent waiting for them. The doubles hold a timed-out request 6 s.
CLIENT_TIMEOUT = 3.0
HOLD = 6.0
TELEGRAM_CLIENTS = 50
WHATSAPP_CLIENTS = 50
SCRIPT = (
    "Здравствуйте!",
    "Хочу плановый расклад",
    "Да, согласна",
    "Что меня ждёт в работе?",
    "Стоит ли переезжать весной?",
    "готово",
)
SPACING = 9.0  # seconds between one client's messages: six of them inside the window
GRACE = 15.0  # how long past the last due retry the drain may take before the test gives up
SECRET = "s3cret-Webhook_token"


@dataclass
class Traffic:
    statuses: Counter[int] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # messages posted, by channel


def fault_settings(db_path: Path, telegram: TelegramBotAPI, twilio: TwilioAPI) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url_for(db_path),
        telegram_bot_token=TOKEN,
        telegram_api_server=telegram.base_url,
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        public_base_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=FROM,
        twilio_api_base_url=twilio.base_url,
        # The production rates, not the suite's unlimited ones: retries compete for the same tokens.
        telegram_rate_per_second=28,
        telegram_chat_rate_per_second=1,
        twilio_mps=20,
        twilio_buttons=False,  # choices listed under the text: what wire_text compares
    )


@pytest.fixture
async def running(db_path: Path, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI) -> AsyncIterator[FastAPI]:
    """The app with its background work on, on the wall clock; stopped before the test reads the
    final state, so nothing moves under the comparison."""
    app = build(fault_settings(db_path, telegram_api, twilio_api))
    async with app.router.lifespan_context(app):
        app.state.telegram.bot.session.timeout = CLIENT_TIMEOUT
        app.state.whatsapp.sender.timeout = CLIENT_TIMEOUT
        yield app


def start_of(client: int, clients: int, n: int) -> float:
    return client / clients * SPACING + n * SPACING


async def at(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def telegram_client(http: httpx.AsyncClient, user: TelegramUser, i: int, t0: float, traffic: Traffic) -> None:
    for n, text in enumerate(SCRIPT):
        await at(t0 + start_of(i, TELEGRAM_CLIENTS, n))
        response = await http.post("/webhook/telegram", json=user.message(text), headers={SECRET_HEADER: SECRET})
        traffic.statuses[response.status_code] += 1
        traffic.sent["telegram"] += 1


async def whatsapp_client(http: httpx.AsyncClient, user: WhatsAppUser, i: int, t0: float, traffic: Traffic) -> None:
    for n, text in enumerate(SCRIPT):
        await at(t0 + start_of(i, WHATSAPP_CLIENTS, n))
        response = await post_signed(http, WEBHOOK, user.form(text))
        traffic.statuses[response.status_code] += 1
        traffic.sent["whatsapp"] += 1


async def left_to_do(app: FastAPI) -> tuple[int, datetime | None]:
    """Rows and updates still to handle, and when the latest pending retry is due."""
    async with app.state.desk.uow() as uow:
        session = uow.session
        unprocessed = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.processed_at.is_(None))
        )
        busy = OutboxItem.state.in_(("pending", "sending"))
        outgoing = await session.scalar(select(func.count()).select_from(OutboxItem).where(busy))
        latest = await session.scalar(select(func.max(OutboxItem.next_attempt_at)).where(busy))
    return int(unprocessed or 0) + int(outgoing or 0), latest


async def drain(app: FastAPI) -> float:
    """Waits until every update is handled and every row has left; returns the seconds it took.
    Gives up GRACE seconds after the latest retry that is due (backoff can reach a minute)."""
    started = time.monotonic()
    give_up = started + GRACE
    while True:
        left, latest = await left_to_do(app)
        if not left:
            return time.monotonic() - started
        if latest is not None:
            give_up = max(give_up, time.monotonic() + (latest - utc_now()).total_seconds() + GRACE)
        assert time.monotonic() < give_up, f"{left} updates and rows still not done"
        await asyncio.sleep(0.2)


def answered(directions: list[str]) -> bool:
    """Every client message is followed by a reply before the client's next message."""
    return not any(a == b == "in" for a, b in zip(directions, [*directions[1:], "in"], strict=True))


def wire_text(row: OutboxItem) -> str:
    """What the double saw of this row: Telegram gets the text, WhatsApp the text with its choices."""
    return row.text if row.channel == "telegram" else with_choices(row.text, row.buttons)


def accepted(row: OutboxItem, telegram: TelegramBotAPI, twilio: TwilioAPI) -> list[tuple[str, str | None]]:
    """(text, Twilio sid) of what the double accepted for this row's chat, in order."""
    if row.channel == "telegram":
        return [(p["text"], None) for p in telegram.sent(int(row.destination))]
    return [(r.body, r.sid) for r in twilio.delivered(row.destination)]


@pytest.mark.slow
async def test_a_minute_of_faults_delivers_everything_once_in_order(
    running: FastAPI, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI, db_path: Path
) -> None:
    app = running
    traffic = Traffic()
    windows: dict[str, FaultWindow] = {
        "telegram": telegram_api.inject_faults(seconds=WINDOW, rate=RATE, seed=9, hold=HOLD),
        "whatsapp": twilio_api.inject_faults(seconds=WINDOW, rate=RATE, seed=10, hold=HOLD),
    }
    t0 = time.monotonic()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000", timeout=60) as http:
        delivery = WebhookDelivery(http, SECRET)
        telegram_users = [
            TelegramUser(app, telegram_api, delivery, 10_000 + i, f"Клиент{i}") for i in range(TELEGRAM_CLIENTS)
        ]
        whatsapp_users = [
            WhatsAppUser(http, app, twilio_api, f"+7916{i:07d}", f"Клиент{i}") for i in range(WHATSAPP_CLIENTS)
        ]
        await asyncio.gather(
            *(telegram_client(http, user, i, t0, traffic) for i, user in enumerate(telegram_users)),
            *(whatsapp_client(http, user, i, t0, traffic) for i, user in enumerate(whatsapp_users)),
        )
        await at(max(w.ends for w in windows.values()))
        drain_seconds = await drain(app)
        async with app.state.desk.uow() as uow:  # what was queued up to the moment all had left
            drained_up_to = await uow.session.scalar(select(func.max(OutboxItem.id))) or 0
        await log_in(http)
        page = (await http.get("/desk/api/state")).json()
    shown = {row["id"]: row["state"] for row in page["undelivered"]}

    # The final state, read once the app has stopped.
    engine = make_engine(url_for(db_path))
    try:
        async with session_factory(engine)() as session:
            rows = list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
            history = (await session.execute(select(Message.client_id, Message.direction).order_by(Message.id))).all()
    finally:
        await engine.dispose()

    assert set(traffic.statuses) == {200}, traffic.statuses  # no 5xx (or anything else) from our webhooks
    inbound = Counter(direction for _, direction in history)
    assert inbound["in"] == sum(traffic.sent.values()) == (TELEGRAM_CLIENTS + WHATSAPP_CLIENTS) * len(SCRIPT)
    per_client: dict[int, list[str]] = defaultdict(list)
    for client_id, direction in history:
        per_client[client_id].append(direction)
    unanswered = [c for c, directions in per_client.items() if not answered(directions)]
    assert not unanswered, f"clients with a message followed by no reply: {unanswered[:5]}"

    # A push sweep (30 s tick, real clock) may queue a row after the drain, just before the app
    # stops: it had no chance to leave and is no part of the fault traffic. Any other row counts.
    channel_rows = [r for r in rows if r.channel in windows and (r.id <= drained_up_to or r.state != "pending")]
    states = Counter(r.state for r in channel_rows)
    assert set(states) <= {"sent", "uncertain"}, states

    by_chat: dict[tuple[str, str], list[OutboxItem]] = defaultdict(list)
    for row in channel_rows:
        by_chat[(row.channel, row.destination)].append(row)
    written_uncertain = 0
    for (channel, destination), chat_rows in by_chat.items():
        uncertain = [r for r in chat_rows if r.state == "uncertain"]
        timeouts = windows[channel].timeouts(destination)
        # An uncertain row is exactly a send that timed out: never re-sent, never anything else.
        assert [wire_text(r) for r in uncertain] == [t.text for t in timeouts], (channel, destination)
        written = {r.id for r, t in zip(uncertain, timeouts, strict=True) if t.written}
        written_uncertain += len(written)
        expected = [r for r in chat_rows if r.state == "sent" or r.id in written]
        got = accepted(chat_rows[0], telegram_api, twilio_api)
        # Each row once, in the order it was queued; nothing the chat got that no row explains.
        assert [text for text, _ in got] == [wire_text(r) for r in expected], (channel, destination)
        for row, (_, sid) in zip(expected, got, strict=True):
            if channel == "whatsapp" and row.state == "sent":
                assert row.external_id == sid
    chats_reached = {str(p["chat_id"]) for p in telegram_api.sent()} | {r.to for r in twilio_api.delivered()}
    assert chats_reached <= {destination for _, destination in by_chat}

    uncertain_ids = {r.id for r in channel_rows if r.state == "uncertain"}
    assert {i: shown.get(i) for i in uncertain_ids} == dict.fromkeys(uncertain_ids, "uncertain")

    faults = windows["telegram"].counts() + windows["whatsapp"].counts()
    assert states["uncertain"] == faults[TIMEOUT]
    requests = len(telegram_api.called("sendMessage")) + len(twilio_api.requests)
    retries = sum(r.attempts - 1 for r in channel_rows)
    assert retries == sum(faults.values()) - faults[TIMEOUT]  # each 5xx and 429 retried once, nothing else
    print(
        f"\nfault injection: {sum(traffic.sent.values())} messages in ({dict(traffic.sent)}) from "
        f"{TELEGRAM_CLIENTS}+{WHATSAPP_CLIENTS} clients, {len(channel_rows)} replies queued "
        f"({Counter(r.channel for r in channel_rows)}), {requests} send requests, "
        f"{sum(faults.values())} faults injected ({dict(sorted(faults.items()))}), {retries} retries "
        f"(most attempts for one row: {max(r.attempts for r in channel_rows)}); "
        f"sent {states['sent']}, uncertain {states['uncertain']} ({written_uncertain} of them written by the double), "
        f"duplicates 0, out of order 0; drained {drain_seconds:.1f} s after the {WINDOW:g} s window"
    )
