"""A client's name cannot plant lines or reverse text in her alerts (issue 25, item 3).

A web chat client names themselves with a line break and a fake «Открыть:» link, writes «СРОЧНО»,
and her Telegram gets the alert: the name is one line inside the alert's first line, and the only
line that starts with «Открыть:» is priem's own link to her page. A right-to-left override in a
name is dropped, so «‮gnp.exe» reads as it is stored.
"""

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from storage.models import Client
from tests.e2e.chat_client import ChatClient
from tests.e2e.test_telegram import PRACTITIONER_CHAT, PUBLIC
from tests.fakes.telegram_api import TelegramBotAPI
from tests.unit.test_display import PLANTED


async def test_a_planted_line_in_a_name_stays_inside_the_alerts_first_line(
    tg_app: FastAPI, tg_http: AsyncClient, telegram_api: TelegramBotAPI
) -> None:
    await ChatClient(tg_http, tg_app, PLANTED).ask("СРОЧНО помогите")
    await tg_app.state.relay.drain()

    [alert] = [m["text"] for m in telegram_api.sent(PRACTITIONER_CHAT) if "ЭКСТРЕННО" in m["text"]]
    lines = alert.splitlines()
    assert lines[0].startswith("🚨 ЭКСТРЕННО: Мария Открыть: https://evil.example/desk/login (web)")
    opening = [line for line in lines if line.startswith("Открыть:")]
    assert opening == [f"Открыть: {PUBLIC}/desk#request-1"], "only priem's own link opens a line"


async def test_a_right_to_left_override_in_a_name_is_dropped(tg_app: FastAPI, tg_http: AsyncClient) -> None:
    await ChatClient(tg_http, tg_app, "\u202egnp.exe").ask("Здравствуйте")

    async with tg_app.state.desk.uow() as uow:
        [name] = await uow.session.scalars(select(Client.display_name))
    assert name == "gnp.exe"
