"""The relay within a WhatsApp sender's MPS (TWILIO_MPS): the real relay and the real twilio SDK
sender against the Twilio double refusing a sender over its MPS with 429/20429.

TWILIO_MPS=10 here (a registered sender has 80; 10 keeps the run at a few seconds): 40 messages
take about 4 s of real time. Assertions are on what the double recorded — counts and order —
never on elapsed time. The double forgives SLACK seconds of transit jitter: the relay spaces
its sends at exactly 1/MPS, counted when it starts them, and the double counts arrivals
(tests/integration/test_relay_real_limits.py explains the same margin for Telegram).
"""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import select
from twilio.http.async_http_client import AsyncTwilioHttpClient

from bot.outbox.delivery import Delivered, RetryLater
from bot.outbox.ratelimit import RateLimits
from bot.outbox.relay import OutboxRelay
from bot.settings import Settings
from bot.whatsapp.sender import WhatsAppSender, make_client
from flows.model import Priority
from main import send_rates
from storage.models import OutboxItem
from storage.uow import UnitOfWork
from tests.factories import WORKING_TIME, FakeClock
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioAPI

MPS = 10
SLACK = 0.05
BULK = 35  # one message each to this many numbers
CHATTY = "whatsapp:+79160000001"  # and five replies to one number, which keep their order


@pytest.fixture
async def api() -> AsyncIterator[TwilioAPI]:
    double = TwilioAPI()
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
async def sender(api: TwilioAPI) -> AsyncIterator[WhatsAppSender]:
    http = AsyncTwilioHttpClient()

    async def unknown_window(_: OutboxItem) -> datetime | None:
        return None  # Twilio decides (the double's windows are all open)

    yield WhatsAppSender(
        make_client(ACCOUNT_SID, AUTH_TOKEN, api.base_url, http),
        from_=FROM,
        status_callback=None,
        clock=FakeClock(),
        last_inbound=unknown_window,
    )
    await http.close()


@pytest.fixture
async def rates(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RateLimits]:
    monkeypatch.setenv("TWILIO_MPS", str(MPS))  # the setting, read from the environment as in production
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.twilio_mps == MPS
    limits = send_rates(settings)  # what main.py gives the relay
    yield limits
    await limits.close()


async def test_the_relay_stays_under_the_senders_mps(
    sessions, practitioner: int, api: TwilioAPI, sender: WhatsAppSender, rates: RateLimits
) -> None:
    api.enforce_mps(MPS, slack=SLACK)
    clock = FakeClock(WORKING_TIME)
    async with UnitOfWork(sessions, practitioner) as uow:
        for n in range(BULK):
            await uow.outbox.enqueue(
                channel="whatsapp",
                destination=f"whatsapp:+7916100{n:04d}",
                priority=Priority.BULK,
                text=f"update {n}",
                key=f"queue:{n}",
                now=clock(),
            )
        for n in range(5):
            await uow.outbox.enqueue(
                channel="whatsapp",
                destination=CHATTY,
                priority=Priority.REPLY,
                text=f"reply {n}",
                key=f"msg:{n}",
                now=clock(),
            )
        await uow.commit()
    relay = OutboxRelay(sessions, {"whatsapp": sender}, clock, limits=rates)
    started = time.monotonic()
    await asyncio.wait_for(relay.drain(), timeout=120)  # the cap only keeps a broken relay from hanging
    elapsed = time.monotonic() - started

    assert api.too_many == 0 and len(api.requests) == BULK + 5  # zero 429s, nothing retried
    delivered = api.delivered()
    assert len(delivered) == BULK + 5 and max(Counter((r.to, r.body) for r in delivered).values()) == 1
    assert [r.body for r in api.delivered(CHATTY)] == [f"reply {n}" for n in range(5)]
    async with sessions() as session:
        assert set(await session.scalars(select(OutboxItem.state))) == {"sent"}
    peak = max(sum(1 for t, _ in api.arrivals if s <= t < s + 1.0) for s, _ in api.arrivals)
    print(
        f"\ntwilio: {BULK + 5} messages in {elapsed:.2f} s = {(BULK + 5) / elapsed:.1f} msg/s "
        f"(TWILIO_MPS={MPS}); 429s: {api.too_many}; most arrivals in any 1 s: {peak}"
    )


async def test_the_double_refuses_a_sender_over_its_mps_and_the_sender_retries_it(
    api: TwilioAPI, sender: WhatsAppSender
) -> None:
    """Without the relay's pacing the double answers 429/20429 — the test above can fail — and
    the sender hands that back as a retry, not a failure."""
    api.enforce_mps(2)
    rows = [
        OutboxItem(
            id=n,
            channel="whatsapp",
            destination=f"whatsapp:+7916200000{n}",
            priority=Priority.BULK,
            text=f"m{n}",
            idempotency_key=f"queue:{n}",
        )
        for n in range(3)
    ]
    results = await asyncio.gather(*(sender.send(row) for row in rows))
    assert sorted(type(r).__name__ for r in results) == ["Delivered", "Delivered", "RetryLater"]
    [refused] = [r for r in results if isinstance(r, RetryLater)]
    assert refused.error == "twilio 429/20429" and api.too_many == 1
    assert all(isinstance(r, Delivered) for r in results if r is not refused)
