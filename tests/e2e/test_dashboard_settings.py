"""Dashboard sessions in the database and her settings pages, over HTTP against the real app.

Sessions: one survives the app being built again on the same database (a restart, another
worker), logout deletes it, an expired one is refused. Settings: what she saves on a page is what
the next web-chat conversation uses, on another worker too; a refused form saves nothing; without
a login or a CSRF token nothing is saved at all.
"""

import hashlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.settings import Settings
from handlers.dashboard.auth import SESSION_AGE, SESSION_COOKIE
from main import build
from storage.models import CommandLog, DashboardSession, Pause, PracticeSettings
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import csrf_of, log_in
from tests.e2e.test_journey import book_planned_reading
from tests.factories import FakeClock

BASE = "http://127.0.0.1:8000"
ERROR = re.compile(r'class="set-error"[^>]*>([^<]*)<')
FLASH = re.compile(r'class="flash[^"]*"[^>]*>([^<]*)<')

SETTINGS_POSTS = (
    ("/desk/settings/hours", {"days": ["1"], "start": "10:00", "end": "11:00"}),
    (
        "/desk/settings/calls",
        {
            "days": ["1"],
            "times": "11:00",
            "every_minutes": "60",
            "minutes": "60",
            "days_ahead_min": "1",
            "days_ahead_max": "2",
            "free_reschedule_hours": "1",
            "offer": "3",
        },
    ),
    ("/desk/settings/texts", {"discount:ru": "Подделка"}),
    (
        "/desk/settings/services/planned_reading",
        {"name_ru": "Подделка", "name_en": "Forged", "wait_min_days": "1", "wait_max_days": "2"},
    ),
    ("/desk/settings/pause", {"action": "start", "note": "подделка"}),
)


@pytest.fixture
async def worker_b(settings: Settings, clock: FakeClock) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A second app on the same database at the same time: another worker process, as far as
    the database and the caches are concerned."""
    app = build(settings, clock=clock, run_background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
            yield app, http


async def count(app: FastAPI, column) -> int:  # noqa: ANN001
    async with app.state.desk.uow() as uow:
        return int(await uow.session.scalar(select(func.count(column))) or 0)


async def saved_versions(app: FastAPI) -> int:
    async with app.state.desk.uow() as uow:
        return int(await uow.session.scalar(select(func.coalesce(func.max(PracticeSettings.version), 0))) or 0)


async def form_post(http: httpx.AsyncClient, page: str, url: str, data: dict) -> httpx.Response:
    """Posts a settings form the way the page does: with the session's CSRF token."""
    token = csrf_of((await http.get(page)).text)
    return await http.post(url, data={"csrf_token": token, **data})


# --- sessions ------------------------------------------------------------------------------


async def test_a_session_survives_a_rebuild_on_the_same_database_and_logout_kills_it(
    settings: Settings, clock: FakeClock
) -> None:
    first = build(settings, clock=clock, run_background=False)
    async with first.router.lifespan_context(first):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE) as http:
            token = await log_in(http)
            cookie = http.cookies[SESSION_COOKIE]
            async with first.state.desk.uow() as uow:
                [row] = list(await uow.session.scalars(select(DashboardSession)))
            # Only the token's hash is stored: a copy of the database opens no dashboard.
            assert row.token_hash == hashlib.sha256(cookie.encode()).hexdigest() and cookie not in row.token_hash
            assert row.practitioner_id == first.state.practice.practitioner_id
            assert row.expires_at == clock() + SESSION_AGE

    second = build(settings, clock=clock, run_background=False)  # a restart: nothing kept in memory
    async with second.router.lifespan_context(second):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url=BASE) as http:
            http.cookies.set(SESSION_COOKIE, cookie)
            assert (await http.get("/desk")).status_code == 200
            assert csrf_of((await http.get("/desk/settings")).text) == token  # the same session
            assert (await http.get("/desk/api/state")).status_code == 200

            out = await http.post("/logout", data={"csrf_token": token})
            assert out.status_code == 303 and out.headers["location"] == "/login"
            assert await count(second, DashboardSession.id) == 0  # the row is gone, not just the cookie
            http.cookies.clear()
            http.cookies.set(SESSION_COOKIE, cookie)  # the old cookie, replayed
            assert (await http.get("/desk/api/state")).status_code == 401
            assert (await http.get("/desk")).status_code == 303


