"""Payments as the practitioner sees them: the state and charge ids on the queue board (its JSON
API) and the client card, and the revenue per service in /stats, on the statistics page and in
its CSV, with refunds shown and subtracted.

Money arrives the way it really does: Telegram's `successful_payment` through the Bot API double
(Stars, and a card through a provider token), Stripe's `checkout.session.completed` and
`charge.refunded` signed by the stripe library itself.
"""

# ruff: noqa: F811  (pytest fixtures imported by name, then requested by name)

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from main import build
from tests.e2e.dashboard_login import log_in
from tests.e2e.test_payments_stripe import (
    book_one_question,
    completed,
    payments_of,
    post_event,
    signed,
    stripe_api,  # noqa: F401 (a fixture)
    wa_app,  # noqa: F401 (a fixture)
)
from tests.e2e.test_payments_telegram import her, invoices, requests_of
from tests.e2e.test_telegram import book_planned_reading, telegram_settings
from tests.e2e.whatsapp_client import WhatsAppUser
from tests.factories import FakeClock
from tests.fakes.stripe_api import StripeAPI
from tests.fakes.telegram_api import TelegramBotAPI

NBSP = "\xa0"
PROVIDER_TOKEN = "284685063:TEST:priem-double"


@pytest.fixture
def provider_token() -> str | None:
    return None


@pytest.fixture
async def tg_app(
    db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock, mode: str, provider_token: str | None
) -> AsyncIterator[FastAPI]:
    """Telegram with payments on: Stars, or cards when a provider token is given."""
    settings = telegram_settings(db_path, telegram_api, mode).model_copy(
        update={
            "telegram_payments": True,
            "telegram_payment_provider_token": SecretStr(provider_token) if provider_token else None,
        }
    )
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


def paid_update(
    client: Any,  # noqa: ANN401
    invoice: dict[str, Any],
    charge: str,
    clock: FakeClock,
    provider_charge: str = "",
) -> dict[str, Any]:
    """`successful_payment` as Telegram sends it, dated now (the promise clock and revenue use it)."""
    paid = {
        "currency": invoice["currency"],
        "total_amount": sum(p["amount"] for p in invoice["prices"]),
        "invoice_payload": invoice["payload"],
        "telegram_payment_charge_id": charge,
        "provider_payment_charge_id": provider_charge,
    }
    update: dict[str, Any] = client.message(successful_payment=paid)
    update["message"]["date"] = int(clock.now.timestamp())
    return update


async def board(http: httpx.AsyncClient) -> dict[int, dict[str, Any]]:
    state = (await http.get("/desk/api/state")).json()
    return {row["request_id"]: row for row in state["queue"]}


def fragment(html: str, element_id: str, tag: str) -> str:
    """The element with this id, up to its closing tag (payments and table rows do not nest)."""
    found = re.search(rf'<{tag}[^>]*id="{element_id}"[^>]*>.*?</{tag}>', html, re.S)
    assert found is not None, element_id
    return found[0]


def table_row(html: str, service: str, currency: str) -> str:
    found = re.search(rf'<tr data-service="{service}" data-currency="{currency}">.*?</tr>', html, re.S)
    assert found is not None, (service, currency)
    return found[0]


def csv_lines(response: httpx.Response) -> list[str]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return response.text.splitlines()


