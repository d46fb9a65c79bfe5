"""Paying inside Telegram end to end: the real aiogram stack against the Bot API double.

An invoice in Stars after the booking, the pre-checkout answered at once (before the inbox
worker runs) and refused for a cancelled request, the successful payment settling the request
exactly once however often it arrives, the 24-hour emergency clock running from the payment,
/refund giving the Stars back, and a client who keeps backing out of paying flagged.
"""

# ruff: noqa: F811  (pytest fixtures imported by name, then requested by name)

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from main import build
from storage.models import Client, Payment, Request
from tests.e2e.telegram_client import TelegramUser
from tests.e2e.test_telegram import (
    PRACTITIONER_CHAT,
    book_planned_reading,
    telegram_settings,
)
from tests.factories import FakeClock
from tests.fakes.telegram_api import TelegramBotAPI

_ids = itertools.count(1)


@pytest.fixture
def flip_limit() -> int:
    return 3


@pytest.fixture
async def tg_app(
    db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock, mode: str, flip_limit: int
) -> AsyncIterator[FastAPI]:
    """The Telegram app of tests/e2e/test_telegram.py with Stars payments switched on."""
    settings = telegram_settings(db_path, telegram_api, mode).model_copy(
        update={"telegram_payments": True, "payment_flip_limit": flip_limit}
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


def invoices(api: TelegramBotAPI, chat_id: int) -> list[dict[str, Any]]:
    return [c.params for c in api.called("sendInvoice") if c.status == 200 and c.params["chat_id"] == chat_id]


def pre_checkout(client: TelegramUser, invoice: dict[str, Any]) -> dict[str, Any]:
    query = {
        "id": f"pcq{next(_ids)}",
        "from": client.user,
        "currency": invoice["currency"],
        "total_amount": sum(p["amount"] for p in invoice["prices"]),
        "invoice_payload": invoice["payload"],
    }
    return {"update_id": client.api.next_update_id(), "pre_checkout_query": query}


def successful_payment(client: TelegramUser, invoice: dict[str, Any], charge: str, clock: FakeClock) -> dict[str, Any]:
    paid = {
        "currency": invoice["currency"],
        "total_amount": sum(p["amount"] for p in invoice["prices"]),
        "invoice_payload": invoice["payload"],
        "telegram_payment_charge_id": charge,
        "provider_payment_charge_id": "",
    }
    update = client.message(successful_payment=paid)
    update["message"]["date"] = int(clock.now.timestamp())
    return update


def her(user: Any) -> TelegramUser:  # noqa: ANN401
    return user(PRACTITIONER_CHAT, "Практик")


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_a_booking_gets_a_stars_invoice_and_paying_queues_it_once(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user, clock: FakeClock, mode: str  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    confirmation = await book_planned_reading(anna)
    assert "запрос принят" in confirmation
    [invoice] = invoices(telegram_api, 1001)
    [request] = await requests_of(tg_app)
    assert invoice["currency"] == "XTR" and "provider_token" not in invoice
    assert invoice["prices"] == [{"label": "Плановый расклад (видеозапись)", "amount": 1500}]
    assert invoice["payload"].startswith(f"{request.id}:") and invoice["title"] == f"Заявка №{request.id}"

    asked = telegram_api.called("setWebhook" if mode == "webhook" else "getUpdates")[0].params["allowed_updates"]
    assert "pre_checkout_query" in asked
    # Answered straight from the webhook/poller: the inbox worker has not run.
    await anna.delivery.deliver(pre_checkout(anna, invoice))
    [answer] = telegram_api.called("answerPreCheckoutQuery")
    assert answer.params["ok"] is True and "error_message" not in answer.params

    clock.advance(minutes=2)
    paid_at = clock.now
    payment = successful_payment(anna, invoice, "stxCHARGE-1", clock)
    for _ in range(3):  # Telegram retrying the same update
        await anna.send(payment)
    again = successful_payment(anna, invoice, "stxCHARGE-1", clock)  # the same charge, another update
    await anna.send(again)

    [request] = await requests_of(tg_app)
    assert request.stage == "queued" and request.payment_state == "paid" and request.paid_at == paid_at
    assert request.deadline_at == paid_at + timedelta(days=14)
    [stored] = await payments_of(tg_app)
    assert (stored.state, stored.telegram_charge_id, stored.event_id) == ("paid", "stxCHARGE-1", "stxCHARGE-1")
    told = anna.replies()
    assert len([t for t in told if "получена" in t]) == 1
    assert "место в очереди: 1" in "\n".join(told)
    notes = [t for t in her(user).replies() if "Оплата в чате" in t]
    assert len(notes) == 1 and f"№{request.id}" in notes[0]

    # Paid already: another checkout for the same invoice is refused.
    await anna.delivery.deliver(pre_checkout(anna, invoice))
    refused = telegram_api.called("answerPreCheckoutQuery")[-1].params
    assert refused["ok"] is False and "уже оплачена" in refused["error_message"]


async def test_a_cancelled_request_refuses_the_checkout_with_a_clear_message(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [invoice] = invoices(telegram_api, 1001)
    await anna.ask("отмена")
    await anna.press("cancel:yes")
    [request] = await requests_of(tg_app)
    assert request.stage == "cancelled"

    await anna.delivery.deliver(pre_checkout(anna, invoice))
    [answer] = telegram_api.called("answerPreCheckoutQuery")
    assert answer.params["ok"] is False
    assert answer.params["error_message"] == f"Заявка №{request.id} уже закрыта — оплата не нужна."
    [stored] = await payments_of(tg_app)
    assert stored.state == "invoiced" and stored.paid_at is None


async def test_a_restricted_client_or_a_forged_payload_is_refused(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [invoice] = invoices(telegram_api, 1001)
    forged = {**invoice, "payload": invoice["payload"][:-2] + "xx"}
    await anna.delivery.deliver(pre_checkout(anna, forged))
    assert "больше не действует" in telegram_api.called("answerPreCheckoutQuery")[-1].params["error_message"]

    assert "Анна" in await her(user).ask("/restrict Анна 3d спам")
    await anna.delivery.deliver(pre_checkout(anna, invoice))
    answer = telegram_api.called("answerPreCheckoutQuery")[-1].params
    assert answer["ok"] is False and "ограничила" in answer["error_message"]


async def test_the_emergency_clock_starts_at_the_payment_not_the_booking(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user, clock: FakeClock  # noqa: ANN001
) -> None:
    carl = user(1003, "Карл")
    assert "экстренный запрос" in await carl.ask("СРОЧНО!!! помогите")
    [invoice] = invoices(telegram_api, 1003)
    assert invoice["prices"][0]["amount"] == 2500
    clock.advance(hours=5)  # she sees the alert, the client pays later
    paid_at = clock.now
    await carl.send(successful_payment(carl, invoice, "stxEMERGENCY", clock))
    clock.advance(hours=1)
    [request] = await requests_of(tg_app)
    assert request.paid_at == paid_at and request.deadline_at == paid_at + timedelta(hours=24)
    assert request.deadline_at != request.created_at + timedelta(hours=24)
    board = await her(user).ask("/queue")
    assert "осталось 23 ч" in board  # from the booking, 18 h would be left


async def test_refund_gives_the_stars_back_and_closes_the_request(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user, clock: FakeClock  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [invoice] = invoices(telegram_api, 1001)
    await anna.send(successful_payment(anna, invoice, "stxREFUND-ME", clock))
    [request] = await requests_of(tg_app)
    anna.replies()

    answer = await her(user).ask(f"/refund {request.id}")
    assert "возвращена" in answer and "закрыта" in answer
    [refund] = telegram_api.called("refundStarPayment")
    assert refund.params == {"user_id": 1001, "telegram_payment_charge_id": "stxREFUND-ME"}
    [request] = await requests_of(tg_app)
    assert request.stage == "cancelled" and request.payment_state == "refunded"
    [stored] = await payments_of(tg_app)
    assert stored.state == "refunded" and stored.refunded_at is not None
    assert any("возвращена" in text for text in anna.replies())

    again = await her(user).ask(f"/refund {request.id}")
    assert "возвращать нечего" in again
    assert len(telegram_api.called("refundStarPayment")) == 1


async def test_refund_of_a_request_paid_by_hand_is_refused(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [request] = await requests_of(tg_app)
    practitioner = her(user)
    await practitioner.ask(f"/paid {request.id}")
    assert "возвращать нечего" in await practitioner.ask(f"/refund {request.id}")
    [request] = await requests_of(tg_app)
    assert request.stage == "queued" and request.payment_state == "paid"


@pytest.mark.parametrize("flip_limit", [2])
async def test_a_client_who_keeps_backing_out_is_flagged_and_invoices_wait_for_her(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user, clock: FakeClock  # noqa: ANN001
) -> None:
    boris = user(1002, "Борис")
    practitioner = her(user)
    for attempt in range(2):  # book, get the invoice, cancel before paying
        await boris.ask("Мне только один вопрос")
        if attempt == 0:
            await boris.ask("Да")
        await boris.ask(f"Что будет с работой, вариант {attempt}?")
        assert len(invoices(telegram_api, 1002)) == attempt + 1
        await boris.ask("отмена")
        await boris.press("cancel:yes")
    practitioner.replies()

    await boris.ask("Мне только один вопрос")
    await boris.ask("Что будет с работой теперь?")
    assert len(invoices(telegram_api, 1002)) == 2  # the third one waits for her
    async with tg_app.state.desk.uow() as uow:
        [client] = list(await uow.session.scalars(select(Client).where(Client.display_name == "Борис")))
    # Flagged by whichever check saw it first: this one (abandoned invoices) or the booking
    # flip-flop check (flows/boundaries.py); both use clients.flagged_at, and either holds invoices.
    assert client.flagged_at is not None
    told = "\n".join(practitioner.replies())
    *_, request = await requests_of(tg_app)
    assert "Борис" in told and f"/invoice {request.id}" in told

    assert "отправлен" in await practitioner.ask(f"/invoice {request.id}")
    assert len(invoices(telegram_api, 1002)) == 3
    assert invoices(telegram_api, 1002)[-1]["payload"].startswith(f"{request.id}:")


@pytest.mark.parametrize("flip_limit", [2])
async def test_paying_and_getting_refunded_again_and_again_flags_the_client(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user, clock: FakeClock  # noqa: ANN001
) -> None:
    boris = user(1002, "Борис")
    practitioner = her(user)
    for attempt in range(2):  # book, pay, ask for the money back
        await boris.ask("Мне только один вопрос")
        if attempt == 0:
            await boris.ask("Да")
        await boris.ask(f"Что будет с работой, вариант {attempt}?")
        invoice = invoices(telegram_api, 1002)[-1]
        await boris.send(successful_payment(boris, invoice, f"stxFLIP-{attempt}", clock))
        *_, request = await requests_of(tg_app)
        answer = await practitioner.ask(f"/refund {request.id}")
        assert "возвращена" in answer
        assert ("отмечен" in answer) is (attempt == 1)
    async with tg_app.state.desk.uow() as uow:
        [client] = list(await uow.session.scalars(select(Client).where(Client.display_name == "Борис")))
    assert client.flagged_at is not None and client.flag_reason == "оплата начата и брошена или возвращена 2 раз(а)"

    await boris.ask("Мне только один вопрос")
    await boris.ask("Что будет с работой теперь?")
    assert len(invoices(telegram_api, 1002)) == 2
    *_, request = await requests_of(tg_app)
    assert f"/invoice {request.id}" in "\n".join(practitioner.replies())