async def test_two_workers_share_sessions_and_the_flash_of_an_action(
    http: httpx.AsyncClient, app: FastAPI, worker_b: tuple[FastAPI, httpx.AsyncClient]
) -> None:
    _, other = worker_b
    await log_in(http)
    other.cookies.set(SESSION_COOKIE, http.cookies[SESSION_COOKIE])
    # Saved on one worker; the redirect's page, shown by the other, carries the flash once.
    saved = await form_post(
        http, "/desk/settings", "/desk/settings/hours", {"days": ["1", "2", "3"], "start": "09:00", "end": "18:00"}
    )
    assert saved.status_code == 303
    shown = await other.get("/desk/settings")
    assert FLASH.findall(shown.text) == ["Сохранено. Со следующего сообщения бот работает по новым настройкам."]
    assert FLASH.findall((await http.get("/desk/settings")).text) == []  # shown once


async def test_an_expired_session_is_refused(http: httpx.AsyncClient, app: FastAPI, clock: FakeClock) -> None:
    await log_in(http)
    clock.advance(seconds=SESSION_AGE.total_seconds() - 60)
    assert (await http.get("/desk/api/state")).status_code == 200
    async with app.state.desk.uow() as uow:
        [row] = list(await uow.session.scalars(select(DashboardSession)))
    assert row.last_seen_at == clock() and row.expires_at == row.created_at + SESSION_AGE  # no sliding expiry
    clock.advance(minutes=2)
    assert (await http.get("/desk/api/state")).status_code == 401
    assert (await http.get("/desk/settings")).status_code == 303
    await log_in(http)  # a new login clears the expired row away
    assert await count(app, DashboardSession.id) == 1


# --- settings reach the conversation ---------------------------------------------------------


async def test_changed_hours_and_off_hours_text_reach_the_next_client(http: httpx.AsyncClient, app: FastAPI) -> None:
    # 12:00 on a Tuesday in Moscow: inside the file's hours, so no off-hours reply.
    assert "нерабочее время" not in await ChatClient(http, app, "Анна").ask("Здравствуйте")
    await log_in(http)
    saved = await form_post(
        http,
        "/desk/settings",
        "/desk/settings/hours",
        {"days": ["1", "2", "3", "4", "5"], "start": "14:00", "end": "20:00"},
    )
    assert saved.status_code == 303
    page = (await http.get("/desk/settings")).text
    assert 'value="14:00"' in page and "ваши настройки" in page

    reply = await ChatClient(http, app, "Борис").ask("Здравствуйте")
    assert "нерабочее время (часы работы: 14:00–20:00)" in reply and "24 ноября, 14:00" in reply

    own = "Я отвечаю с {start} до {end}; ваше сообщение увижу {next_at}."
    assert (
        await form_post(http, "/desk/settings/texts", "/desk/settings/texts", {"offhours:ru": own})
    ).status_code == 303
    reply = await ChatClient(http, app, "Вера").ask("Здравствуйте")
    assert "Я отвечаю с 14:00 до 20:00; ваше сообщение увижу 24 ноября, 14:00 (Москва)." in reply
    assert "нерабочее время" not in reply
    english = await ChatClient(http, app, "Mary").ask("Hello, I would like a reading")
    assert "outside working hours now (hours: 14:00–20:00)" in english  # English left empty: the catalog's


