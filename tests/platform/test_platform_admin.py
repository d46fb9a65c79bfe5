"""The platform admin's page (/platform, handlers/platform_admin.py): load per practitioner for the
admin login only, nothing of the clients' messages; the two logins never open each other's pages."""

import re
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from handlers.dashboard.auth import SESSION_COOKIE
from handlers.platform_admin import PLATFORM_COOKIE
from storage.models import Client, Message, OutboxItem, Request
from tests.e2e.dashboard_login import csrf_of
from tests.e2e.test_telegram import book_planned_reading
from tests.fakes.telegram_api import TelegramBotAPI
from tests.platform.test_two_practitioners import Writer, bella, http, log_in_as, two  # noqa: F401 (fixtures)

ADMIN_PASSWORD = "platform-admin-Password"
MEASURES = ("clients", "open_requests", "messages_today", "outbox_backlog")


@pytest.fixture(autouse=True)
def admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_ADMIN_PASSWORD", ADMIN_PASSWORD)  # before the app is built


async def admin_log_in(http: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> httpx.Response:  # noqa: F811
    form = await http.get("/platform/login")
    assert form.status_code == 200
    keep(http, form)
    response = await http.post("/platform/login", data={"csrf_token": csrf_of(form.text), "password": password})
    keep(http, response)
    return response


def keep(http: httpx.AsyncClient, response: httpx.Response) -> None:  # noqa: F811
    """The cookie is Secure (an https base URL), which this plain transport never sends: kept by
    hand, as a plain cookie sent to every path (so /desk gets it too)."""
    if PLATFORM_COOKIE in response.headers.get("set-cookie", ""):
        value = response.cookies[PLATFORM_COOKIE]
        http.cookies.delete(PLATFORM_COOKIE)
        http.cookies.set(PLATFORM_COOKIE, value)


def shown(page: str, slug: str) -> dict[str, int]:
    row = re.search(rf'<tr data-practitioner="{slug}">(.*?)</tr>', page, re.S)
    assert row is not None, slug
    return {m: int(re.search(rf'data-measure="{m}">(\d+)<', row[1])[1]) for m in MEASURES}  # type: ignore[index]


async def counted(app: FastAPI, practitioner_id: int) -> dict[str, int]:
    since = app.state.desk.clock() - timedelta(hours=24)
    queries = {
        "clients": select(func.count()).select_from(Client).where(Client.practitioner_id == practitioner_id),
        "open_requests": select(func.count())
        .select_from(Request)
        .where(Request.practitioner_id == practitioner_id, Request.stage.in_(("submitted", "queued", "in_work"))),
        "messages_today": select(func.count())
        .select_from(Message)
        .where(Message.practitioner_id == practitioner_id, Message.created_at >= since),
        "outbox_backlog": select(func.count())
        .select_from(OutboxItem)
        .where(OutboxItem.practitioner_id == practitioner_id, OutboxItem.state.in_(("pending", "sending"))),
    }
    async with app.state.desk.sessions() as session:
        return {name: int(await session.scalar(query)) for name, query in queries.items()}


async def test_the_admin_sees_load_per_practitioner_and_nothing_of_the_clients(
    two: FastAPI,  # noqa: F811
    telegram_api: TelegramBotAPI,
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    anna = Writer(two, telegram_api, http, 1001, "Анна", to_b=False)
    boris = Writer(two, telegram_api, http, 2002, "Борис", to_b=True)
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    await boris.ask("Ещё один вопрос про переезд")
    b = (await bella(two)).practitioner_id

    refused = await http.get("/platform")
    assert refused.status_code == 303 and refused.headers["location"] == "/platform/login"
    assert (await admin_log_in(http, "wrong")).status_code == 401
    assert (await http.get("/platform")).status_code == 303

    assert (await admin_log_in(http)).status_code == 303
    page = await http.get("/platform")
    assert page.status_code == 200
    a_counts, b_counts = await counted(two, 1), await counted(two, b)
    assert shown(page.text, "default") == a_counts and shown(page.text, "bella") == b_counts
    assert a_counts["clients"] == b_counts["clients"] == 1 and b_counts["open_requests"] == 1
    assert a_counts["messages_today"] > 0 and b_counts["messages_today"] > 0
    assert page.text.count('data-measure="last_activity">—<') == 0  # both have written
    for private in ("Анна", "Борис", "Что меня ждёт в работе?", "переезд", "1001", "2002"):
        assert private not in page.text, private

    # The admin's session opens no /desk data, even sent as a practitioner's cookie.
    admin_token = http.cookies[PLATFORM_COOKIE]
    http.cookies.set(SESSION_COOKIE, admin_token)
    assert (await http.get("/desk/api/state")).status_code == 401
    assert (await http.get("/desk")).status_code == 303


async def test_a_practitioners_session_cannot_open_the_platform_page(
    two: FastAPI,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    assert await log_in_as(http, "bella", "bella-pass") == 303
    assert (await http.get("/desk/api/state")).status_code == 200
    assert (await http.get("/platform")).status_code == 303
    her_token = next(c.value for c in http.cookies.jar if c.name == SESSION_COOKIE)
    http.cookies.set(PLATFORM_COOKIE, her_token)  # her token, as the admin's cookie
    assert (await http.get("/platform")).status_code == 303
    assert (await http.post("/platform/logout", data={"csrf_token": "x"})).status_code == 303
    http.cookies.clear()
    assert await log_in_as(http, "", "test-dashboard-password") == 303  # #1 too
    assert (await http.get("/platform")).status_code == 303