async def test_stars_payments_show_with_their_charge_ids_and_revenue_subtracts_the_refund(
    tg_app: FastAPI,
    tg_http: httpx.AsyncClient,
    telegram_api: TelegramBotAPI,
    user,  # noqa: ANN001
    clock: FakeClock,
) -> None:
    anna, boris, carl, dora = user(1001, "Анна"), user(1002, "Борис"), user(1003, "Карл"), user(1004, "Дора")
    for client in (anna, boris, carl, dora):
        await book_planned_reading(client)
    anna_request, boris_request, carl_request, dora_request = await requests_of(tg_app)
    practitioner = her(user)
    clock.advance(minutes=5)
    [anna_invoice], [boris_invoice] = invoices(telegram_api, 1001), invoices(telegram_api, 1002)
    for _ in range(2):  # Telegram delivering the same payment twice: counted once
        await anna.send(paid_update(anna, anna_invoice, "stxREV-ANNA", clock))
    await boris.send(paid_update(boris, boris_invoice, "stxREV-BORIS", clock))
    assert "оплачена" in await practitioner.ask(f"/paid {carl_request.id}")  # cash: no amount known
    clock.advance(hours=1)
    assert "возвращена" in await practitioner.ask(f"/refund {boris_request.id}")

    await log_in(tg_http)
    queue = await board(tg_http)
    assert {r: queue[r]["payment_status"] for r in queue} == {
        anna_request.id: "stars",
        carl_request.id: "manual",
        dora_request.id: "invoiced",
    }  # Boris's request was closed by the refund: off the board
    [anna_paid] = queue[anna_request.id]["payments"]
    assert (anna_paid["provider"], anna_paid["via"], anna_paid["state"]) == ("telegram", "stars", "paid")
    assert (anna_paid["currency"], anna_paid["amount"]) == ("XTR", 1500)
    assert anna_paid["charges"] == {"telegram_payment_charge_id": "stxREV-ANNA"} and anna_paid["paid_at"]
    [carl_invoice] = queue[carl_request.id]["payments"]  # the invoice he never used
    assert carl_invoice["state"] == "invoiced" and carl_invoice["charges"] == {}

    anna_card = (await tg_http.get(f"/desk/clients/{anna_request.client_id}")).text
    shown = fragment(anna_card, f"payment-{anna_paid['id']}", "li")
    assert f"1{NBSP}500 ⭐" in shown and "Telegram Stars" in shown and "оплачен" in shown
    assert "telegram_payment_charge_id" in shown and "stxREV-ANNA" in shown
    assert "оплачено в Stars ⭐" in fragment(anna_card, f"request-{anna_request.id}", "article")
    boris_card = (await tg_http.get(f"/desk/clients/{boris_request.client_id}")).text
    boris_row = fragment(boris_card, f"request-{boris_request.id}", "article")
    assert "pay-refunded" in boris_row and "возвращено" in boris_row
    assert "stxREV-BORIS" in boris_row and "возвращён" in boris_row
    carl_card = (await tg_http.get(f"/desk/clients/{carl_request.client_id}")).text
    assert "оплачено вручную (/paid)" in fragment(carl_card, f"request-{carl_request.id}", "article")

    stats = await practitioner.ask("/stats")
    assert "💰 Выручка" in stats
    reading = "Плановый расклад (видеозапись)"
    assert f"{reading}: 1{NBSP}500 ⭐ = 3{NBSP}000 ⭐ (2 опл.) − возвраты 1{NBSP}500 ⭐ (1)" in stats
    assert f"{reading}: оплачено вручную (/paid) — 1, сумма не записана" in stats

    page = (await tg_http.get("/desk/stats")).text
    row = table_row(page, "planned_reading", "XTR")
    assert (
        f"<td>3{NBSP}000 ⭐</td>" in row and f"−1{NBSP}500 ⭐" in row and f'<td class="net">1{NBSP}500 ⭐</td>' in row
    )
    assert f"{reading} — 1" in fragment(page, "paid-by-hand", "p")
    assert csv_lines(await tg_http.get("/desk/stats.csv?table=revenue")) == [
        "service,currency,payments,received,refunds,refunded,net",
        "planned_reading,XTR,2,3000,1,1500,1500",
        ",XTR,2,3000,1,1500,1500",
    ]
    services = csv_lines(await tg_http.get("/desk/stats.csv?table=services"))
    assert services[0].endswith(",paid_by_hand")
    [planned] = [line for line in services if line.startswith("planned_reading,")]
    assert planned.endswith(",1")
    requests = csv_lines(await tg_http.get("/desk/stats.csv?table=requests"))
    assert requests[0].endswith(",payment_status")
    status = {int(line.split(",")[0]): line.rsplit(",", 1)[1] for line in requests[1:]}
    assert status == {
        anna_request.id: "stars",
        boris_request.id: "refunded",
        carl_request.id: "manual",
        dora_request.id: "invoiced",
    }

    # A period that holds the refund but not the payments: the refund alone, subtracted.
    clock.advance(days=3)
    await practitioner.ask(f"/refund {anna_request.id}")
    recent = await practitioner.ask("/stats 2d")
    assert f"{reading}: -1{NBSP}500 ⭐ = 0 ⭐ (0 опл.) − возвраты 1{NBSP}500 ⭐ (1)" in recent
    assert "3 000" not in recent.replace(NBSP, " ")
    assert "planned_reading,XTR,2,3000,2,3000,0" in csv_lines(await tg_http.get("/desk/stats.csv?table=revenue"))


@pytest.mark.parametrize("provider_token", [PROVIDER_TOKEN])
async def test_a_card_payment_through_telegram_keeps_both_charge_ids_and_counts_in_rubles(
    tg_app: FastAPI,
    tg_http: httpx.AsyncClient,
    telegram_api: TelegramBotAPI,
    user,  # noqa: ANN001
    clock: FakeClock,
) -> None:
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [invoice] = invoices(telegram_api, 1001)
    assert invoice["currency"] == "RUB" and invoice["provider_token"] == PROVIDER_TOKEN
    await anna.send(paid_update(anna, invoice, "tgCARD-1", clock, provider_charge="yk-2fa6-0001"))
    [request] = await requests_of(tg_app)

    await log_in(tg_http)
    row = (await board(tg_http))[request.id]
    assert row["payment_status"] == "card"
    assert row["payments"][0]["charges"] == {
        "telegram_payment_charge_id": "tgCARD-1",
        "provider_payment_charge_id": "yk-2fa6-0001",
    }
    card = (await tg_http.get(f"/desk/clients/{request.client_id}")).text
    shown = fragment(card, f"payment-{row['payments'][0]['id']}", "li")
    assert f"3{NBSP}000,00{NBSP}₽" in shown and "Telegram, карта" in shown
    assert "tgCARD-1" in shown and "yk-2fa6-0001" in shown and "provider_payment_charge_id" in shown

    answer = (await tg_http.post("/desk/api/command", json={"text": "/stats"})).json()["replies"][0]["text"]
    assert f"Плановый расклад (видеозапись): 3{NBSP}000,00{NBSP}₽ (1 опл.)" in answer
    assert "planned_reading,RUB,1,3000.00,0,0.00,3000.00" in csv_lines(
        await tg_http.get("/desk/stats.csv?table=revenue")
    )


