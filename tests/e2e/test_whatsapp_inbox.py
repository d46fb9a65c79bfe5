"""The Twilio webhook stores, the inbox worker handles (bot/whatsapp/inbox.py).

Concurrent requests share one commit (bot/inbound/group_commit.py), and none is answered before the
commit that holds its row: Twilio never re-sends after a 5xx, so an answer is a promise that the
message is durable. The worker then hands the stored rows to the desk in arrival order; a failing
one stays stored. Each batch is held before its first statement (the routing by `To`) until the
test releases it, and observed at the repository's store_batch; arrival is observed at
GroupCommit.submit: the order in which requests reached the shared commit.
"""

import asyncio
import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.desk import Handled
from bot.inbound.group_commit import GroupCommit
from bot.platform.cli import run as cli
from flows.model import Inbound
from main import build
from storage.inbox import InboxRepo
from storage.models import InboxUpdate, Message
from storage.platform import PractitionerStore
from tests.e2e.whatsapp_client import WEBHOOK, WhatsAppUser, post_signed, replay, rows, whatsapp_settings
from tests.factories import FakeClock
from tests.fakes.twilio_api import FROM, TwilioAPI

ANNA, BORIS, VERA = "+79161234567", "+79031234567", "+79261234567"
CARA_FROM = "whatsapp:+14155550003"  # another practitioner's sender on the same Twilio account


async def until(condition: Callable[[], object], what: str, cap: float = 15.0) -> None:
    """Yields to the app until the condition holds; the cap only turns a hang into a failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cap
    while not condition():
        assert loop.time() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.005)


class Held:
    """Every batch the webhook's group commit writes, each held before its first statement until
    released; and every request's MessageSid in the order it reached the group commit."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []  # the MessageSids each batch inserted, once written
        self.submitted: list[str] = []
        self.gates: list[asyncio.Event] = []  # one per batch begun

    def release(self, batch: int) -> None:
        self.gates[batch].set()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Held:
    seen = Held()
    route, store_batch, submit = PractitionerStore.ids_by_whatsapp_from, InboxRepo.store_batch, GroupCommit.submit

    async def held_route(self: PractitionerStore, senders: Any) -> dict[str, int]:  # noqa: ANN401
        gate = asyncio.Event()
        seen.gates.append(gate)
        await gate.wait()
        return await route(self, senders)

    async def recorded_store_batch(self: InboxRepo, **kwargs: Any) -> list[str]:  # noqa: ANN401
        seen.batches.append([external_id for external_id, _, _ in kwargs["updates"]])
        return await store_batch(self, **kwargs)

    async def recorded_submit(self: GroupCommit, row: Any) -> None:  # noqa: ANN401
        seen.submitted.append(row[1])  # (To, MessageSid, From, form)
        await submit(self, row)

    monkeypatch.setattr(PractitionerStore, "ids_by_whatsapp_from", held_route)
    monkeypatch.setattr(InboxRepo, "store_batch", recorded_store_batch)
    monkeypatch.setattr(GroupCommit, "submit", recorded_submit)
    return seen


def twiml(response: httpx.Response) -> bool:
    return response.status_code == 200 and "<Response" in response.text and "<Message" not in response.text


