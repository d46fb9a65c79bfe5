"""Payment links on WhatsApp (and the web chat) through Stripe Checkout, end to end: the official
`stripe` library against a local Stripe double, and webhooks signed with the library's own
WebhookSignature scheme, as Stripe signs them. No network."""

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from fastapi import FastAPI
from sqlalchemy import select

from main import build
from storage.models import Payment, Request
from tests.e2e.chat_client import ChatClient
from tests.e2e.whatsapp_client import PUBLIC, WhatsAppUser, whatsapp_settings
from tests.factories import FakeClock
from tests.fakes.stripe_api import API_KEY, WEBHOOK_SECRET, StripeAPI
from tests.fakes.twilio_api import TwilioAPI

WEBHOOK = "/webhook/payments/stripe"


@pytest.fixture
async def stripe_api() -> AsyncIterator[StripeAPI]:
    api = StripeAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def wa_app(
    db_path: Path, twilio_api: TwilioAPI, stripe_api: StripeAPI, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    """The WhatsApp app of tests/e2e/whatsapp_client.py with Stripe payment links switched on."""
    settings = whatsapp_settings(
        db_path,
        twilio_api,
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_api.base_url,
    )
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


async def requests_of(app: FastAPI) -> list[Request]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(Request).order_by(Request.id)))


async def payments_of(app: FastAPI) -> list[Payment]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(Payment).order_by(Payment.id)))


def completed(session: dict[str, Any], clock: FakeClock, event_id: str = "evt_test_0001") -> str:
    """A checkout.session.completed event as Stripe sends it (the paid session inside)."""
    paid = {**session, "payment_status": "paid", "status": "complete", "payment_intent": "pi_test_0001"}
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(clock.now.timestamp()),
        "type": "checkout.session.completed",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": paid},
    }
    return json.dumps(event)


async def post_event(http: httpx.AsyncClient, body: str, signature: str) -> httpx.Response:
    return await http.post(
        WEBHOOK, content=body, headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
    )


def signed(body: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)


async def book_one_question(client: WhatsAppUser) -> str:
    await client.ask("Здравствуйте")
    assert "условия" in (await client.ask("Мне только один вопрос")).lower()
    await client.ask("Да")
    return await client.ask("Что будет с работой?")


async def test_a_whatsapp_booking_gets_a_link_that_opens_stripe_checkout(
    wa_app: FastAPI,
    wa_http: httpx.AsyncClient,
    wa_user: Callable[[str, str], WhatsAppUser],
    stripe_api: StripeAPI,
) -> None:
    anna = wa_user("+79990001111", "Анна")
    confirmation = await book_one_question(anna)
    [request] = await requests_of(wa_app)
    [payment] = await payments_of(wa_app)
    link = f"{PUBLIC}/pay/{payment.id}/{payment.check_token}"
    assert link in confirmation and "1\xa0000,00\xa0₽" in confirmation
    assert stripe_api.calls == []  # nothing is created at Stripe until the link is opened

    opened = await wa_http.get(link.removeprefix(PUBLIC))
    assert opened.status_code == 303
    [call] = stripe_api.calls
    [session] = stripe_api.sessions.values()
    assert opened.headers["location"] == session["url"]
    assert call.form["line_items[0][price_data][unit_amount]"] == "100000"
    assert call.form["line_items[0][price_data][currency]"] == "rub"
    assert session["metadata"] == {
        "payment_id": str(payment.id),
        "check": payment.check_token,
        "request_id": str(request.id),
    }
    again = await wa_http.get(link.removeprefix(PUBLIC))
    assert again.headers["location"] == session["url"] and len(stripe_api.calls) == 1  # reused

    forged = await wa_http.get(f"/pay/{payment.id}/not-the-check")
    assert forged.status_code == 404 and len(stripe_api.calls) == 1


