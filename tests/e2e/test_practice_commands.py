"""The practitioner's commands end to end: typed in her Telegram chat (the real aiogram stack
against the Bot API double) and on her local page, with what she and the clients receive."""

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from flows.practice.args import client_ref
from storage.models import CommandLog, Request
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import log_in
from tests.e2e.telegram_client import TelegramUser
from tests.e2e.test_telegram import (
    PRACTITIONER_CHAT,
    book_planned_reading,
)


async def requests_of(app: FastAPI) -> list[Request]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(Request).order_by(Request.id)))


async def request_of(app: FastAPI, name: str) -> Request:
    async with app.state.desk.uow() as uow:
        rows = await uow.practice.find_clients(client_ref(name))
        [client] = rows
        return [r for r in await uow.requests.for_client(client.id)][-1]


def her(user: Any) -> TelegramUser:  # noqa: ANN401
    return user(PRACTITIONER_CHAT, "Практик")


async def test_queue_paid_next_done_moves_the_queue_and_tells_everyone(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna, boris, carl = user(1001, "Анна", "Петрова"), user(1002, "Борис"), user(1003, "Карл")
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    await carl.ask("срочно, муж ушёл")
    practitioner = her(user)
    practitioner.replies()  # the emergency alert

    board = await practitioner.ask("/queue")
    assert "Очередь: 3 открытых" in board
    assert board.index("🚨") < board.index("Анна") < board.index("Борис")
    assert "Карл" in board and "ждёт оплаты" in board
    assert "1. №" in board and "Анна Петрова" in board and "не оплачено" in board

    anna_request, boris_request, carl_request = await requests_of(tg_app)
    paid = await practitioner.ask(f"/paid {anna_request.id}")
    assert f"№{anna_request.id}" in paid and "оплачена" in paid
    told = "\n".join(anna.replies())
    assert "Оплата по заявке" in told and "получена" in told and "место в очереди: 1" in told

    taken = await practitioner.ask("/next")
    assert f"№{anna_request.id}" in taken and "Что меня ждёт в работе?" in taken
    assert "взялась за вашу заявку" in "\n".join(anna.replies())

    done = await practitioner.ask(f"/done {anna_request.id} https://youtu.be/reading-1")
    assert "выполнена" in done
    assert "https://youtu.be/reading-1" in "\n".join(anna.replies())
    [anna_request] = [r for r in await requests_of(tg_app) if r.id == anna_request.id]
    assert anna_request.stage == "done" and anna_request.result_link == "https://youtu.be/reading-1"
    again = await anna.ask("где мой расклад?")  # asked after delivery: the result and its link again
    assert "Готовые результаты" in again and "https://youtu.be/reading-1" in again and "готово 24 ноября" in again

    board = await practitioner.ask("/queue planned")
    assert "Анна" not in board and "1. №" in board and "Борис" in board
    # Boris moved up: the position push tells him before he asks.
    boris.replies()
    await tg_app.state.pushes.sweep()
    await tg_app.state.relay.drain()
    assert any("1" in text and "очеред" in text for text in boris.replies())
    status = await boris.ask("где мой расклад?")
    assert "Место в очереди: 1" in status


async def test_an_emergency_paid_shows_the_time_left_to_the_promise(tg_app: FastAPI, user, clock) -> None:  # noqa: ANN001
    carl = user(1003, "Карл")
    await carl.ask("SOS, срочно нужен расклад")
    practitioner = her(user)
    practitioner.replies()
    [request] = await requests_of(tg_app)
    await practitioner.ask(f"/paid {request.id}")
    assert "получена" in "\n".join(carl.replies())
    clock.advance(hours=5)
    board = await practitioner.ask("/queue")
    assert "осталось 19 ч" in board
    clock.advance(hours=20)
    assert "срок прошёл" in await practitioner.ask("/queue")


async def test_reply_and_history_reach_the_client_on_their_channel(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [request] = await requests_of(tg_app)
    practitioner = her(user)
    sent = await practitioner.ask(f"/reply {request.id} Добрый день! Запись будет в пятницу.")
    assert "Отправлено клиенту Анна" in sent
    assert "Добрый день! Запись будет в пятницу." in "\n".join(anna.replies())
    history = await practitioner.ask("/history Анна")
    assert "Стоит ли переезжать весной?" in history and "← " in history and "→ " in history


async def test_queue_pages_on_a_phone_screen(tg_app: FastAPI, tg_http: httpx.AsyncClient, user) -> None:  # noqa: ANN001
    for i in range(14):
        client = ChatClient(tg_http, tg_app, f"Клиент{i}")
        await client.ask("Здравствуйте")
        await client.ask("Мне только один вопрос")
        await client.ask("Да")
        await client.ask(f"Вопрос номер {i}?")
    practitioner = her(user)
    first = await practitioner.ask("/queue")
    assert "стр. 1/2" in first and "Клиент0" in first and "Клиент13" not in first
    shown = practitioner.api.sent(PRACTITIONER_CHAT)[-1]
    [[button]] = shown["reply_markup"]["inline_keyboard"]
    assert button["callback_data"] == "/queue 2"
    second = await practitioner.press("/queue 2")
    assert "стр. 2/2" in second and "Клиент13" in second and "Клиент0" not in second


async def test_every_command_error_says_what_was_expected(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna, anya = user(1001, "Анна"), user(1004, "Анюта")
    await book_planned_reading(anna)
    await anya.ask("Здравствуйте")
    [request] = await requests_of(tg_app)
    practitioner = her(user)
    expectations = {
        "/paid": "Нужен номер заявки",
        "/paid abc": "не номер заявки",
        "/paid 999": "Заявки №999 нет",
        f"/done {request.id} not-a-link": "не похоже на ссылку",
        f"/reply {request.id}": "Нет текста ответа",
        "/reply @nobody привет": "не найден",
        "/history Ан": "подходит нескольким клиентам",
        "/queue astrology": "Не знаю услугу «astrology»",
        "/queue 7": "Страницы 7 нет",
        "/frobnicate": "Не знаю команды /frobnicate",
        "как дела?": "рабочий чат",
    }
    for command, expected in expectations.items():
        answer = await practitioner.ask(command)
        assert expected in answer, (command, answer)
    await practitioner.ask(f"/done {request.id}")
    assert "уже выполнена" in await practitioner.ask(f"/done {request.id}")
    assert "уже в статусе «готово»" in await practitioner.ask(f"/paid {request.id}")
    [request] = await requests_of(tg_app)
    assert request.payment_state == "unpaid"  # a refused /paid changed nothing
    help_text = await practitioner.ask("/help")
    assert "/queue" in help_text and "/restrict" in help_text and "/reschedule" in help_text


async def test_a_client_typing_her_commands_gets_the_client_experience(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [request] = await requests_of(tg_app)
    answer = await anna.ask(f"/paid {request.id}")
    assert "оплачена" not in answer
    [request] = await requests_of(tg_app)
    assert request.payment_state == "unpaid" and request.stage == "submitted"
    async with tg_app.state.desk.uow() as uow:
        [attempt] = await uow.practice.refused_attempts()
    assert attempt.address == "1001" and attempt.text == f"/paid {request.id}" and not attempt.allowed
    practitioner = her(user)
    practitioner.replies()
    assert all("/paid" not in text for text in practitioner.replies())


async def test_the_page_runs_the_same_commands(tg_app: FastAPI, tg_http: httpx.AsyncClient, user) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    [request] = await requests_of(tg_app)
    await log_in(tg_http)
    response = await tg_http.post("/desk/api/command", json={"text": f"/paid {request.id}"})
    assert response.status_code == 200
    body = response.json()
    assert not body["error"] and "оплачена" in body["replies"][0]["text"]
    await tg_app.state.relay.drain()
    assert "получена" in "\n".join(anna.replies())
    bad = (await tg_http.post("/desk/api/command", json={"text": "/paid"})).json()
    assert bad["error"] and "Нужен номер заявки" in bad["replies"][0]["text"]
    assert (await tg_http.post("/desk/api/command", json={"text": ""})).status_code == 422
    async with tg_app.state.desk.uow() as uow:
        logged = list(await uow.session.scalars(select(CommandLog).order_by(CommandLog.id)))
    assert [(row.channel, row.allowed) for row in logged] == [("web", True), ("web", True)]
