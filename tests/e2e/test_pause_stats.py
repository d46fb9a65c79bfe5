"""/pause, /resume and /stats end to end: typed in her Telegram chat and on her page, with what the
clients in the queue, new clients and she herself receive."""


import httpx
from fastapi import FastAPI

from storage.models import Pause
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import log_in
from tests.e2e.test_practice_clients import rows
from tests.e2e.test_practice_commands import her, requests_of
from tests.e2e.test_telegram import (
    book_planned_reading,
)
from tests.factories import FakeClock


async def test_a_pause_moves_etas_tells_the_queue_once_and_new_clients_see_it(  # noqa: ANN001
    tg_app: FastAPI,
    user,
) -> None:
    anna, boris, carl = user(1001, "Анна"), user(1002, "Борис"), user(1003, "Карл")
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    before = await anna.ask("где мой расклад?")
    practitioner = her(user)

    answer = await practitioner.ask("/pause до 05.12 уехала на семинар")
    assert "Перерыв до 5 декабря, 23:59" in answer and "известила: 2" in answer
    for client in (anna, boris):
        [notice] = client.replies()
        assert "перерыв до 5 декабря" in notice and "уехала на семинар" in notice
    after = await anna.ask("где мой расклад?")
    # Unpaid, the wait is counted in days from payment; the pause (to 5 December) lengthens it.
    assert "Ориентировочно: 4–14 дней после оплаты" in before
    assert "Ориентировочно: 16–26 дней после оплаты" in after and "перерыв до 5 декабря" in after

    greeting = await carl.ask("Здравствуйте")
    assert "Сейчас у практика перерыв до 5 декабря" in greeting and "уехала на семинар" in greeting

    assert "Перерыв уже идёт" in await practitioner.ask("/pause 3d")
    assert anna.replies() == [] and boris.replies() == []  # told once per pause

    over = await practitioner.ask("/resume")
    assert "окончен" in over and "известила о перерыве: 2" in over
    assert "вернулась к работе" in "\n".join(anna.replies())
    assert "вернулась к работе" in "\n".join(boris.replies())
    assert carl.replies() == []  # he was never told about the pause
    assert "Перерыва сейчас нет" in await practitioner.ask("/resume")
    [pause] = await rows(tg_app, Pause)
    assert pause.ended_at is not None and pause.note == "уехала на семинар"
    assert "перерыв" not in await anna.ask("где мой расклад?")


async def test_an_open_pause_lasts_until_resume_and_errors_say_what_was_expected(  # noqa: ANN001
    tg_app: FastAPI,
    user,
    clock: FakeClock,
) -> None:
    anna = user(1001, "Анна")
    await book_planned_reading(anna)
    practitioner = her(user)
    for command, expected in {
        "/pause до 01.01.2020": "уже в прошлом",
        "/pause 2020-01-01": "уже в прошлом",
        "/pause до": "Не понимаю срок",
        "/resume": "Перерыва сейчас нет",
    }.items():
        assert expected in await practitioner.ask(command), command
    assert await rows(tg_app, Pause) == [] and anna.replies() == []

    assert "Перерыв начат (до /resume)" in await practitioner.ask("/pause")
    assert "Практик берёт перерыв." in "\n".join(anna.replies())
    clock.advance(days=40)  # no end given: still on
    assert "до /resume" in await practitioner.ask("/pause")
    await practitioner.ask("/resume")
    assert "вернулась" in "\n".join(anna.replies())
    # A new pause is a new notice for the same client.
    await practitioner.ask("/pause 2d")
    assert "Практик берёт перерыв до" in "\n".join(anna.replies())


async def test_stats_counts_services_waits_promises_and_load(  # noqa: ANN001
    tg_app: FastAPI,
    tg_http: httpx.AsyncClient,
    user,
    clock: FakeClock,
) -> None:
    practitioner = her(user)
    assert "Заявок за период нет" in await practitioner.ask("/stats")
    anna, boris, carl = user(1001, "Анна"), user(1002, "Борис"), user(1003, "Карл")
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    await carl.ask("срочно, муж ушёл")
    anna_request, boris_request, carl_request = await requests_of(tg_app)
    for request in (anna_request, boris_request, carl_request):
        await practitioner.ask(f"/paid {request.id}")
    clock.advance(days=2)
    await practitioner.ask(f"/done {anna_request.id} https://youtu.be/a")
    await practitioner.ask(f"/done {carl_request.id} https://youtu.be/c")  # 48 h: the 24 h promise broken
    clock.advance(days=4)
    await practitioner.ask(f"/done {boris_request.id} https://youtu.be/b")
    practitioner.replies()

    stats = await practitioner.ask("/stats")
    assert "📊 За 30 дн." in stats
    assert "Плановый расклад (видеозапись): 2 заяв., готово 2 · ждали медиана 4 дн., p90 6 дн." in stats
    assert "Экстренный расклад / созвон: 1 заяв., готово 1" in stats
    assert "Экстренный расклад / созвон (≤ 24 ч): в срок 0 из 1" in stats
    assert "Плановый расклад (видеозапись) (≤ 2 нед.): в срок 2 из 2" in stats
    # Every inbound message was written on Tuesday at 12:00 in Moscow.
    assert "Пик: 12:00 (" in stats and "Пн 0 · Вт " in stats and "Ср 0" in stats
    assert len(stats) < 1000  # one phone screen

    recent = await practitioner.ask("/stats 3d")  # only Boris's reading was finished in it
    assert "Плановый расклад (видеозапись): 0 заяв., готово 1 · ждали медиана 6 дн." in recent
    assert "Входящих сообщений за период нет" in recent
    for bad in ("/stats abc", "/stats 0d", "/stats 999d"):
        assert "Не понимаю период" in await practitioner.ask(bad), bad

    await log_in(tg_http)
    body = (await tg_http.post("/desk/api/command", json={"text": "/stats 2w"})).json()
    assert not body["error"] and "📊 За 14 дн." in body["replies"][0]["text"]


async def test_the_page_pauses_and_a_web_chat_client_sees_it(tg_app: FastAPI, tg_http: httpx.AsyncClient) -> None:
    await log_in(tg_http)
    body = (await tg_http.post("/desk/api/command", json={"text": "/pause 3d"})).json()
    assert not body["error"] and "Перерыв до 27 ноября" in body["replies"][0]["text"]
    visitor = ChatClient(tg_http, tg_app, "Вера")
    assert "перерыв до 27 ноября" in await visitor.ask("Здравствуйте")
