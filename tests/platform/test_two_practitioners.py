"""Two practitioners on one deployment (issue 12): #1 from the environment, "bella" added with
`main.py practitioner add`. Each has her own bot; the same person writing to both is two clients
with two histories, and nothing one practitioner's commands do reaches the other's clients."""

import io
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.platform.cli import run as cli
from bot.platform.tenants import Tenant
from bot.practice import CommandInput
from bot.settings import Settings
from handlers.dashboard.auth import CSRF_HEADER
from main import build
from storage.models import Client, CommandLog, Identity, Message, OutboxItem, Request
from tests.e2e.dashboard_login import PASSWORD, _keep_secure_cookie, csrf_of
from tests.e2e.telegram_client import SECRET_HEADER, TelegramUser, WebhookDelivery
from tests.e2e.test_telegram import SECRET, book_planned_reading, telegram_settings
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

B_TOKEN = "654321:TEST-token-of-bella"
B_SECRET = "bella-Webhook_secret"
B_OWN_CHAT = 9002  # bella's own Telegram id: her alerts and commands


async def add(settings: Settings, *argv: str) -> None:
    out = io.StringIO()
    assert await cli(["practitioner", "add", *argv], settings, out) == 0, out.getvalue()


@pytest.fixture
async def two(db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock) -> AsyncIterator[FastAPI]:
    telegram_api.tokens.add(B_TOKEN)
    settings = telegram_settings(db_path, telegram_api, "webhook")
    await add(
        settings, "--slug", "bella", "--telegram-token", B_TOKEN, "--telegram-secret", B_SECRET,
        "--telegram-id", str(B_OWN_CHAT), "--password", "bella-pass",
    )  # fmt: skip
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(two: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://127.0.0.1:8000") as client:
        yield client


async def bella(app: FastAPI) -> Tenant:
    tenant = await app.state.platform.by_slug("bella")
    assert tenant is not None and tenant.telegram is not None
    return tenant


class Writer(TelegramUser):
    """A Telegram user writing to one of the two bots; replies are that bot's sends only."""

    def __init__(
        self, app: FastAPI, api: TelegramBotAPI, http: httpx.AsyncClient, chat_id: int, name: str, *, to_b: bool
    ):
        path = "/webhook/telegram/bella" if to_b else "/webhook/telegram"
        delivery = WebhookDelivery(http, B_SECRET if to_b else SECRET)
        delivery.deliver = self._post(http, path, B_SECRET if to_b else SECRET)  # type: ignore[method-assign]
        super().__init__(app, api, delivery, chat_id, name)
        self.token = B_TOKEN if to_b else TOKEN
        self.to_b = to_b

    @staticmethod
    def _post(http: httpx.AsyncClient, path: str, secret: str) -> Any:  # noqa: ANN401
        async def deliver(update: dict[str, Any]) -> None:
            response = await http.post(path, json=update, headers={SECRET_HEADER: secret})
            assert response.status_code == 200, response.text

        return deliver

    async def send(self, update: dict[str, Any]) -> None:
        await self.delivery.deliver(update)
        inbox = (await bella(self.app)).telegram.inbox if self.to_b else self.app.state.telegram.inbox  # type: ignore[union-attr]
        await inbox.process_pending()
        await self.app.state.relay.drain()

    def replies(self) -> list[str]:
        sent = [c.params for c in self.api.called("sendMessage") if c.status == 200 and c.bot == self.token]
        mine = [m for m in sent if m["chat_id"] == self.chat_id]
        new, self.seen = mine[self.seen :], len(mine)
        return [m["text"] for m in new]


async def count(app: FastAPI, model: type, *where: Any) -> int:
    async with app.state.desk.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_her_bot_is_registered_at_her_own_path_with_her_secret(
    two: FastAPI, telegram_api: TelegramBotAPI
) -> None:
    hooks = {c.bot: c.params for c in telegram_api.called("setWebhook")}
    assert hooks[B_TOKEN]["url"] == "https://desk.example.com/webhook/telegram/bella"
    assert hooks[B_TOKEN]["secret_token"] == B_SECRET
    assert hooks[TOKEN]["url"] == "https://desk.example.com/webhook/telegram"


async def test_a_wrong_secret_or_slug_is_refused_and_stores_nothing(two: FastAPI, http: httpx.AsyncClient) -> None:
    update = {
        "update_id": 1,
        "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"},
    }
    assert (await http.post("/webhook/telegram/bella", json=update, headers={SECRET_HEADER: SECRET})).status_code == 403
    assert (await http.post("/webhook/telegram/bella", json=update)).status_code == 403
    assert (
        await http.post("/webhook/telegram/nobody", json=update, headers={SECRET_HEADER: B_SECRET})
    ).status_code == 404
    assert (
        await http.post("/webhook/telegram/default", json=update, headers={SECRET_HEADER: SECRET})
    ).status_code == 404
    assert await count(two, Message) == 0


