"""The web dashboard over HTTP: nothing without a login, no forged form post, a login rate limit,
and her card actions running through the command shell to the client's channel."""

import logging
import re
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import BaseRoute

from bot.settings import Settings
from handlers.dashboard.auth import CSRF_HEADER, LOGIN_FAILURES, SESSION_COOKIE
from main import build
from storage.models import CommandLog, Request
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import PASSWORD, csrf_of, log_in
from tests.factories import FakeClock

PROTECTED = {
    ("GET", "/desk"),
    ("GET", "/desk/api/state"),
    ("POST", "/desk/api/command"),
    ("GET", "/desk/clients/{client_id}"),
    ("POST", "/desk/clients/{client_id}/act"),
    ("GET", "/desk/stats"),
    ("GET", "/desk/stats.csv"),
    ("POST", "/logout"),
}


async def emergency_client(http: httpx.AsyncClient, app: FastAPI, name: str = "Вера") -> tuple[ChatClient, Request]:
    client = ChatClient(http, app, name)
    assert "экстренный запрос" in await client.ask("SOS, срочно нужен расклад")
    async with app.state.desk.uow() as uow:
        [request] = list(await uow.session.scalars(select(Request).order_by(Request.id.desc()).limit(1)))
    return client, request


async def request_row(app: FastAPI, request_id: int) -> Request:
    async with app.state.desk.uow() as uow:
        found = await uow.requests.get(request_id)
        assert found is not None
        return found


async def command_log(app: FastAPI) -> list[CommandLog]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(CommandLog).order_by(CommandLog.id)))


def all_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every endpoint, looking into included routers (FastAPI may keep them wrapped)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from all_routes(inner.routes)


