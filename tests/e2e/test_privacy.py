"""Privacy end to end: a client asks to be forgotten (web chat, Telegram, WhatsApp), she confirms
(her page, her Telegram chat), the data goes and the statistics stay; the JSON export behind the
login; RETENTION_DAYS on a controlled clock."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.settings import Settings
from flows.practice.stats import aggregate
from handlers.dashboard.auth import SESSION_COOKIE
from main import build
from storage.models import (
    Client,
    Identity,
    InboxUpdate,
    Message,
    OutboxItem,
    PractitionerAlert,
    Question,
    Request,
)
from tests.database import url_for
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import log_in
from tests.e2e.test_journey import book_planned_reading
from tests.e2e.test_practice_commands import her
from tests.e2e.test_telegram import book_planned_reading as book_on_telegram
from tests.e2e.whatsapp_client import WhatsAppUser
from tests.factories import FakeClock

FAREWELL = "Ваши данные удалены"
QUESTION = "Что меня ждёт в работе?"


async def rows(app: FastAPI, model: type, *where: Any) -> list[Any]:  # noqa: ANN401
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(model).where(*where).order_by(model.id)))


async def command(http: httpx.AsyncClient, text: str) -> str:
    """A command typed into her page's command box."""
    response = await http.post("/desk/api/command", json={"text": text})
    assert response.status_code == 200, response.text
    return "\n".join(reply["text"] for reply in response.json()["replies"])


async def stats_numbers(app: FastAPI) -> Any:  # noqa: ANN401
    """What /stats and the dashboard are computed from, over the longest period."""
    desk = app.state.desk
    now = desk.clock()
    since = now - timedelta(days=366)
    async with desk.uow() as uow:
        facts = await uow.stats.requests(since)
        inbound = await uow.stats.inbound_times(since)
    return aggregate(facts, inbound, since=since, now=now, catalogue=desk.catalogue, timezone=desk.timezone)


async def client_of(app: FastAPI, channel: str, address: str) -> Client:
    async with app.state.desk.uow() as uow:
        found = await uow.clients.find_by_identity(channel, address)
    assert found is not None
    return found


async def sweep_after_grace(app: FastAPI, clock: FakeClock) -> int:
    await app.state.relay.drain()
    clock.advance(minutes=11)
    return await app.state.privacy.sweep_addresses()