async def test_the_same_person_writing_to_both_bots_has_two_histories(
    two: FastAPI, telegram_api: TelegramBotAPI, http: httpx.AsyncClient
) -> None:
    to_a = Writer(two, telegram_api, http, 4242, "Вера", to_b=False)
    to_b = Writer(two, telegram_api, http, 4242, "Вера", to_b=True)
    await book_planned_reading(to_a)
    assert "Вера" in await to_b.ask("Здравствуйте!")
    b = (await bella(two)).practitioner_id
    assert b != 1
    a_clients = await count(two, Identity, Identity.address == "4242", Identity.practitioner_id == 1)
    b_clients = await count(two, Identity, Identity.address == "4242", Identity.practitioner_id == b)
    assert (a_clients, b_clients) == (1, 1)
    assert (
        await count(two, Message, Message.practitioner_id == 1)
        > await count(two, Message, Message.practitioner_id == b)
        > 0
    )
    assert await count(two, Request, Request.practitioner_id == b) == 0  # her request is #1's only
    # Each bot answered only its own conversation.
    assert all(c.params["chat_id"] == 4242 for c in telegram_api.called("sendMessage") if c.bot == B_TOKEN)
    assert len(to_b.replies()) == 0 and len([c for c in telegram_api.called("sendMessage") if c.bot == B_TOKEN]) >= 1


async def test_her_commands_see_and_touch_only_her_clients(
    two: FastAPI, telegram_api: TelegramBotAPI, http: httpx.AsyncClient
) -> None:
    anna = Writer(two, telegram_api, http, 1001, "Анна", to_b=False)
    boris = Writer(two, telegram_api, http, 2002, "Борис", to_b=True)
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    tenant = await bella(two)
    b = tenant.practitioner_id
    async with two.state.desk.sessions() as session:
        a_request = await session.scalar(select(Request.id).where(Request.practitioner_id == 1))
        b_request = await session.scalar(select(Request.id).where(Request.practitioner_id == b))
        b_client = await session.scalar(select(Client.id).where(Client.practitioner_id == b))

    async def snapshot(pid: int) -> tuple[Any, ...]:
        async with two.state.desk.sessions() as session:
            requests = (await session.execute(select(Request).where(Request.practitioner_id == pid))).scalars().all()
            clients = (await session.execute(select(Client).where(Client.practitioner_id == pid))).scalars().all()
            rows = (
                [(r.id, r.stage, r.payment_state, r.deadline_at, r.result_link) for r in requests],
                [(c.id, c.display_name, c.step) for c in clients],
            )
        messages = await count(two, Message, Message.practitioner_id == pid)
        return (*rows, messages, await count(two, OutboxItem, OutboxItem.practitioner_id == pid))

    before = await snapshot(b)
    for ref in (str(b_request), f"#{b_request}", "@nobody", "Борис"):
        for line in (
            f"/paid {ref}", f"/done {ref} https://example.com/r", f"/reply {ref} привет", f"/history {ref}",
            "/next", f"/restrict {ref} 3d спам", f"/unrestrict {ref}", f"/reschedule {ref} 03.12 15:00",
            f"/noshow {ref}", f"/forget {ref} да", f"/export {ref}", f"/invoice {ref}", f"/refund {ref}",
            "/queue", "/slots", "/stats 90d",
        ):  # fmt: skip
            result = await two.state.practice.run(CommandInput(channel="web", address="page", text=line, trusted=True))
            said = "\n".join(r.text for r in result.replies).replace(f"«{ref}»", "")  # the echo of what she typed
            assert "Борис" not in said, line
    await two.state.relay.drain()
    assert await snapshot(b) == before
    assert boris.replies() == []  # nothing #1 typed reached bella's client

    # Her own commands, from her own chat with her own bot, see her client and not #1's.
    her = Writer(two, telegram_api, http, B_OWN_CHAT, "Белла", to_b=True)
    board = await her.ask("/queue")
    assert "Борис" in board and "Анна" not in board
    refused = await her.ask(f"/paid {a_request}")
    assert "оплачена" not in refused
    assert await count(two, Request, Request.id == a_request, Request.payment_state == "paid") == 0
    assert b_client is not None
    # Her two commands are logged as hers; #1's thirty-odd attempts above are in #1's log.
    assert await count(two, CommandLog, CommandLog.practitioner_id == b, CommandLog.allowed.is_(True)) == 2


async def test_a_practitioner_added_while_running_is_served_without_a_restart(
    two: FastAPI, telegram_api: TelegramBotAPI, http: httpx.AsyncClient, db_path: Path
) -> None:
    telegram_api.tokens.add("777:TEST-cara")
    settings = telegram_settings(db_path, telegram_api, "webhook")
    await add(settings, "--slug", "cara", "--telegram-token", "777:TEST-cara", "--telegram-secret", "cara-secret")
    update = TelegramUser(two, telegram_api, WebhookDelivery(http, ""), 3003, "Гость").message("Здравствуйте!")
    response = await http.post("/webhook/telegram/cara", json=update, headers={SECRET_HEADER: "cara-secret"})
    assert response.status_code == 200
    cara = await two.state.platform.by_slug("cara")
    await cara.telegram.inbox.process_pending()
    await two.state.platform.sync()  # the periodic sync: two practitioners or more claim per lane
    assert two.state.relay.per_practitioner
    await two.state.relay.drain()
    sent = [c for c in telegram_api.called("sendMessage") if c.bot == "777:TEST-cara"]
    assert sent and sent[0].params["chat_id"] == 3003