async def test_every_dashboard_route_and_action_is_refused_without_a_login(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    _, request = await emergency_client(http, app)
    routes = {
        (method, route.path)
        for route in all_routes(app.routes)
        if route.path.startswith("/desk") or route.path == "/logout"
        for method in route.methods
    }
    assert PROTECTED <= routes  # the list below is the app's own: a new route is checked too
    for method, path in sorted(routes):
        url = path.replace("{client_id}", str(request.client_id))
        form = {"action": "paid", "request_id": str(request.id), "text": "/paid 1"}
        response = await http.request(method, url, data=form if method == "POST" and "/api/" not in url else None,
                                      json={"text": f"/paid {request.id}"} if "/api/" in url else None)
        if "/api/" in url:
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login"), (method, path)
        assert "Вера" not in response.text, (method, path)
    assert (await request_row(app, request.id)).payment_state == "unpaid"
    assert await command_log(app) == []
    # The client's web chat stays public.
    assert (await http.get("/")).status_code == 200


async def test_a_form_post_without_or_with_a_wrong_csrf_token_is_refused(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    _, request = await emergency_client(http, app)
    token = await log_in(http)
    url = f"/desk/clients/{request.client_id}/act"
    paid = {"action": "paid", "request_id": str(request.id)}
    assert (await http.post(url, data=paid)).status_code == 403
    assert (await http.post(url, data={**paid, "csrf_token": "forged" + token[6:]})).status_code == 403
    assert (await http.post(url, data={**paid, "csrf_token": ""})).status_code == 403
    # The JSON API wants the token in its header.
    del http.headers[CSRF_HEADER]
    assert (await http.post("/desk/api/command", json={"text": f"/paid {request.id}"})).status_code == 403
    http.headers[CSRF_HEADER] = "wrong"
    assert (await http.post("/desk/api/command", json={"text": f"/paid {request.id}"})).status_code == 403
    # Logging out is a form post too: a forged one does not end the session.
    assert (await http.post("/logout", data={})).status_code == 403
    assert (await http.get("/desk")).status_code == 200
    assert (await request_row(app, request.id)).payment_state == "unpaid"
    assert await command_log(app) == []

    done = await http.post(url, data={**paid, "csrf_token": token})
    assert done.status_code == 303 and done.headers["location"].endswith("#actions")
    assert (await request_row(app, request.id)).payment_state == "paid"
    assert [row.text for row in await command_log(app)] == [f"/paid {request.id}"]


async def test_the_login_form_itself_needs_its_token(http: httpx.AsyncClient) -> None:
    assert (await http.post("/login", data={"password": PASSWORD})).status_code == 403
    assert (await http.get("/desk")).status_code == 303


async def test_login_attempts_are_rate_limited_per_address(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    token = csrf_of((await http.get("/login")).text)
    for _ in range(LOGIN_FAILURES):
        wrong = await http.post("/login", data={"csrf_token": token, "password": "guess"})
        assert wrong.status_code == 401 and "Неверный пароль" in wrong.text
    # Locked: even the right password is refused for the rest of the window.
    locked = await http.post("/login", data={"csrf_token": token, "password": PASSWORD})
    assert locked.status_code == 429 and "Слишком много" in locked.text
    assert (await http.get("/desk")).status_code == 303
    clock.advance(minutes=11)
    assert (await http.post("/login", data={"csrf_token": token, "password": PASSWORD})).status_code == 303
    assert (await http.get("/desk")).status_code == 200


async def test_logout_ends_the_session_on_the_server(http: httpx.AsyncClient) -> None:
    token = await log_in(http)
    cookie = http.cookies[SESSION_COOKIE]
    out = await http.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await http.get("/desk")).status_code == 303
    # The old cookie, replayed, opens nothing: the session is gone, not just the cookie.
    http.cookies.clear()
    http.cookies.set(SESSION_COOKIE, cookie)
    assert (await http.get("/desk/api/state")).status_code == 401


async def test_the_cookie_is_httponly_strict_and_secure_behind_https(database_url: str, clock: FakeClock) -> None:
    for public, secure in ((None, False), ("https://desk.example.com", True)):
        app = build(Settings(_env_file=None, database_url=database_url, public_base_url=public), clock=clock,
                    run_background=False)  # type: ignore[call-arg]
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
                page = await http.get("/login")
                header = page.headers["set-cookie"].lower()
                assert "httponly" in header and "samesite=strict" in header
                assert ("secure" in header) is secure


@pytest.fixture
async def app_without_password(
    database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[FastAPI]:
    monkeypatch.delenv("DASHBOARD_PASSWORD")
    with caplog.at_level(logging.INFO, logger="priem.dashboard"):
        app = build(Settings(_env_file=None, database_url=database_url), clock=clock, run_background=False)  # type: ignore[call-arg]
    async with app.router.lifespan_context(app):
        yield app


async def test_without_a_password_setting_one_is_made_and_logged_once(
    app_without_password: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    [record] = [r for r in caplog.get_records("setup") if "DASHBOARD_PASSWORD" in r.getMessage()]
    assert record.levelno == logging.INFO
    password = record.getMessage().rsplit(" ", 1)[-1]
    assert len(password) >= 12
    transport = httpx.ASGITransport(app=app_without_password)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        page = await http.get("/login")
        assert password not in page.text
        await log_in(http, password)
        assert password not in (await http.get("/desk")).text


async def test_the_card_shows_the_history_and_its_actions_reach_the_client(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    vera, request = await emergency_client(http, app)
    async with app.state.desk.uow() as uow:
        await uow.messages.add(client_id=request.client_id, direction="in", channel="web", kind="voice",
                               text="", media_ref="voice-file-42", now=clock())
        await uow.commit()
    await vera.replies()
    await log_in(http)
    card = await http.get(f"/desk/clients/{request.client_id}")
    assert card.status_code == 200 and card.headers["cache-control"] == "no-store"
    assert "SOS, срочно нужен расклад" in card.text and "экстренный запрос" in card.text  # both directions
    assert "Голосовое" in card.text and "voice-file-42" in card.text
    assert f"№{request.id}" in card.text and "Без ограничений" in card.text
    token = csrf_of(card.text)
    url = f"/desk/clients/{request.client_id}/act"

    sent = await http.post(url, data={"csrf_token": token, "action": "reply", "text": "Вера, я на связи.\nДо вечера."},
                           follow_redirects=True)
    assert "Отправлено клиенту Вера" in sent.text
    await app.state.relay.drain()
    assert any("Вера, я на связи.\nДо вечера." in m["text"] for m in await vera.replies())

    await http.post(url, data={"csrf_token": token, "action": "paid", "request_id": str(request.id)})
    await http.post(url, data={"csrf_token": token, "action": "done", "request_id": str(request.id),
                               "link": "https://youtu.be/vera-1"})
    row = await request_row(app, request.id)
    assert row.payment_state == "paid" and row.stage == "done" and row.result_link == "https://youtu.be/vera-1"
    await app.state.relay.drain()
    assert any("https://youtu.be/vera-1" in m["text"] for m in await vera.replies())

    restricted = await http.post(url, data={"csrf_token": token, "action": "restrict", "duration": "3d",
                                            "reason": "спам"}, follow_redirects=True)
    assert "ограничен" in restricted.text and "Ограничен до" in restricted.text
    # Someone else's request number from this card is refused before the shell sees it.
    other = await http.post(url, data={"csrf_token": token, "action": "paid", "request_id": "999"},
                            follow_redirects=True)
    assert "Это не заявка этого клиента" in other.text
    assert [r.text.split()[0] for r in await command_log(app)] == ["/reply", "/paid", "/done", "/restrict"]


async def test_statistics_and_csv(http: httpx.AsyncClient, app: FastAPI, clock: FakeClock) -> None:
    _, request = await emergency_client(http, app)
    token = await log_in(http)
    url = f"/desk/clients/{request.client_id}/act"
    await http.post(url, data={"csrf_token": token, "action": "paid", "request_id": str(request.id)})
    clock.advance(hours=5)
    await http.post(url, data={"csrf_token": token, "action": "done", "request_id": str(request.id),
                               "link": "https://youtu.be/x"})
    page = await http.get("/desk/stats")
    assert page.status_code == 200 and 'id="heatmap"' in page.text and "Экстренный" in page.text
    # One message in one cell of the heatmap (the client's SOS), in her time zone.
    assert len(re.findall(r'class="heat[1-4]"', page.text)) == 1
    services = (await http.get("/desk/stats.csv?table=services")).text.splitlines()
    assert services[0].startswith("service,requests,done,wait_median_hours")
    [emergency] = [line for line in services if line.startswith("emergency,")]
    assert emergency.split(",")[1:5] == ["1", "1", "5.0", "5.0"]
    csv_requests = await http.get("/desk/stats.csv?table=requests")
    assert csv_requests.headers["content-type"].startswith("text/csv")
    assert f"\n{request.id},{request.client_id},emergency,1,done,paid," in csv_requests.text
    load = (await http.get("/desk/stats.csv?table=load")).text.splitlines()
    assert load[0] == "weekday,hour,inbound_messages" and len(load) == 2


async def test_done_on_an_unpaid_request_asks_her_to_confirm(http: httpx.AsyncClient, app: FastAPI) -> None:
    """Issue 24, item 4: «Готово» on a request not paid yet went through without a word."""
    _, request = await emergency_client(http, app)
    token = await log_in(http)
    url = f"/desk/clients/{request.client_id}/act"
    card = (await http.get(f"/desk/clients/{request.client_id}")).text
    assert 'name="unpaid_ok"' in card

    refused = await http.post(
        url, data={"csrf_token": token, "action": "done", "request_id": str(request.id)}, follow_redirects=True
    )
    assert "ещё не оплачена" in refused.text
    assert (await request_row(app, request.id)).stage != "done"

    await http.post(url, data={"csrf_token": token, "action": "done", "request_id": str(request.id), "unpaid_ok": "1"})
    assert (await request_row(app, request.id)).stage == "done"