async def test_concurrent_messages_share_one_commit_and_each_is_answered_after_it(
    wa_app: FastAPI, wa_http: httpx.AsyncClient, wa_user: Callable[[str, str], WhatsAppUser], held: Held
) -> None:
    anna, boris, vera = wa_user(ANNA, "Анна"), wa_user(BORIS, "Борис"), wa_user(VERA, "Вера")
    lead = anna.form("Здравствуйте!")
    first = asyncio.create_task(post_signed(wa_http, WEBHOOK, lead))
    await until(lambda: len(held.gates) == 1, "the first batch to begin")
    forms = [boris.form("Здравствуйте!"), vera.form("Добрый день"), anna.form("Хочу плановый расклад")]
    rest = [asyncio.create_task(post_signed(wa_http, WEBHOOK, form)) for form in forms]
    await until(lambda: len(held.submitted) == 4, "every request to wait on the group commit")

    # Nothing is committed yet, so nobody has an answer.
    assert await rows(wa_app, InboxUpdate) == []
    assert not any(task.done() for task in (first, *rest))
    held.release(0)
    assert twiml(await first)
    # The three that arrived meanwhile are the next batch: one transaction, held before it begins.
    await until(lambda: len(held.gates) == 2, "the second batch to begin")
    assert held.batches == [[lead["MessageSid"]]]
    assert [row.external_id for row in await rows(wa_app, InboxUpdate)] == [lead["MessageSid"]]
    assert not any(task.done() for task in rest)
    held.release(1)
    assert all(twiml(response) for response in await asyncio.gather(*rest))
    assert held.batches == [[lead["MessageSid"]], held.submitted[1:]]
    assert sorted(held.submitted[1:]) == sorted(form["MessageSid"] for form in forms)
    assert len(held.gates) == 2  # two transactions for the four requests

    # Stored in arrival order, handled in that order afterwards (the webhook itself handled none).
    stored = await rows(wa_app, InboxUpdate)
    assert [row.external_id for row in stored] == held.submitted
    assert await rows(wa_app, Message) == []
    assert await wa_app.state.whatsapp.process_pending() == 4
    await wa_app.state.relay.drain()
    handled = [m.external_id for m in await rows(wa_app, Message) if m.direction == "in"]
    assert handled == held.submitted
    greeting, terms = anna.replies()
    assert "Анна" in greeting and "условия" in terms.lower()
    assert "Борис" in "\n".join(boris.replies()) and "Вера" in "\n".join(vera.replies())


async def test_one_message_sid_twice_in_one_batch_is_one_row_and_one_reply(
    wa_app: FastAPI,
    wa_http: httpx.AsyncClient,
    wa_user: Callable[[str, str], WhatsAppUser],
    twilio_api: TwilioAPI,
    held: Held,
) -> None:
    anna, boris = wa_user(ANNA, "Анна"), wa_user(BORIS, "Борис")
    first = asyncio.create_task(post_signed(wa_http, WEBHOOK, boris.form("Здравствуйте!")))
    await until(lambda: len(held.gates) == 1, "the first batch to begin")
    form = anna.form("Здравствуйте!")
    twice = [asyncio.create_task(post_signed(wa_http, WEBHOOK, form)) for _ in range(2)]
    await until(lambda: len(held.submitted) == 3, "both deliveries to wait on the group commit")
    held.release(0)
    await until(lambda: len(held.gates) == 2, "the second batch to begin")
    held.release(1)
    assert twiml(await first) and all(twiml(response) for response in await asyncio.gather(*twice))
    assert held.batches[1] == [form["MessageSid"], form["MessageSid"]]  # Twilio's retry, in the same batch

    assert [row.external_id for row in await rows(wa_app, InboxUpdate)].count(form["MessageSid"]) == 1
    assert await wa_app.state.whatsapp.process_pending() == 2
    await wa_app.state.relay.drain()
    assert len(twilio_api.delivered(anna.address)) == 1
    handled = [m.external_id for m in await rows(wa_app, Message) if m.direction == "in"]
    assert handled.count(form["MessageSid"]) == 1


