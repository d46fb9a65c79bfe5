"""WhatsApp delivery end to end: Twilio outages, the 24-hour window, status callbacks, and
messages stored but not yet handled (a failure after storing, a crash, a restart)."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bot.whatsapp import inbox as whatsapp_inbox
from main import build
from storage.models import DeadLetter, InboxUpdate, Message, OutboxItem
from tests.e2e.dashboard_login import log_in
from tests.e2e.whatsapp_client import (
    STATUS,
    WhatsAppUser,
    post_signed,
    replay,
    rows,
    whatsapp_settings,
)
from tests.factories import FakeClock
from tests.fakes.twilio_api import ACCOUNT_SID, FROM, TwilioAPI

ANNA = "+79161234567"


async def outbox(app: FastAPI, anna: WhatsAppUser) -> list[OutboxItem]:
    return await rows(app, OutboxItem, OutboxItem.destination == anna.address)


async def report(
    http: httpx.AsyncClient, anna: WhatsAppUser, sid: str, status: str, **extra: str
) -> None:
    """A StatusCallback as Twilio posts it."""
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": ACCOUNT_SID,
        "From": FROM,
        "To": anna.address,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    response = await post_signed(http, STATUS, form)
    assert response.status_code == 200


@pytest.mark.parametrize("status, code", [(500, 20500), (503, 20503), (429, 20429)])
async def test_twilio_down_for_a_while_then_the_reply_arrives_once(
    wa_user, wa_app: FastAPI, twilio_api: TwilioAPI, clock: FakeClock, status: int, code: int
) -> None:
    twilio_api.fail_next(status, code, times=3)
    anna = wa_user(ANNA, "Анна")
    await anna.say("Здравствуйте!")  # the webhook answers 200 although Twilio is down
    assert anna.replies() == []
    [row] = await outbox(wa_app, anna)
    assert row.state == "pending" and row.last_error == f"twilio {status}/{code}"
    for _ in range(6):  # backoff with jitter: a few minutes of (fake) time is plenty
        clock.advance(minutes=5)
        await wa_app.state.relay.drain()
    replies = anna.replies()
    assert len(replies) == 1 and "Анна" in replies[0]
    assert len([r for r in twilio_api.requests if r.to == anna.address]) == 4
    [row] = await outbox(wa_app, anna)
    assert row.state == "sent" and row.external_id == twilio_api.delivered(anna.address)[0].sid


async def test_63016_holds_the_reply_until_the_client_writes_again(
    wa_user, wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI, clock: FakeClock
) -> None:
    twilio_api.fail_next(400, 63016)
    anna = wa_user(ANNA, "Анна")
    await anna.say("Здравствуйте!")
    [row] = await outbox(wa_app, anna)
    assert row.state == "waiting_window" and "24-hour window" in row.last_error
    clock.advance(hours=1)
    await wa_app.state.relay.drain()
    assert anna.replies() == [] and len(twilio_api.requests) == 1  # held, not retried
    await log_in(wa_http)
    [shown] = (await wa_http.get("/desk/api/state")).json()[
        "undelivered"
    ]  # the practitioner sees it
    assert shown["state"] == "waiting_window" and shown["client_name"] == "Анна"
    assert "24-hour window" in shown["error"] and "Я помощник практика" in shown["text"]

    await anna.say("где мой расклад?")
    held, fresh = anna.replies()
    assert "Анна" in held and "Я помощник практика" in held  # the greeting first, in order
    assert "открытых запросов у вас сейчас нет" in fresh
    assert {r.state for r in await outbox(wa_app, anna)} == {"sent"}
    assert (await wa_http.get("/desk/api/state")).json()["undelivered"] == []


async def test_a_push_outside_the_window_waits_without_a_request(
    wa_user, wa_app: FastAPI, twilio_api: TwilioAPI, clock: FakeClock
) -> None:
    anna = wa_user(ANNA, "Анна")
    await anna.say("Здравствуйте!")
    anna.replies()
    clock.advance(hours=25)
    async with wa_app.state.desk.uow() as uow:  # a queue update, as a later job would enqueue it
        await uow.outbox.enqueue(
            channel="whatsapp",
            destination=anna.address,
            priority=3,
            text="Ваше место в очереди: 1",
            key="push:1",
            now=clock(),
        )
        await uow.commit()
    before = len(twilio_api.requests)
    await wa_app.state.relay.drain()
    assert len(twilio_api.requests) == before  # known to be refused: no request spent on it
    push = (await outbox(wa_app, anna))[-1]
    assert push.state == "waiting_window" and "24-hour window" in push.last_error

    await anna.say("где мой расклад?")
    replies = anna.replies()
    assert replies[0] == "Ваше место в очереди: 1" and len(replies) == 2


async def test_status_callbacks_record_delivery_newest_first(
    wa_user, wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI
) -> None:
    anna = wa_user(ANNA, "Анна")
    await anna.say("Здравствуйте!")
    [sent] = twilio_api.delivered(anna.address)
    await report(wa_http, anna, sent.sid, "sent")
    assert (await outbox(wa_app, anna))[0].delivery_status == "sent"
    for status in ("read", "delivered", "sent"):  # Twilio's reports can arrive out of order
        await report(wa_http, anna, sent.sid, status)
    [row] = await outbox(wa_app, anna)
    assert row.delivery_status == "read" and row.state == "sent"
    await report(wa_http, anna, sent.sid, "read")  # a repeat: one inbox row, no error
    reports = await rows(wa_app, InboxUpdate, InboxUpdate.channel == "whatsapp_status")
    assert len(reports) == 3 and all(r.processed_at for r in reports)  # one per (sid, status)
    assert all(anna.address not in r.payload for r in reports)  # phone numbers are not kept


async def test_an_undelivered_report_shows_the_error(wa_user, wa_app, wa_http, twilio_api) -> None:
    anna = wa_user(ANNA, "Анна")
    await anna.say("Здравствуйте!")
    [sent] = twilio_api.delivered(anna.address)
    await report(wa_http, anna, sent.sid, "undelivered", ErrorCode="63024")
    [row] = await outbox(wa_app, anna)
    assert row.delivery_status == "undelivered" and row.last_error == "twilio 63024"
    await log_in(wa_http)
    [shown] = (await wa_http.get("/desk/api/state")).json()["undelivered"]
    assert shown["delivery_status"] == "undelivered" and shown["error"] == "twilio 63024"


async def test_a_failed_63016_report_holds_the_row_and_the_resend_gets_fresh_reports(
    wa_user, wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI
) -> None:
    anna = wa_user(ANNA, "Анна")
    await anna.say("Здравствуйте!")
    [first] = twilio_api.delivered(anna.address)
    await report(wa_http, anna, first.sid, "failed", ErrorCode="63016")
    [row] = await outbox(wa_app, anna)
    assert row.state == "waiting_window" and row.delivery_status == "failed"

    await anna.say("Вы тут?")
    resent = twilio_api.delivered(anna.address)[1]
    assert resent.body == first.body
    await report(wa_http, anna, resent.sid, "delivered")
    row = (await outbox(wa_app, anna))[0]
    assert (
        row.state == "sent"
        and row.external_id == resent.sid
        and row.delivery_status == "delivered"
    )


async def test_a_report_arriving_before_the_send_is_recorded_is_applied_later(
    wa_user, wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI
) -> None:
    anna = wa_user(ANNA, "Анна")
    early = "SM" + "e" * 32
    twilio_api.planned_sids.append(early)
    await report(wa_http, anna, early, "delivered")  # the relay has not recorded the send yet
    await anna.say("Здравствуйте!")
    assert (await outbox(wa_app, anna))[0].delivery_status is None
    await replay(wa_app)
    assert (await outbox(wa_app, anna))[0].delivery_status == "delivered"


async def test_a_report_on_a_message_not_ours_is_dropped_after_a_few_tries(
    wa_user, wa_app, wa_http
) -> None:
    await report(wa_http, wa_user(ANNA, "Анна"), "SM" + "0" * 32, "delivered")
    for _ in range(whatsapp_inbox.MAX_ATTEMPTS):
        await replay(wa_app)
    [row] = await rows(wa_app, InboxUpdate)
    assert row.processed_at is not None and row.attempts == whatsapp_inbox.MAX_ATTEMPTS


STORAGE_FAULTS = ("OperationalError", "ProgrammingError")


async def break_storage(app: FastAPI, broken: bool) -> None:
    """A storage fault after the inbox write: every handling of a message reads the queue
    lengths (for the conversation's context); the webhook's own write does not."""
    names = ("queue_counts", "queue_counts_away") if broken else ("queue_counts_away", "queue_counts")
    async with app.state.desk.uow() as uow:
        await uow.session.execute(text(f"ALTER TABLE {names[0]} RENAME TO {names[1]}"))
        await uow.commit()


async def test_a_failure_after_storing_answers_200_and_the_worker_handles_it_once(
    wa_user, wa_app: FastAPI, twilio_api: TwilioAPI
) -> None:
    anna = wa_user(ANNA, "Анна")
    await break_storage(wa_app, broken=True)
    await anna.say("Здравствуйте!")  # asserts 200 + TwiML: Twilio would never re-send a 5xx
    [row] = await rows(wa_app, InboxUpdate)
    # SQLite reports the missing table as OperationalError, PostgreSQL as ProgrammingError.
    assert row.processed_at is None and row.attempts == 1 and row.last_error in STORAGE_FAULTS
    assert await rows(wa_app, Message) == []

    await break_storage(wa_app, broken=False)
    assert await wa_app.state.whatsapp.process_pending() == 0  # the worker leaves it to the replay
    assert await replay(wa_app) == 1
    assert await replay(wa_app) == 0  # nothing left to do
    await wa_app.state.relay.drain()
    assert len(anna.replies()) == 1
    assert [m.direction for m in await rows(wa_app, Message)] == ["in", "out"]


async def test_a_message_that_keeps_failing_is_dead_lettered(wa_user, wa_app: FastAPI) -> None:
    await break_storage(wa_app, broken=True)
    await wa_user(ANNA, "Анна").say("Здравствуйте!")
    for _ in range(whatsapp_inbox.MAX_ATTEMPTS - 1):
        await replay(wa_app)
    [row] = await rows(wa_app, InboxUpdate)
    assert row.processed_at is not None and row.attempts == whatsapp_inbox.MAX_ATTEMPTS
    [letter] = await rows(wa_app, DeadLetter)
    assert letter.external_id == row.external_id and any(fault in letter.reason for fault in STORAGE_FAULTS)
    await break_storage(wa_app, broken=False)


async def test_a_failed_message_holds_back_its_client_only_until_the_replay(
    wa_user, wa_app: FastAPI
) -> None:
    anna, boris = wa_user(ANNA, "Анна"), wa_user("+79031234567", "Борис")
    first, second = anna.form("Здравствуйте!"), anna.form("Хочу плановый расклад")
    await break_storage(wa_app, broken=True)
    await anna.send(first)  # stored; its handling fails
    await break_storage(wa_app, broken=False)
    await anna.send(second)  # stored; waits behind her first message
    await boris.say("Здравствуйте!")  # another client: handled at once
    assert "Борис" in "\n".join(boris.replies()) and anna.replies() == []
    inbox = await rows(wa_app, InboxUpdate)
    assert [(row.processed_at is not None, row.attempts) for row in inbox] == [(False, 1), (False, 0), (True, 0)]

    assert await replay(wa_app) == 2  # her two messages, in the order she sent them
    await wa_app.state.relay.drain()
    greeting, terms = anna.replies()
    assert "Анна" in greeting and "условия" in terms.lower()
    handled = [m.external_id for m in await rows(wa_app, Message) if m.direction == "in"]
    assert handled[1:] == [first["MessageSid"], second["MessageSid"]]  # Boris's first


async def test_a_restart_replays_what_was_stored_but_not_handled(
    db_path, twilio_api: TwilioAPI
) -> None:
    clock = FakeClock()
    settings = whatsapp_settings(db_path, twilio_api)
    first = build(settings, clock=clock, run_background=False)
    async with first.router.lifespan_context(first):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://t"
        ) as http:
            anna = WhatsAppUser(http, first, twilio_api, ANNA, "Анна")
            await break_storage(first, broken=True)
            await anna.say("Здравствуйте!")  # stored; the process "dies" before handling it
            await break_storage(first, broken=False)
    assert twilio_api.delivered() == []

    second = build(settings, clock=clock, run_background=True)
    async with second.router.lifespan_context(second):
        # The worker replays at start-up; the relay sends in the background. Anna's reply is
        # awaited, not the first send: the practitioner's morning digest is due too, and on
        # PostgreSQL it can go out first.
        for _ in range(1500):
            if twilio_api.delivered(anna.address):
                break
            await asyncio.sleep(0.01)
    [reply] = twilio_api.delivered(anna.address)
    assert "Анна" in reply.body
