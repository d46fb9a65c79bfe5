"""A new client's first two messages arriving at once (two webhook requests, or two workers): both
are stored and answered, and the client exists once; one message delivered twice at once still
has one effect.

The WhatsApp webhook only stores (bot/whatsapp/inbox.py) and one inbox pass at a time hands the
rows to the desk, so there the two handlings are run at once by the test itself: the desk must
stay right when two units of work race (two processes of a deployment without the inbox lock,
another channel's worker, a manual replay).

Both units of work look the WhatsApp number up, find nobody, and create the client; the unique
identity (practitioner, channel, address) lets one commit, and the other must then carry on with
that client instead of taking its conflict for a repeated delivery (which would drop the message).

On PostgreSQL each request holds its own pooled connection, as two worker processes would; a
listener on the app's engine holds every client insert until both units of work have reached it,
so the race happens on every run instead of now and then. On SQLite the one-connection pool runs
the units of work one after the other (the race cannot happen there, and the barrier would wait
forever); the test still checks the same outcome.
"""

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from bot.whatsapp.inbox import inbound_from_form
from storage.models import Client, Identity, InboxUpdate, Message
from tests import database
from tests.e2e.chat_client import ChatClient
from tests.e2e.whatsapp_client import WEBHOOK, WhatsAppUser, post_signed, rows
from tests.fakes.twilio_api import TwilioAPI

ANNA = "+79161234567"


def hold_inserts(app: FastAPI, table: str, parties: int = 2) -> None:
    """On PostgreSQL, the first `parties` inserts into `table` wait for one another: each of those
    units of work has read what it read (no such client, message not seen) and none has committed."""
    if not database.on_postgres():
        return
    engine: AsyncEngine = app.state.desk.sessions.kw["bind"]
    barrier = asyncio.Barrier(parties)
    arrived = 0

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _meet(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal arrived
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} ") and arrived < parties:
            arrived += 1
            await_only(asyncio.wait_for(barrier.wait(), timeout=15))  # a cap, not a timing claim


async def test_two_first_messages_at_once_are_both_stored_and_answered(
    wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI
) -> None:
    anna = WhatsAppUser(wa_http, wa_app, twilio_api, ANNA, "Анна")
    first, second = anna.form("Здравствуйте!"), anna.form("Хочу плановый расклад")
    answers = await asyncio.gather(*(post_signed(wa_http, WEBHOOK, form) for form in (first, second)))
    assert [a.status_code for a in answers] == [200, 200]
    stored = await rows(wa_app, InboxUpdate)
    assert sorted(row.external_id for row in stored) == sorted([first["MessageSid"], second["MessageSid"]])
    hold_inserts(wa_app, "clients")
    desk = wa_app.state.desk
    await asyncio.gather(
        *(desk.handle(inbound_from_form(json.loads(row.payload), row.received_at)) for row in stored)
    )
    await wa_app.state.whatsapp.process_pending()  # the worker's pass: both handled already
    await wa_app.state.relay.drain()

    [client] = await rows(wa_app, Client)
    [identity] = await rows(wa_app, Identity)
    assert identity.client_id == client.id and identity.address == anna.address
    inbox = await rows(wa_app, InboxUpdate)
    assert len(inbox) == 2 and all(row.processed_at is not None and row.last_error is None for row in inbox)
    history = await rows(wa_app, Message)
    assert {m.client_id for m in history} == {client.id}
    assert sorted(m.external_id for m in history if m.direction == "in") == sorted(
        [first["MessageSid"], second["MessageSid"]]
    )
    # Each message is answered in its own commit: its replies follow it, before the other one.
    directions = [m.direction for m in history]
    assert directions[0] == "in" and directions[-1] == "out"
    second_in = directions.index("in", 1)
    assert directions[1] == "out" and directions[second_in - 1] == "out"
    outgoing = [m for m in history if m.direction == "out"]
    assert len(twilio_api.delivered(anna.address)) == len(outgoing)


@pytest.mark.parametrize("known", [False, True], ids=["new client", "known client"])
async def test_one_message_delivered_twice_at_once_has_one_effect(
    http: httpx.AsyncClient, app: FastAPI, known: bool
) -> None:
    """The other side of the retry: a conflict that is a true repeat stays a repeat."""
    anna = ChatClient(http, app, "Анна")
    if known:
        await anna.say("Здравствуйте")
    hold_inserts(app, "messages" if known else "clients")
    body = {"client_key": anna.key, "name": anna.name, "text": "Хочу плановый расклад", "message_id": "twice"}
    answers = await asyncio.gather(*(http.post("/chat/api/messages", json=body) for _ in range(2)))
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
    await app.state.relay.drain()
    [client] = await rows(app, Client)
    history = await rows(app, Message, Message.client_id == client.id)
    assert [m.external_id for m in history if m.direction == "in"].count(f"{anna.key}:twice") == 1
    assert [m.direction for m in history].count("in") == (2 if known else 1)
