"""The foundation's journey through HTTP, as a newcomer would click it in the web chat."""

import httpx
from fastapi import FastAPI

from bot.settings import Settings
from main import build
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import log_in
from tests.factories import FakeClock


async def book_planned_reading(anna: ChatClient) -> str:
    greeting = await anna.ask("Здравствуйте!")
    assert anna.name in greeting
    terms = await anna.ask("Хочу плановый расклад")
    assert "условия" in terms.lower() and "4 дней до 2 недель" in terms
    prompt = await anna.ask("Да, согласна")
    assert "готово" in prompt
    for i, question in enumerate(
        ["Что меня ждёт в работе?", "Как сложатся отношения с мамой?", "Стоит ли переезжать весной?"], start=1
    ):
        assert f"Вопросов в списке: {i}" in await anna.ask(question)
    return await anna.ask("готово")


async def test_planned_reading_then_emergency_then_status(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    confirmation = await book_planned_reading(anna)
    assert "запрос принят" in confirmation
    assert "Вопросов: 3" in confirmation
    assert "Место в очереди: 1" in confirmation
    assert "Ориентировочно: 4–14 дней после оплаты" in confirmation  # unpaid: the wait starts at payment
    assert "1. «Что меня ждёт в работе?»" in confirmation and "3. «Стоит ли переезжать весной?»" in confirmation

    boris = ChatClient(http, app, "Борис")
    ack = await boris.ask("СРОЧНО!!! помогите")
    assert "экстренный запрос" in ack and "24 часов с момента оплаты" in ack

    await log_in(http)
    state = (await http.get("/desk/api/state")).json()
    assert state["alerts"][0]["kind"] == "emergency"
    assert state["alerts"][0]["client_name"] == "Борис"
    assert "помогите" in state["alerts"][0]["text"]
    top = state["queue"][0]
    assert top["is_emergency"] and top["client_name"] == "Борис"
    reading = next(row for row in state["queue"] if row["service"] == "planned_reading")
    assert reading["client_name"] == "Анна" and reading["questions"] == 3 and reading["position"] == 1

    status = await anna.ask("где мой расклад?")
    assert "Место в очереди: 1" in status and "Плановый расклад" in status


async def test_second_client_is_second_in_queue(http: httpx.AsyncClient, app: FastAPI) -> None:
    await book_planned_reading(ChatClient(http, app, "Анна"))
    vera = ChatClient(http, app, "Вера")
    assert "Место в очереди: 2" in await book_planned_reading(vera)
    assert "Место в очереди: 2" in await vera.ask("/status")


async def test_restart_loses_nothing(settings: Settings, clock: FakeClock) -> None:
    first = build(settings, clock=clock, run_background=False)
    async with first.router.lifespan_context(first):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://t") as http:
            anna = ChatClient(http, first, "Анна")
            await book_planned_reading(anna)
            history = (await http.get("/chat/api/messages", params={"client_key": anna.key})).json()["messages"]

    second = build(settings, clock=clock, run_background=False)
    async with second.router.lifespan_context(second):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://t") as http:
            again = (await http.get("/chat/api/messages", params={"client_key": anna.key})).json()["messages"]
            assert again == history
            anna.http, anna.app = http, second
            assert "Место в очереди: 1" in await anna.ask("где мой расклад?")


async def test_duplicate_delivery_has_one_effect(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    for _ in range(3):
        await anna.say("Здравствуйте", message_id="same-id")
    messages = (await http.get("/chat/api/messages", params={"client_key": anna.key})).json()["messages"]
    assert [m["direction"] for m in messages] == ["in", "out"]


async def test_background_relay_delivers_without_help(settings: Settings, clock: FakeClock) -> None:
    import asyncio

    application = build(settings, clock=clock, run_background=True)
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as http:
            await http.post(
                "/chat/api/messages",
                json={"client_key": "k", "name": "Анна", "text": "привет", "message_id": "x1"},
            )
            for _ in range(300):  # background work: a generous cap, never a timing claim
                messages = (await http.get("/chat/api/messages", params={"client_key": "k"})).json()["messages"]
                if any(m["direction"] == "out" for m in messages):
                    break
                await asyncio.sleep(0.05)
            assert any(m["direction"] == "out" for m in messages)