async def log_in_as(http: httpx.AsyncClient, slug: str, password: str) -> int:
    form = await http.get("/login")
    _keep_secure_cookie(http, form)  # PUBLIC_BASE_URL is https: the cookie is Secure
    assert 'name="practitioner"' in form.text  # two practitioners: the form asks who she is
    response = await http.post(
        "/login", data={"csrf_token": csrf_of(form.text), "practitioner": slug, "password": password, "next": "/desk"}
    )
    if response.status_code == 303:
        _keep_secure_cookie(http, response)
        http.headers[CSRF_HEADER] = csrf_of((await http.get("/desk")).text)
    return response.status_code


async def test_the_dashboard_logs_her_into_her_own_data_only(
    two: FastAPI, telegram_api: TelegramBotAPI, http: httpx.AsyncClient
) -> None:
    anna = Writer(two, telegram_api, http, 1001, "Анна", to_b=False)
    boris = Writer(two, telegram_api, http, 2002, "Борис", to_b=True)
    await book_planned_reading(anna)
    await book_planned_reading(boris)
    b = (await bella(two)).practitioner_id
    async with two.state.desk.sessions() as session:
        a_client = await session.scalar(select(Client.id).where(Client.practitioner_id == 1))
        a_request = await session.scalar(select(Request.id).where(Request.practitioner_id == 1))
        b_client = await session.scalar(select(Client.id).where(Client.practitioner_id == b))
    assert await log_in_as(http, "bella", PASSWORD) == 401  # #1's password is not hers
    assert await log_in_as(http, "bella", "bella-pass") == 303

    state = (await http.get("/desk/api/state")).json()
    assert {row["client_id"] for row in state["queue"]} == {b_client}
    assert "Анна" not in json.dumps(state, ensure_ascii=False)
    assert (await http.get(f"/desk/clients/{b_client}")).status_code == 200
    # Every route that takes an id, with #1's ids: nothing is shown, nothing changes.
    assert (await http.get(f"/desk/clients/{a_client}")).status_code == 404
    assert (await http.get(f"/desk/clients/{a_client}/export.json")).status_code == 404
    csrf = http.headers[CSRF_HEADER]
    for action in ("reply", "paid", "done", "restrict", "unrestrict", "reschedule"):
        acted = await http.post(
            f"/desk/clients/{a_client}/act",
            data={"csrf_token": csrf, "action": action, "text": "x", "link": "https://e.x", "when": "03.12 15:00"},
        )
        assert acted.status_code == 404, action
    for line in (
        f"/paid {a_request}", f"/done {a_request} https://e.x", f"/reply {a_request} hi", f"/history {a_request}",
        f"/forget {a_request} да", f"/export {a_request}", "/queue", "/next", "/stats 90d",
    ):  # fmt: skip
        answer = (await http.post("/desk/api/command", json={"text": line})).json()
        assert "Анна" not in json.dumps(answer, ensure_ascii=False), line
    for page in ("/desk", "/desk/stats", "/desk/stats.csv", "/desk/settings", "/desk/settings/pause"):
        shown = await http.get(page)
        assert shown.status_code == 200 and "Анна" not in shown.text, page
    async with two.state.desk.sessions() as session:
        a_row = await session.get(Request, a_request)
        assert a_row is not None and a_row.payment_state != "paid" and a_row.stage != "done"
    assert anna.replies() == []  # nothing she did reached #1's client

    # #1 logged in (no slug, her env password) sees hers and none of bella's.
    http.cookies.clear()
    assert await log_in_as(http, "", PASSWORD) == 303
    assert (await http.get(f"/desk/clients/{b_client}")).status_code == 404
    assert {row["client_id"] for row in (await http.get("/desk/api/state")).json()["queue"]} == {a_client}


async def test_her_password_is_checked_off_the_event_loop_and_an_unknown_name_costs_the_same(
    two: FastAPI, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong guess for a named practitioner must not hold webhooks up (scrypt in a thread), and
    a name that does not exist is checked against a hash too (issue 25, item 2)."""
    from handlers.dashboard import login

    checked: list[tuple[bool, str | None]] = []
    real = login.password_matches

    def spy(stored: str | None, given: str) -> bool:
        checked.append((threading.current_thread() is threading.main_thread(), stored))
        return real(stored, given)

    monkeypatch.setattr(login, "password_matches", spy)
    assert await log_in_as(http, "bella", "wrong") == 401
    assert await log_in_as(http, "nobody-here", "wrong") == 401
    assert await log_in_as(http, "bella", "bella-pass") == 303

    assert [on_the_loop for on_the_loop, _ in checked] == [False, False, False]
    unknown = checked[1][1]
    assert unknown is not None and unknown.startswith("scrypt$") and unknown != checked[0][1]