def refunded_charge(intent: str, amount: int, clock: FakeClock, event_id: str, *, full: bool = True) -> str:
    """A charge.refunded event as Stripe sends it after a refund in its dashboard."""
    charge = {
        "id": "ch_test_0001",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount if full else amount // 2,
        "currency": "rub",
        "payment_intent": intent,
        "refunded": full,
        "status": "succeeded",
    }
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(clock.now.timestamp()),
        "type": "charge.refunded",
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": charge},
    }
    return json.dumps(event)


async def test_a_stripe_payment_shows_its_session_and_intent_and_a_stripe_refund_leaves_revenue_right(
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
    clock.advance(minutes=10)
    body = completed(session, clock)
    for _ in range(3):  # Stripe re-delivering the same event
        assert (await post_event(wa_http, body, signed(body))).status_code == 200
    await wa_app.state.relay.drain()
    [request] = await requests_of(wa_app)

    await log_in(wa_http)
    row = (await board(wa_http))[request.id]
    assert row["payment_status"] == "stripe"
    [shown] = row["payments"]
    assert (shown["provider"], shown["state"], shown["currency"], shown["amount"]) == ("stripe", "paid", "RUB", 100000)
    assert shown["charges"] == {"checkout_session_id": session["id"], "payment_intent": "pi_test_0001"}
    card = (await wa_http.get(f"/desk/clients/{request.client_id}")).text
    item = fragment(card, f"payment-{payment.id}", "li")
    assert f"1{NBSP}000,00{NBSP}₽" in item and "Stripe" in item
    assert session["id"] in item and "pi_test_0001" in item and "payment_intent" in item

    async def stats() -> str:
        body = (await wa_http.post("/desk/api/command", json={"text": "/stats"})).json()
        return body["replies"][0]["text"]

    question = "«Мне только один вопрос»"
    assert f"{question}: 1{NBSP}000,00{NBSP}₽ (1 опл.)" in await stats()
    assert "one_question,RUB,1,1000.00,0,0.00,1000.00" in csv_lines(await wa_http.get("/desk/stats.csv?table=revenue"))

    # A partial refund in the Stripe dashboard: a payment row has one amount, nothing changes.
    clock.advance(hours=2)
    partial = refunded_charge("pi_test_0001", 100000, clock, "evt_refund_partial", full=False)
    assert (await post_event(wa_http, partial, signed(partial))).status_code == 200
    assert (await requests_of(wa_app))[0].payment_state == "paid"
    # A forged refund is refused and changes nothing.
    full = refunded_charge("pi_test_0001", 100000, clock, "evt_refund_full")
    assert (await post_event(wa_http, full, signed(full, secret="whsec_someone_else"))).status_code == 400
    assert (await requests_of(wa_app))[0].payment_state == "paid"
    anna.replies()

    for _ in range(3):  # the full refund, delivered three times
        assert (await post_event(wa_http, full, signed(full))).status_code == 200
        await wa_app.state.relay.drain()
    [request] = await requests_of(wa_app)
    assert request.payment_state == "refunded" and request.stage == "cancelled"
    [stored] = await payments_of(wa_app)
    assert stored.state == "refunded" and stored.refunded_at == clock.now
    assert len([text for text in anna.replies() if "возвращена" in text]) == 1
    assert request.id not in await board(wa_http)
    card = (await wa_http.get(f"/desk/clients/{request.client_id}")).text
    assert "возвращён" in fragment(card, f"payment-{payment.id}", "li")
    assert "возвращено" in fragment(card, f"request-{request.id}", "article")

    after = await stats()
    assert f"{question}: 0,00{NBSP}₽ = 1{NBSP}000,00{NBSP}₽ (1 опл.) − возвраты 1{NBSP}000,00{NBSP}₽ (1)" in after
    page = (await wa_http.get("/desk/stats")).text
    assert f'<td class="net">0,00{NBSP}₽</td>' in table_row(page, "one_question", "RUB")
    assert "one_question,RUB,1,1000.00,1,1000.00,0.00" in csv_lines(await wa_http.get("/desk/stats.csv?table=revenue"))