async def test_a_web_client_asks_she_confirms_and_only_the_numbers_stay(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    anna, boris = ChatClient(http, app, "Анна"), ChatClient(http, app, "Борис")
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    await log_in(http)
    anna_request, boris_request = await rows(app, Request)
    assert "оплачена" in await command(http, f"/paid {anna_request.id}")
    await command(http, "/next")
    assert "выполнена" in await command(http, f"/done {anna_request.id} https://youtu.be/anna-reading")
    await anna.replies()

    asked = await anna.ask("Удалите, пожалуйста, мои данные")
    assert "передан практику" in asked and "с чистого листа" in asked
    [alert] = [a for a in (await http.get("/desk/api/state")).json()["alerts"] if a["kind"] == "forget"]
    assert alert["client_name"] == "Анна" and alert["request_id"] == anna_request.id
    assert "уже у практика" in await anna.ask("/forget")  # asked again: told, not alerted again
    assert len(await rows(app, PractitionerAlert, PractitionerAlert.kind == "forget")) == 1

    # Before erasing, she may hand the client their data.
    link = await command(http, f"/export #{anna_request.id}")
    path = link[link.index("http") :].split()[0].removeprefix("http://127.0.0.1:8000")
    exported = (await http.get(path)).json()
    assert exported["client"]["display_name"] == "Анна"
    assert any(m["text"] == "Удалите, пожалуйста, мои данные" for m in exported["messages"])
    [request] = exported["requests"]
    assert [q["text"] for q in request["questions"]][0] == QUESTION
    assert [s["stage"] for s in request["stage_changes"]][-1] == "done"

    stats_before = await command(http, "/stats 90d")
    numbers_before = await stats_numbers(app)
    answer = await command(http, f"/forget #{anna_request.id}")
    assert "удалены" in answer and "статистика не изменилась" in answer and "Анна" not in answer
    await app.state.relay.drain()

    assert await command(http, "/stats 90d") == stats_before
    assert await stats_numbers(app) == numbers_before
    [farewell] = await anna.replies()
    assert farewell["text"].startswith(FAREWELL)

    forgotten = await client_of(app, "web", anna.key)  # the address is kept until the farewell is out
    assert forgotten.display_name == "—" and forgotten.forgotten_at is not None
    assert forgotten.username is None and forgotten.phone is None
    history = await rows(app, Message, Message.client_id == forgotten.id)
    assert [m.text for m in history if m.text] == [farewell["text"]]
    assert all(m.erased_at is not None for m in history if m.text != farewell["text"])
    questions = await rows(app, Question, Question.request_id == anna_request.id)
    assert len(questions) == 3 and {q.text for q in questions} == {""}
    [request_row] = await rows(app, Request, Request.id == anna_request.id)
    assert request_row.stage == "done" and request_row.result_link is None
    assert {a.excerpt for a in await rows(app, PractitionerAlert, PractitionerAlert.client_id == forgotten.id)} == {""}
    message_ids = [m.id for m in history]
    copies = await rows(app, OutboxItem, OutboxItem.message_id.in_(message_ids))
    assert [o.text for o in copies if o.text] == [farewell["text"]]
    dump = json.dumps((await http.get(f"/desk/clients/{forgotten.id}/export.json")).json(), ensure_ascii=False)
    assert "Анна" not in dump and QUESTION not in dump and "anna-reading" not in dump

    # Boris is untouched.
    assert QUESTION in [q.text for q in await rows(app, Question, Question.request_id == boris_request.id)]
    assert "Место в очереди: 1" in await boris.ask("где мой расклад?")

    # Nothing else reaches her, and the addresses go once the farewell has been out a while.
    await command(http, f"/reply #{anna_request.id} ещё одно")
    await app.state.relay.drain()
    assert await anna.replies() == []
    assert await app.state.privacy.sweep_addresses() == 0
    assert await sweep_after_grace(app, clock) == 1
    [identity] = await rows(app, Identity, Identity.client_id == forgotten.id)
    assert identity.address == f"erased:{identity.id}"
    assert {o.destination for o in await rows(app, OutboxItem, OutboxItem.message_id.in_(message_ids))} == {"erased"}

    # The same browser writing again is a new client, greeted as one.
    greeting = await anna.ask("Здравствуйте")
    assert "Анна" in greeting
    fresh = await client_of(app, "web", anna.key)
    assert fresh.id != forgotten.id and fresh.display_name == "Анна"
    assert await rows(app, Request, Request.client_id == fresh.id) == []


async def test_a_message_before_the_sweep_lets_the_address_go_at_once(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    vera = ChatClient(http, app, "Вера")
    await vera.ask("Здравствуйте")
    await vera.ask("forget me")
    await log_in(http)
    answer = await command(http, "/forget Вера")
    assert "удалены" in answer
    await app.state.relay.drain()
    assert FAREWELL in (await vera.replies())[-1]["text"]

    hello = await vera.ask("Hello again")
    assert "Вера" in hello
    clients = await rows(app, Client)
    assert [c.display_name for c in clients] == ["—", "Вера"]
    [old] = await rows(app, Identity, Identity.client_id == clients[0].id)
    assert old.address.startswith("erased:")
    assert await sweep_after_grace(app, clock) == 1  # the farewell row's address goes too
    assert (await client_of(app, "web", vera.key)).id == clients[1].id


async def test_she_cannot_erase_by_accident_someone_who_never_asked(http: httpx.AsyncClient, app: FastAPI) -> None:
    gleb = ChatClient(http, app, "Глеб")
    await book_planned_reading(gleb)
    await log_in(http)
    [request] = await rows(app, Request)

    refused = await command(http, f"/forget #{request.id}")
    assert "не просил" in refused and f"/forget #{request.id} да" in refused
    assert (await rows(app, Client))[0].forgotten_at is None
    done = await command(http, f"/forget #{request.id} да")
    assert "удалены" in done and f"№{request.id}" in done  # his request is open: she is told
    assert (await rows(app, Client))[0].forgotten_at is not None
    assert "уже удалены" in await command(http, f"/forget #{request.id}")
    assert "Укажите клиента" in await command(http, "/forget")


class TestExportRoute:
    async def test_refused_without_the_login(self, http: httpx.AsyncClient, app: FastAPI) -> None:
        anna = ChatClient(http, app, "Анна")
        await book_planned_reading(anna)
        [client] = await rows(app, Client)

        response = await http.get(f"/desk/clients/{client.id}/export.json")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert QUESTION not in response.text and "Анна" not in response.text
        http.cookies.set(SESSION_COOKIE, "forged-session-token")
        assert (await http.get(f"/desk/clients/{client.id}/export.json")).status_code == 303
        http.cookies.clear()

        await log_in(http)
        allowed = await http.get(f"/desk/clients/{client.id}/export.json")
        assert allowed.status_code == 200 and allowed.headers["cache-control"] == "no-store"
        body = allowed.json()
        assert set(body) >= {"client", "identities", "messages", "requests", "payments", "bookings", "restrictions"}
        assert "check_token" not in json.dumps(body) and "practitioner_id" not in json.dumps(body)
        assert (await http.get("/desk/clients/999999/export.json")).status_code == 404


async def test_on_telegram_she_confirms_from_her_chat(tg_app: FastAPI, user, clock: FakeClock) -> None:  # noqa: ANN001
    anna = user(1001, "Анна", "Петрова")
    await book_on_telegram(anna)
    practitioner = her(user)
    practitioner.replies()
    [request] = await rows(tg_app, Request)

    assert "передан практику" in await anna.ask("/forget")
    alert = "\n".join(practitioner.replies())
    assert "Просит удалить свои данные: Анна Петрова" in alert and f"/forget #{request.id}" in alert

    assert "удалены" in await practitioner.ask(f"/forget #{request.id}")
    assert FAREWELL in "\n".join(anna.replies())
    # Her own copies of what she was told about Anna (the alert) keep no text.
    assert all(o.text == "" for o in await rows(tg_app, OutboxItem, OutboxItem.idempotency_key.startswith("alert:")))
    raw = [u.payload for u in await rows(tg_app, InboxUpdate)]
    assert raw and not any("Петрова" in payload or QUESTION in payload for payload in raw)

    assert await sweep_after_grace(tg_app, clock) == 1
    assert "Анна" in await anna.ask("Привет")  # a new client, greeted by name again
    assert [c.display_name for c in await rows(tg_app, Client)] == ["—", "Анна Петрова"]


async def test_on_whatsapp_the_farewell_goes_to_the_number_before_it_is_wiped(
    wa_app: FastAPI,
    wa_http: httpx.AsyncClient,
    wa_user,
    clock: FakeClock,  # noqa: ANN001
) -> None:
    olga: WhatsAppUser = wa_user("+79990001122", "Ольга")
    await olga.ask("Здравствуйте")
    assert "передан практику" in await olga.ask("удалите мои данные")
    await log_in(wa_http)
    assert "удалены" in await command(wa_http, "/forget +79990001122")
    await wa_app.state.relay.drain()
    assert FAREWELL in "\n".join(olga.replies())

    [client] = await rows(wa_app, Client)
    assert client.phone is None and client.display_name == "—"
    assert not any("79990001122" in u.payload for u in await rows(wa_app, InboxUpdate))
    assert await sweep_after_grace(wa_app, clock) == 1
    assert not any("79990001122" in i.address for i in await rows(wa_app, Identity))
    assert not any("79990001122" in o.destination for o in await rows(wa_app, OutboxItem))


# Retention


@pytest.fixture
async def retaining(db_path: Path, clock: FakeClock) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(_env_file=None, database_url=url_for(db_path), retention_days=30)  # type: ignore[call-arg]
    app = build(settings, clock=clock, run_background=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
            yield app, http


async def test_retention_erases_old_texts_of_closed_requests_and_keeps_the_numbers(
    retaining: tuple[FastAPI, httpx.AsyncClient], clock: FakeClock
) -> None:
    app, http = retaining
    anna, boris = ChatClient(http, app, "Анна"), ChatClient(http, app, "Борис")
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    await log_in(http)
    anna_request, boris_request = await rows(app, Request)
    await command(http, f"/paid {anna_request.id}")
    await command(http, f"/done {anna_request.id} https://youtu.be/anna-reading")

    clock.advance(days=20)
    assert (await app.state.privacy.sweep_retention()).messages == 0  # nothing is 30 days old yet
    clock.advance(days=11)
    recent = await anna.ask("Спасибо, всё сбылось!")
    await log_in(http)  # a month later her session has expired
    stats_before = await command(http, "/stats 90d")
    numbers_before = await stats_numbers(app)

    erased = await app.state.privacy.sweep_retention()
    assert erased.messages > 0 and erased.questions == 3

    anna_messages = await rows(app, Message, Message.client_id == anna_request.client_id)
    assert [m.text for m in anna_messages if m.text] == [m.text for m in anna_messages[-2:]]  # the last exchange
    assert recent and all(m.erased_at is not None for m in anna_messages[:-2])
    assert {q.text for q in await rows(app, Question, Question.request_id == anna_request.id)} == {""}
    # Boris's request is still open: she works from that history.
    assert all(
        m.text or m.kind != "text" for m in await rows(app, Message, Message.client_id == boris_request.client_id)
    )
    assert QUESTION in [q.text for q in await rows(app, Question, Question.request_id == boris_request.id)]
    old_copies = await rows(app, OutboxItem, OutboxItem.created_at < clock.now - timedelta(days=30))
    assert old_copies and {o.text for o in old_copies} == {""}

    assert await command(http, "/stats 90d") == stats_before
    assert await stats_numbers(app) == numbers_before
    assert (await app.state.privacy.sweep_retention()).messages == 0  # a second pass has nothing left


async def test_without_retention_days_nothing_is_erased(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    anna = ChatClient(http, app, "Анна")
    await book_planned_reading(anna)
    clock.advance(days=400)
    assert await app.state.privacy.sweep_retention() is None
    assert all(m.erased_at is None and (m.text or m.kind != "text") for m in await rows(app, Message))