async def test_changed_terms_and_wait_reach_the_next_booking(http: httpx.AsyncClient, app: FastAPI) -> None:
    await log_in(http)
    services = (await http.get("/desk/settings/services")).text
    assert "Плановый расклад (видеозапись)" in services and 'value="4"' in services and 'value="14"' in services
    assert 'name="price_card" type="text" inputmode="decimal" value="3000"' in services  # 300000 kopecks
    saved = await form_post(
        http,
        "/desk/settings/services",
        "/desk/settings/services/planned_reading",
        {
            "name_ru": "Расклад на видео",
            "name_en": "Video reading",
            "terms_ru": "Новые условия: ответ придёт видео, от 10 до 20 дней.",
            "terms_en": "New terms.",
            "wait_min_days": "10",
            "wait_max_days": "20",
            "price_card": "3 500,50",
            "price_currency": "rub",
            "price_stars": "1700",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("#service-planned_reading")

    anna = ChatClient(http, app, "Анна")
    await anna.say("меню")
    [menu] = await anna.replies()
    assert "1. Расклад на видео" in [button["label"] for button in menu["buttons"]]
    terms = await anna.ask("Хочу плановый расклад")
    assert "Новые условия: ответ придёт видео, от 10 до 20 дней." in terms and "4 дней до 2 недель" not in terms
    assert "Расклад на видео — условия" in terms
    assert "готово" in await anna.ask("Да, согласна")
    await anna.ask("Что меня ждёт в работе?")
    confirmation = await anna.ask("готово")
    assert "Ориентировочно: 10–20 дней после оплаты" in confirmation  # her new range, counted from payment

    async with app.state.desk.uow() as uow:
        [row] = list(await uow.session.scalars(select(PracticeSettings)))
    service = row.document["services"]["planned_reading"]
    assert service["price_card"] == "3500.50" and service["price_currency"] == "RUB"
    assert 'value="3500.5"' in (await http.get("/desk/settings/services")).text
    planned = app.state.practice.catalogue.get("planned_reading")
    assert (planned.price_amount, planned.price_currency, planned.price_stars) == (350050, "RUB", 1700)

    # Back to the file's values with one button.
    reset = await form_post(http, "/desk/settings/services", "/desk/settings/services/planned_reading", {"reset": "1"})
    assert reset.status_code == 303
    again = await ChatClient(http, app, "Борис").ask("Хочу плановый расклад")
    assert "4 дней до 2 недель" in again


async def test_a_save_on_one_worker_reaches_a_conversation_on_another(
    http: httpx.AsyncClient, app: FastAPI, worker_b: tuple[FastAPI, httpx.AsyncClient]
) -> None:
    other_app, other = worker_b
    # Worker B has answered before the save: its cache holds the file's settings.
    assert "Скидок не предусмотрено" not in await ChatClient(other, other_app, "Анна").ask("а скидка есть?")
    await log_in(http)
    own = "Скидок не предусмотрено, зато есть рассрочка — спросите практика."
    assert (
        await form_post(http, "/desk/settings/texts", "/desk/settings/texts", {"discount:ru": own})
    ).status_code == 303
    assert own in await ChatClient(other, other_app, "Борис").ask("а скидка есть?")


# --- refused input -------------------------------------------------------------------------


async def test_invalid_input_comes_back_with_field_errors_and_nothing_is_saved(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    await log_in(http)
    hours = await form_post(http, "/desk/settings", "/desk/settings/hours", {"days": [], "start": "18:00", "end": "9"})
    assert hours.status_code == 422
    assert ERROR.findall(hours.text) == ["Отметьте хотя бы один день.", "Время в виде ЧЧ:ММ, например 09:30."]
    assert 'value="18:00"' in hours.text and 'aria-invalid="true"' in hours.text  # what she typed stays

    calls = await form_post(
        http,
        "/desk/settings",
        "/desk/settings/calls",
        {
            "days": ["1"],
            "times": "11:00, 25:00",
            "every_minutes": "60",
            "minutes": "5",
            "days_ahead_min": "9",
            "days_ahead_max": "3",
            "free_reschedule_hours": "сутки",
            "offer": "6",
        },
    )
    assert calls.status_code == 422
    assert ERROR.findall(calls.text) == [
        "Время в виде ЧЧ:ММ, например 09:30.",
        "Не меньше 10.",
        "«До» не может быть меньше «от».",
        "Нужно число.",
    ]

    service = await form_post(
        http,
        "/desk/settings/services",
        "/desk/settings/services/one_question",
        {
            "name_ru": "",
            "name_en": "One",
            "wait_min_days": "5",
            "wait_max_days": "2",
            "price_card": "100",
            "price_currency": "",
            "price_stars": "-1",
        },
    )
    assert service.status_code == 422
    assert ERROR.findall(service.text) == [
        "Заполните это поле.",
        "«До» не может быть меньше «от».",
        "Укажите валюту цены картой.",
        "Не меньше 0.",
    ]

    texts = await form_post(
        http,
        "/desk/settings/texts",
        "/desk/settings/texts",
        {
            "terms-intro:ru": "Условия: {service}",
            "offhours:ru": "Закрыто до {next_at.year}",
            "discount:en": "No {",
        },
    )
    assert texts.status_code == 422
    assert ERROR.findall(texts.text) == [
        "Текст должен содержать {terms}.",
        "Непарная фигурная скобка: подстановки пишутся так — {start}.",
        "Такой подстановки нет: {next_at.year}. Можно: {end}, {next_at}, {start}.",
    ]
    assert await count(app, PracticeSettings.id) == 0
    assert "нерабочее время" not in await ChatClient(http, app, "Анна").ask("Здравствуйте")
    assert (await form_post(http, "/desk/settings/services", "/desk/settings/services/nope", {})).status_code == 404


async def test_without_a_login_or_a_csrf_token_nothing_is_saved(http: httpx.AsyncClient, app: FastAPI) -> None:
    for path in ("/desk/settings", "/desk/settings/pause", "/desk/settings/texts", "/desk/settings/services"):
        response = await http.get(path)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={path}"
    for url, data in SETTINGS_POSTS:
        response = await http.post(url, data={**data, "csrf_token": "whatever"})
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), url

    token = await log_in(http)
    for url, data in SETTINGS_POSTS:  # a forged post: a cross-site page knows no token
        assert (await http.post(url, data=data)).status_code == 403, url
        assert (await http.post(url, data={**data, "csrf_token": "forged" + token[6:]})).status_code == 403, url
    assert await saved_versions(app) == 0
    assert await count(app, Pause.id) == 0 and await count(app, CommandLog.id) == 0


# --- a pause from the page is /pause ------------------------------------------------------------


async def test_a_pause_from_the_page_runs_the_pause_command(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    await book_planned_reading(anna)
    await log_in(http)
    page = (await http.get("/desk/settings/pause")).text
    assert "Паузы нет" in page and 'id="pause-start-form"' in page

    # A note that looks like a date stays a note: the form's values never go through the parser.
    started = await form_post(
        http,
        "/desk/settings/pause",
        "/desk/settings/pause",
        {"action": "start", "until": "2026-12-05T18:00", "note": "завтра в 10 напишу"},
    )
    assert started.status_code == 303
    shown = await http.get("/desk/settings/pause")
    assert "Перерыв до 5 декабря, 18:00" in "".join(FLASH.findall(shown.text)) and "известила: 1" in shown.text
    assert "Пауза с 24 нояб. 2026, 12:00" in shown.text and "завтра в 10 напишу" in shown.text
    await app.state.relay.drain()
    [notice] = await anna.replies()
    assert "перерыв до 5 декабря, 18:00" in notice["text"] and "завтра в 10 напишу" in notice["text"]
    assert "перерыв до 5 декабря" in await anna.ask("где мой расклад?")  # the ETA moved, as with /pause

    ended = await form_post(http, "/desk/settings/pause", "/desk/settings/pause", {"action": "end"})
    assert ended.status_code == 303
    await app.state.relay.drain()
    assert "вернулась к работе" in "\n".join(m["text"] for m in await anna.replies())
    async with app.state.desk.uow() as uow:
        logged = [row.text for row in await uow.session.scalars(select(CommandLog).order_by(CommandLog.id))]
        [pause] = list(await uow.session.scalars(select(Pause)))
    assert logged == ["/pause until 05.12.2026 18:00 завтра в 10 напишу", "/resume"]
    assert pause.note == "завтра в 10 напишу" and pause.ended_at is not None

    # A time in the past is refused by the command's own rule, shown as its answer.
    past = await form_post(
        http, "/desk/settings/pause", "/desk/settings/pause", {"action": "start", "until": "2026-11-01T10:00"}
    )
    assert past.status_code == 303
    assert "прошлом" in "".join(FLASH.findall((await http.get("/desk/settings/pause")).text))
    bad = await form_post(http, "/desk/settings/pause", "/desk/settings/pause", {"action": "start", "until": "скоро"})
    assert bad.status_code == 422 and ERROR.findall(bad.text) == ["Дата и время, например 24.12.2026 18:00."]