async def test_a_message_that_cannot_be_stored_fails_only_its_own_request(
    wa_app: FastAPI,
    wa_http: httpx.AsyncClient,
    wa_user: Callable[[str, str], WhatsAppUser],
    held: Held,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch whose transaction fails is written again one message per transaction: the
    messages that store answer TwiML (Twilio never re-sends after a 5xx, so a stored message
    must not get one), only the one that cannot be stored fails."""
    anna, boris, vera = wa_user(ANNA, "Анна"), wa_user(BORIS, "Борис"), wa_user(VERA, "Вера")
    lead, fine, doomed = anna.form("Здравствуйте!"), boris.form("Здравствуйте!"), vera.form("Добрый день")
    recorded = InboxRepo.store_batch  # the held fixture's, which records each batch

    async def failing(self: InboxRepo, **kwargs: Any) -> list[str]:  # noqa: ANN401
        if any(sid == doomed["MessageSid"] for sid, _, _ in kwargs["updates"]):
            raise RuntimeError("lock timeout")
        return await recorded(self, **kwargs)

    monkeypatch.setattr(InboxRepo, "store_batch", failing)
    first = asyncio.create_task(post_signed(wa_http, WEBHOOK, lead))
    await until(lambda: len(held.gates) == 1, "the first batch to begin")
    rest = [asyncio.create_task(post_signed(wa_http, WEBHOOK, form)) for form in (fine, doomed)]
    await until(lambda: len(held.submitted) == 3, "both to wait on the group commit")
    held.release(0)
    assert twiml(await first)
    for batch in (1, 2, 3):  # the shared batch, then one transaction per message
        await until(lambda batch=batch: len(held.gates) > batch, f"batch {batch} to begin")
        held.release(batch)
    answered, failed = await asyncio.gather(*rest, return_exceptions=True)
    assert twiml(answered)
    # The route lets the error through: a 500 from the server (here raised by the ASGI transport).
    assert isinstance(failed, RuntimeError) or failed.status_code == 500
    assert [row.external_id for row in await rows(wa_app, InboxUpdate)] == [lead["MessageSid"], fine["MessageSid"]]


async def test_stored_messages_are_handled_in_arrival_order_per_client(
    wa_app: FastAPI, wa_http: httpx.AsyncClient, wa_user: Callable[[str, str], WhatsAppUser]
) -> None:
    """Two clients' conversations stored one after the other, with no pass in between: only
    handled in order do the answers make sense (terms before the consent, the list after it)."""
    anna, boris = wa_user(ANNA, "Анна"), wa_user(BORIS, "Борис")
    script = [
        (anna, "Здравствуйте!"),
        (boris, "Здравствуйте!"),
        (anna, "Хочу плановый расклад"),
        (boris, "1"),
        (anna, "Да, согласна"),
        (anna, "Что меня ждёт в работе?"),
    ]
    forms = [user.form(text) for user, text in script]
    for form in forms:
        assert twiml(await post_signed(wa_http, WEBHOOK, form))
    assert await rows(wa_app, Message) == []  # the webhook stores, nothing more

    assert await wa_app.state.whatsapp.process_pending() == len(script)
    await wa_app.state.relay.drain()
    handled = [m.external_id for m in await rows(wa_app, Message) if m.direction == "in"]
    assert handled == [form["MessageSid"] for form in forms]
    greeting, terms, ready, listed = anna.replies()
    assert "Анна" in greeting and "условия" in terms.lower()
    assert "готово" in ready and "Вопросов в списке: 1" in listed
    assert "4 дней до 2 недель" in boris.replies()[-1]


async def test_a_failing_message_stays_stored_and_the_replay_handles_it(
    wa_app: FastAPI, wa_user: Callable[[str, str], WhatsAppUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = wa_user(ANNA, "Анна")
    desk = wa_app.state.desk
    handle = desk.handle
    poisoned = anna.form("Здравствуйте!")
    failures = 2

    async def failing(inbound: Inbound) -> Handled:
        nonlocal failures
        if inbound.external_id == poisoned["MessageSid"] and failures:
            failures -= 1
            raise RuntimeError("the desk failed")
        return await handle(inbound)

    monkeypatch.setattr(desk, "handle", failing)
    await anna.send(poisoned)  # answered 200 + TwiML although the handling failed
    [row] = await rows(wa_app, InboxUpdate)
    assert row.processed_at is None and row.attempts == 1 and row.last_error == "RuntimeError"
    assert anna.replies() == []
    assert await wa_app.state.whatsapp.process_pending() == 0  # a worker pass leaves it to the replay
    assert await replay(wa_app) == 0  # fails again: counted, still kept
    [row] = await rows(wa_app, InboxUpdate)
    assert row.processed_at is None and row.attempts == 2

    assert await replay(wa_app) == 1
    await wa_app.state.relay.drain()
    [greeting] = anna.replies()
    assert "Анна" in greeting
    [row] = await rows(wa_app, InboxUpdate)
    assert row.processed_at is not None and row.attempts == 2


async def test_with_background_work_the_worker_handles_what_the_webhook_stored(
    db_path, twilio_api: TwilioAPI, clock: FakeClock  # noqa: ANN001
) -> None:
    app = build(whatsapp_settings(db_path, twilio_api), clock=clock, run_background=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            anna = WhatsAppUser(http, app, twilio_api, ANNA, "Анна")
            assert twiml(await post_signed(http, WEBHOOK, anna.form("Здравствуйте!")))
            # Nobody calls process_pending here: the store woke the worker, the relay sends.
            await until(lambda: twilio_api.delivered(anna.address), "Anna's reply", cap=30.0)
    [reply] = twilio_api.delivered(anna.address)
    assert "Анна" in reply.body


async def test_one_batch_stores_each_message_for_the_practitioner_it_was_sent_to(
    db_path, twilio_api: TwilioAPI, clock: FakeClock, held: Held  # noqa: ANN001
) -> None:
    """Routing by `To` is done for the whole batch at once: #1's number (and any number no row
    claims) is hers; a number another practitioner's row claims is that practitioner's."""
    settings = whatsapp_settings(db_path, twilio_api)
    out = io.StringIO()
    assert await cli(["practitioner", "add", "--slug", "cara", "--whatsapp-from", CARA_FROM], settings, out) == 0
    app = build(settings, clock=clock, run_background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            anna = WhatsAppUser(http, app, twilio_api, ANNA, "Анна")
            boris = WhatsAppUser(http, app, twilio_api, BORIS, "Борис")
            vera = WhatsAppUser(http, app, twilio_api, VERA, "Вера")
            first = asyncio.create_task(post_signed(http, WEBHOOK, anna.form("Здравствуйте!")))
            await until(lambda: len(held.gates) == 1, "the first batch to begin")
            forms = {
                "cara": boris.form("Здравствуйте!", To=CARA_FROM),
                "unclaimed": vera.form("Здравствуйте!", To="whatsapp:+10000000000"),
                "#1": anna.form("Хочу плановый расклад"),
            }
            rest = [asyncio.create_task(post_signed(http, WEBHOOK, form)) for form in forms.values()]
            await until(lambda: len(held.submitted) == 4, "every request to wait on the group commit")
            held.release(0)
            await until(lambda: len(held.gates) == 2, "the second batch to begin")
            held.release(1)
            assert all(twiml(response) for response in [await first, *await asyncio.gather(*rest)])
            assert len(held.gates) == 2  # one transaction for the three practitioners' messages

            cara = (await app.state.platform.by_slug("cara")).practitioner_id
            default = app.state.platform.default_id
            async with app.state.desk.sessions() as session:
                stored = {row.external_id: row.practitioner_id for row in await session.scalars(select(InboxUpdate))}
            assert stored[forms["cara"]["MessageSid"]] == cara
            assert stored[forms["unclaimed"]["MessageSid"]] == default
            assert stored[forms["#1"]["MessageSid"]] == default

            assert await app.state.whatsapp.process_pending() == 4
            await app.state.relay.drain()
    [to_boris] = twilio_api.delivered(boris.address)
    assert to_boris.params["From"] == CARA_FROM and "Борис" in to_boris.body  # her desk, her sender
    assert {r.params["From"] for r in twilio_api.delivered(anna.address) + twilio_api.delivered(vera.address)} == {FROM}
