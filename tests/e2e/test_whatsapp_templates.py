"""WhatsApp's 24-hour window end to end: pushes to a client who last wrote over a day ago go out
as the approved template of their kind (ContentSid + ContentVariables, TWILIO_TEMPLATES); with no
template they wait, visible to the practitioner, until the client writes again."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from bot.outbox.message_kinds import message_kind, template_for
from main import build
from storage.models import OutboxItem
from tests.e2e.dashboard_login import log_in
from tests.e2e.whatsapp_client import PRACTITIONER, WhatsAppUser, rows, whatsapp_settings
from tests.factories import FakeClock
from tests.fakes.twilio_api import TwilioAPI

ANNA = "+79161234567"
TEMPLATES = {"reminder": "HX" + "1" * 32, "result": "HX" + "2" * 32, "reply": "HX" + "3" * 32}
ANY = "HX" + "9" * 32


@pytest.mark.parametrize(
    "key, kind",
    [
        ("remind24:17", "reminder"),
        ("remind1h:17", "reminder"),
        ("position:5:2", "queue_update"),
        ("started:5", "queue_update"),
        ("pause:20261124T090000:5", "queue_update"),
        ("done:5", "result"),
        ("reply:88", "reply"),
        ("paid:5", "payment"),
        ("msg:301", "message"),
        ("alert:3:whatsapp:+7999", "practitioner"),
        ("cmd:12:0", "practitioner"),
        ("something-new:1", "any"),
        ("", "any"),
    ],
)
def test_the_kind_of_a_row_is_its_key_prefix(key: str, kind: str) -> None:
    assert message_kind(key) == kind


def test_a_kind_without_its_own_template_takes_the_any_one() -> None:
    assert template_for(TEMPLATES, "done:5") == TEMPLATES["result"]
    assert template_for(TEMPLATES, "position:5:2") is None
    assert template_for({**TEMPLATES, "any": ANY}, "position:5:2") == ANY


def test_an_unknown_kind_in_the_settings_is_a_start_up_error(db_path: Path, twilio_api: TwilioAPI) -> None:
    with pytest.raises(ValidationError, match="remindr"):
        whatsapp_settings(db_path, twilio_api, twilio_templates={"remindr": "HX1"})


def app_with(db_path: Path, api: TwilioAPI, clock: FakeClock, templates: dict[str, str]) -> FastAPI:
    return build(whatsapp_settings(db_path, api, twilio_templates=templates), clock=clock, run_background=False)


@pytest.fixture
def templates() -> dict[str, str]:
    return TEMPLATES


@pytest.fixture
async def tpl_app(
    db_path: Path, twilio_api: TwilioAPI, clock: FakeClock, templates: dict[str, str]
) -> AsyncIterator[FastAPI]:
    application = app_with(db_path, twilio_api, clock, templates)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def tpl_http(tpl_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tpl_app), base_url="http://127.0.0.1:8000"
    ) as client:
        yield client


@pytest.fixture
async def anna(tpl_http: httpx.AsyncClient, tpl_app: FastAPI, twilio_api: TwilioAPI) -> WhatsAppUser:
    user = WhatsAppUser(tpl_http, tpl_app, twilio_api, ANNA, "Анна")
    await user.say("Здравствуйте!")
    assert len(user.replies()) == 1
    return user


async def push(app: FastAPI, clock: FakeClock, anna: WhatsAppUser, key: str, text: str) -> OutboxItem:
    """An outbox row as the scheduler or a practitioner command enqueues it, then one relay pass."""
    async with app.state.desk.uow() as uow:
        row = await uow.outbox.enqueue(
            channel="whatsapp", destination=anna.address, priority=2, text=text, key=key, now=clock()
        )
        await uow.commit()
        row_id = row.id
    await app.state.relay.drain()
    [row] = await rows(app, OutboxItem, OutboxItem.id == row_id)
    return row


async def test_a_reminder_after_the_window_goes_out_as_its_template(
    tpl_app: FastAPI, twilio_api: TwilioAPI, clock: FakeClock, anna: WhatsAppUser
) -> None:
    clock.advance(hours=25)
    before = len(twilio_api.requests)
    text = "Напоминаем: завтра в 12:00 ваш звонок.\nЕсли не получается, напишите «перенести»."
    row = await push(tpl_app, clock, anna, "remind24:1", text)
    [sent] = twilio_api.requests[before:]  # no free-form attempt first: the window is known closed
    assert sent.status == 201 and sent.to == anna.address and "Body" not in sent.params
    assert sent.content_sid == TEMPLATES["reminder"]
    # One line (Meta refuses newlines in a variable), every word kept.
    assert sent.content_variables == {
        "1": "Напоминаем: завтра в 12:00 ваш звонок. · Если не получается, напишите «перенести»."
    }
    assert row.state == "sent" and row.external_id == sent.sid


async def test_inside_the_window_the_same_push_is_free_form(
    tpl_app: FastAPI, twilio_api: TwilioAPI, clock: FakeClock, anna: WhatsAppUser
) -> None:
    clock.advance(hours=23)
    row = await push(tpl_app, clock, anna, "remind24:1", "Напоминаем о звонке")
    assert anna.replies() == ["Напоминаем о звонке"]
    assert twilio_api.requests[-1].content_sid is None and row.state == "sent"


async def test_a_window_closed_unseen_gets_the_template_after_the_63016(
    tpl_app: FastAPI, twilio_api: TwilioAPI, clock: FakeClock, anna: WhatsAppUser
) -> None:
    clock.advance(hours=2)  # by priem's clock the window is open; WhatsApp says otherwise
    twilio_api.close_window(anna.address)
    before = len(twilio_api.requests)
    row = await push(tpl_app, clock, anna, "done:7", "Ваш расклад готов: https://example.com/r/7")
    refused, sent = twilio_api.requests[before:]
    assert (refused.status, refused.body) == (400, "Ваш расклад готов: https://example.com/r/7")
    assert sent.status == 201 and sent.content_sid == TEMPLATES["result"]
    assert sent.content_variables == {"1": "Ваш расклад готов: https://example.com/r/7"}
    assert row.state == "sent" and row.external_id == sent.sid


async def test_without_a_template_the_push_waits_is_shown_and_leaves_when_she_writes(
    tpl_app: FastAPI, tpl_http: httpx.AsyncClient, twilio_api: TwilioAPI, clock: FakeClock, anna: WhatsAppUser
) -> None:
    clock.advance(hours=25)
    before = len(twilio_api.requests)
    row = await push(tpl_app, clock, anna, "position:3:1", "Вы первая в очереди")  # no queue_update template
    assert twilio_api.requests[before:] == [] and row.state == "waiting_window"
    await log_in(tpl_http)
    [shown] = (await tpl_http.get("/desk/api/state")).json()["undelivered"]
    assert shown["state"] == "waiting_window" and shown["client_name"] == "Анна"
    assert shown["text"] == "Вы первая в очереди"

    await anna.say("где мой расклад?")
    held, answer = anna.replies()
    assert held == "Вы первая в очереди" and "открытых запросов" in answer
    assert (await tpl_http.get("/desk/api/state")).json()["undelivered"] == []


@pytest.mark.parametrize("templates", [{"any": ANY}])
async def test_the_any_template_covers_every_kind(
    tpl_app: FastAPI, twilio_api: TwilioAPI, clock: FakeClock, anna: WhatsAppUser
) -> None:
    clock.advance(hours=30)
    row = await push(tpl_app, clock, anna, "position:3:1", "Вы первая в очереди")
    assert row.state == "sent"
    assert twilio_api.requests[-1].content_sid == ANY
    assert twilio_api.requests[-1].content_variables == {"1": "Вы первая в очереди"}


async def test_her_reply_after_the_window_goes_out_as_the_reply_template(
    tpl_app: FastAPI, tpl_http: httpx.AsyncClient, twilio_api: TwilioAPI, clock: FakeClock, anna: WhatsAppUser
) -> None:
    clock.advance(hours=26)
    her = WhatsAppUser(tpl_http, tpl_app, twilio_api, PRACTITIONER, "Практик")
    await her.say("/reply Анна Добрый день! Посмотрела ваш вопрос, отвечу завтра.")
    assert any("Анна" in r for r in her.replies())  # her confirmation: free-form, she just wrote
    [sent] = [r for r in twilio_api.delivered(anna.address) if r.content_sid]
    assert sent.content_sid == TEMPLATES["reply"]
    variable = sent.content_variables["1"]
    assert "\n" not in variable and variable.endswith("Добрый день! Посмотрела ваш вопрос, отвечу завтра.")
