"""Input limits, each answered with a clear message to the client.

- per message: the web chat takes up to 20,000 characters (Telegram caps a message at 4096 and
  WhatsApp at 1600 themselves); a longer one is refused with a 422 that says why, and any body
  over 512 KiB gets a 413 before it is parsed (tests/fuzz/test_webhooks_fuzz.py);
- per minute: more than `flood_messages` within `flood_minutes` (catalogue.toml) are stored but
  not answered one by one; the client is told once, and answered normally again afterwards;
- per list: at most 30 questions in one request; the 31st is not added and the client is told.
"""

import httpx
from fastapi import FastAPI

from bot.texts import Texts
from flows.effects import AddQuestion, Say
from flows.intake import MAX_QUESTIONS, add_later, collect
from flows.model import RequestView, Stage, Step
from handlers.webchat import MAX_TEXT
from tests.e2e.chat_client import ChatClient
from tests.factories import ROOT, FakeClock, client, context, inbound

TEXTS = Texts(ROOT / "locales")


def draft(count: int, stage: Stage = Stage.DRAFT) -> RequestView:
    return RequestView(id=5, service="planned_reading", stage=stage, questions=tuple(f"q{i}" for i in range(count)))


def collecting(count: int):  # noqa: ANN201
    return client(step=Step.QUESTIONS, step_service="planned_reading", step_request_id=5, requests=(draft(count),))


# --- questions per list -------------------------------------------------------------------


def test_the_last_question_that_fits_is_added() -> None:
    effects = collect(collecting(MAX_QUESTIONS - 1), inbound("и ещё один?"), context())
    assert [e.text for e in effects if isinstance(e, AddQuestion)] == ["и ещё один?"]
    assert [e.params["count"] for e in effects if isinstance(e, Say)] == [MAX_QUESTIONS]


def test_a_question_over_the_limit_is_not_added_and_the_client_is_told() -> None:
    effects = collect(collecting(MAX_QUESTIONS), inbound("тридцать первый?"), context())
    assert not [e for e in effects if isinstance(e, AddQuestion)]
    [say] = effects
    assert isinstance(say, Say) and say.text_id == "questions-limit"
    for language, words in (("ru", ("30", "готово")), ("en", ("30", "done"))):
        text = TEXTS.render(say, language, "Europe/Moscow")
        assert all(w in text for w in words), text


def test_a_forgotten_question_cannot_overfill_a_submitted_list() -> None:
    full = client(requests=(draft(MAX_QUESTIONS, Stage.SUBMITTED),))
    effects = add_later(full, "ещё вопрос", context())
    assert [e.text_id for e in effects if isinstance(e, Say)] == ["questions-limit"]
    assert not [e for e in effects if isinstance(e, AddQuestion)]
    roomy = client(requests=(draft(MAX_QUESTIONS - 1, Stage.SUBMITTED),))
    assert [e for e in add_later(roomy, "ещё вопрос", context()) if isinstance(e, AddQuestion)]


async def test_the_thirty_first_question_through_the_chat(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    anna = ChatClient(http, app, "Анна")
    await anna.ask("плановый расклад")
    await anna.ask("да")
    for i in range(1, MAX_QUESTIONS + 1):
        clock.advance(minutes=1)  # a person typing, not a flood
        assert f"Вопросов в списке: {i}" in await anna.ask(f"Вопрос номер {i}?")
    clock.advance(minutes=1)
    refused = await anna.ask("А тридцать первый?")
    assert "30 вопросов" in refused and "не добавила" in refused
    clock.advance(minutes=1)
    assert "Вопросов: 30" in await anna.ask("готово")


# --- messages per minute ------------------------------------------------------------------


async def test_a_flood_is_stored_told_once_and_then_answered_again(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    catalogue = app.state.desk.catalogue
    anna = ChatClient(http, app, "Анна")
    answers = [await anna.ask(f"сообщение {i}") for i in range(catalogue.flood_messages + 4)]
    within = answers[: catalogue.flood_messages]
    assert all(a.strip() for a in within)  # every message up to the limit is answered
    notice = answers[catalogue.flood_messages]
    assert "сообщений очень много" in notice and "сохраняю все" in notice
    assert answers[catalogue.flood_messages + 1 :] == ["", "", ""]  # told once, not per message
    history = (await http.get("/chat/api/messages", params={"client_key": anna.key})).json()["messages"]
    assert len([m for m in history if m["direction"] == "in"]) == len(answers)  # nothing dropped
    clock.advance(minutes=catalogue.flood_minutes + 1)
    assert "сообщений очень много" not in await anna.ask("где мой расклад?")
    assert (await anna.ask("меню")).strip()


# --- per-message size ---------------------------------------------------------------------


async def test_the_longest_web_message_is_answered(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    assert (await anna.ask("я" * MAX_TEXT)).strip()


async def test_a_longer_web_message_is_refused_with_a_reason(http: httpx.AsyncClient) -> None:
    body = {"client_key": "k1", "name": "Анна", "text": "я" * (MAX_TEXT + 1), "message_id": "long-1"}
    response = await http.post("/chat/api/messages", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "text"] and str(MAX_TEXT) in error["msg"]  # chat.js shows msg
    assert (await http.get("/chat/api/messages", params={"client_key": "k1"})).json() == {"messages": []}