async def test_a_signed_payment_queues_the_request_once_and_forgeries_change_nothing(
    wa_app: FastAPI,
    wa_http: httpx.AsyncClient,
    wa_user: Callable[[str, str], WhatsAppUser],
    stripe_api: StripeAPI,
    clock: FakeClock,
) -> None:
    anna = wa_user("+79990001111", "Анна")
    await book_one_question(anna)
    [payment] = await payments_of(wa_app)
    await wa_http.get(f"/pay/{payment.id}/{payment.check_token}")
    [session] = stripe_api.sessions.values()
    clock.advance(hours=3)
    paid_at = clock.now
    body = completed(session, clock)
    clock.advance(minutes=5)

    for signature in (
        signed(body, secret="whsec_someone_else"),  # forged
        signed(body, timestamp=int(time.time()) - 600),  # an old request replayed
        "t=1,v1=deadbeef",
        "",
    ):
        response = await post_event(wa_http, body, signature)
        assert response.status_code == 400, signature
    tampered = body.replace('"amount_total": 100000', '"amount_total": 1')
    assert (await post_event(wa_http, tampered, signed(body))).status_code == 400
    [request] = await requests_of(wa_app)
    assert request.stage == "submitted" and request.payment_state == "unpaid"
    [stored] = await payments_of(wa_app)
    assert stored.state == "invoiced" and stored.event_id is None

    for _ in range(3):  # Stripe re-delivering the same event, freshly signed each time
        response = await post_event(wa_http, body, signed(body))
        assert response.status_code == 200
        await wa_app.state.relay.drain()
    other = completed(session, clock, event_id="evt_test_0002")  # a second event for the same session
    assert (await post_event(wa_http, other, signed(other))).status_code == 200
    await wa_app.state.relay.drain()

    [request] = await requests_of(wa_app)
    assert request.stage == "queued" and request.payment_state == "paid"
    assert request.paid_at == paid_at and request.deadline_at == paid_at + timedelta(days=7)
    [stored] = await payments_of(wa_app)
    assert (stored.state, stored.event_id, stored.provider_charge_id) == ("paid", "evt_test_0001", "pi_test_0001")
    assert stored.checkout_session_id == session["id"]
    told = [text for text in anna.replies() if "получена" in text]
    assert len(told) == 1 and "место в очереди: 1" in told[0]

    gone = await wa_http.get(f"/pay/{payment.id}/{payment.check_token}")
    assert gone.status_code == 404  # paid: the link no longer opens a checkout


async def test_the_web_chat_gets_a_payment_link_too(wa_app: FastAPI, wa_http: httpx.AsyncClient) -> None:
    boris = ChatClient(wa_http, wa_app, "Борис")
    await boris.ask("Здравствуйте")
    await boris.ask("Мне только один вопрос")
    await boris.ask("Да")
    confirmation = await boris.ask("Что будет с работой?")
    [payment] = await payments_of(wa_app)
    assert payment.provider == "stripe" and f"/pay/{payment.id}/{payment.check_token}" in confirmation


async def test_the_link_asks_the_price_she_set_on_her_settings_page(
    wa_app: FastAPI, wa_http: httpx.AsyncClient, wa_user: Callable[[str, str], WhatsAppUser], clock: FakeClock
) -> None:
    """Prices saved on the dashboard (issue 7) are the ones invoiced, without a restart."""
    from bot.overrides.document import PracticeDocument, ServiceDoc
    from storage.practice_settings import PracticeSettingsRepo

    one = ServiceDoc(
        name_ru="Один вопрос",
        name_en="One question",
        wait_min_days=1,
        wait_max_days=3,
        price_card="1250.50",
        price_currency="RUB",
    )
    async with wa_app.state.desk.uow() as uow:
        repo = PracticeSettingsRepo(uow.session, wa_app.state.desk.practitioner_id)
        await repo.save(PracticeDocument(services={"one_question": one}).stored(), clock.now)
        await uow.commit()
    confirmation = await book_one_question(wa_user("+79990001112", "Вера"))
    [payment] = await payments_of(wa_app)
    assert (payment.amount, payment.currency) == (125050, "RUB")
    assert "1\xa0250,50\xa0₽" in confirmation
