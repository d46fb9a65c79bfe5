"""Erasure on request, export, and retention: every statement that forgets or hands out a client.

What statistics are made of is never touched: requests with their stages and timestamps, the stage
log, payments' amounts, bookings' times, messages' directions, kinds and times. What a person wrote
or is called is: message texts and media, question texts, result links, alert excerpts, names,
usernames, phones, time zones, notes, and the copies of these in the outbox and the raw inbox.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, null, or_, select, update

from flows.model import Channel
from flows.privacy import ERASED_ADDRESS
from storage.models import (
    Base,
    Booking,
    BusinessChat,
    Client,
    DeadLetter,
    Identity,
    InboxUpdate,
    Message,
    OutboxItem,
    Payment,
    PractitionerAlert,
    Question,
    Request,
    Restriction,
    ScheduledJob,
    StageChange,
    TermsAcceptance,
)
from storage.requests import OPEN
from storage.scoped import Scoped

ERASED_NAME = "—"
FINAL = ("sent", "failed", "uncertain")
UNSENT = ("pending", "waiting_window")
CLOSED = ("done", "cancelled", "no_show")
ERASED_REASON = "erased on the client's request"
# Fields an export leaves out: whose practice it is, and the secret that checks an invoice's payload.
NOT_EXPORTED = frozenset({"practitioner_id", "check_token"})
_CHUNK = 200  # LIKE conditions per statement
# Buttons are set to null(): SQL NULL. A JSON column stores a Python None as the JSON value null.


@dataclass(frozen=True)
class Erased:
    messages: int = 0
    questions: int = 0
    outbox: int = 0


@dataclass(frozen=True)
class Retained:
    """What a retention pass erased."""

    messages: int = 0
    questions: int = 0
    outbox: int = 0
    inbox: int = 0
    alerts: int = 0


@dataclass(frozen=True)
class AwaitingAddresses:
    client_id: int
    forgotten_at: datetime
    farewell_state: str | None  # None: no farewell was queued (no way to reach them)


def _row(row: Base) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in row.__mapper__.columns:
        if column.key in NOT_EXPORTED:
            continue
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


def _rowcount(result: Any) -> int:  # noqa: ANN401 (a CursorResult)
    return int(result.rowcount or 0)


class PrivacyRepo(Scoped):
    # Erasure on request

    async def asked_at(self, client_id: int) -> datetime | None:
        """When the client last asked to be forgotten (the alert she got is the record)."""
        return await self.session.scalar(
            select(func.max(PractitionerAlert.created_at)).where(
                PractitionerAlert.practitioner_id == self.pid,
                PractitionerAlert.client_id == client_id,
                PractitionerAlert.kind == "forget",
            )
        )

    async def forget(self, client_id: int, now: datetime, *, timezone: str, spare_key: str) -> Erased:
        """Erase one client in the caller's transaction. The outbox row under `spare_key` (the
        farewell) and its history row keep their text; addresses stay until `finish` (the farewell
        must still be deliverable, and the web chat finds its client by address)."""
        client = await self.session.scalar(
            select(Client).where(Client.practitioner_id == self.pid, Client.id == client_id)
        )
        if client is None or client.forgotten_at is not None:
            return Erased()
        await self.session.flush()
        spared = list(
            await self.session.scalars(
                select(OutboxItem.message_id).where(
                    OutboxItem.practitioner_id == self.pid,
                    OutboxItem.idempotency_key == spare_key,
                    OutboxItem.message_id.is_not(None),
                )
            )
        )
        messages = await self.session.execute(
            update(Message)
            .where(
                Message.practitioner_id == self.pid,
                Message.client_id == client_id,
                Message.erased_at.is_(None),
                Message.id.not_in(spared),
            )
            .values(text="", media_ref=None, buttons=null(), erased_at=now)
            .execution_options(synchronize_session=False)
        )
        outbox = await self._scrub_outbox(self._client_rows(client_id), spare_key)
        outbox += await self._scrub_practitioner_copies(client)
        requests = select(Request.id).where(Request.practitioner_id == self.pid, Request.client_id == client_id)
        questions = await self.session.execute(
            update(Question)
            .where(Question.practitioner_id == self.pid, Question.request_id.in_(requests))
            .values(text="")
            .execution_options(synchronize_session=False)
        )
        for statement in (
            update(Request).where(Request.client_id == client_id).values(result_link=None),
            update(Restriction).where(Restriction.client_id == client_id).values(reason=""),
            update(Payment).where(Payment.client_id == client_id).values(checkout_url=None),
            update(ScheduledJob).where(ScheduledJob.client_id == client_id).values(payload=null()),
            update(PractitionerAlert)
            .where(PractitionerAlert.client_id == client_id)
            .values(excerpt="", seen_at=func.coalesce(PractitionerAlert.seen_at, now)),
        ):
            model = statement.table
            await self.session.execute(
                statement.where(model.c.practitioner_id == self.pid).execution_options(synchronize_session=False)
            )
        await self._scrub_raw(await self._identities(client_id))
        client.display_name, client.username, client.phone = ERASED_NAME, None, None
        client.timezone, client.flag_reason = timezone, None
        client.step, client.step_service, client.step_request_id = "idle", None, None
        client.flood_reported_at = client.offhours_notified_at = None
        client.forgotten_at = now
        await self.session.flush()
        return Erased(_rowcount(messages), _rowcount(questions), outbox)

    def _client_rows(self, client_id: int) -> ColumnElement[bool]:
        return OutboxItem.message_id.in_(
            select(Message.id).where(Message.practitioner_id == self.pid, Message.client_id == client_id)
        )

    async def _scrub_outbox(self, which: ColumnElement[bool], spare_key: str | None = None) -> int:
        """Texts off the matching outbox rows; unsent ones are called off (a row being sent is left
        to finish: its text is already with the relay)."""
        base = [OutboxItem.practitioner_id == self.pid, which, OutboxItem.state != "sending"]
        if spare_key is not None:
            base.append(OutboxItem.idempotency_key != spare_key)
        await self.session.execute(
            update(OutboxItem)
            .where(*base, OutboxItem.state.in_(UNSENT))
            .values(state="failed", last_error=ERASED_REASON)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(
            update(OutboxItem)
            .where(*base, OutboxItem.text != "")
            .values(text="", buttons=null())
            .execution_options(synchronize_session=False)
        )
        return _rowcount(result)

    async def _scrub_practitioner_copies(self, client: Client) -> int:
        """Her alerts and pushes about the client (by their keys), and her command answers that
        name the client (by the name, @username or number in them): texts off. An alert about no
        one client (the digest) keeps its text with the client's name in it replaced: what it says
        of the others stays on her page."""
        alert_ids = list(
            await self.session.scalars(
                select(PractitionerAlert.id).where(
                    PractitionerAlert.practitioner_id == self.pid, PractitionerAlert.client_id == client.id
                )
            )
        )
        job_keys = list(
            await self.session.scalars(
                select(ScheduledJob.key).where(
                    ScheduledJob.practitioner_id == self.pid, ScheduledJob.client_id == client.id
                )
            )
        )
        prefixes = [f"alert:{i}:" for i in alert_ids] + [f"{key}:" for key in job_keys]
        scrubbed = 0
        for start in range(0, len(prefixes), _CHUNK):
            chunk = prefixes[start : start + _CHUNK]
            scrubbed += await self._scrub_outbox(
                or_(*(OutboxItem.idempotency_key.startswith(p, autoescape=True) for p in chunk))
            )
        needles = [
            n for n in (client.display_name.strip(), client.username and f"@{client.username}", client.phone) if n
        ]
        needles = [n for n in needles if len(n) >= 3 and n != ERASED_NAME]  # «Ан» would match half her answers
        if needles:
            scrubbed += await self._scrub_outbox(
                and_(
                    OutboxItem.message_id.is_(None),
                    OutboxItem.state.in_(FINAL),
                    or_(*(OutboxItem.text.contains(n, autoescape=True) for n in needles)),
                )
            )
            excerpt: ColumnElement[str] = PractitionerAlert.excerpt
            for needle in needles:
                excerpt = func.replace(excerpt, needle, ERASED_NAME)
            await self.session.execute(
                update(PractitionerAlert)
                .where(
                    PractitionerAlert.practitioner_id == self.pid,
                    PractitionerAlert.client_id.is_(None),
                    or_(*(PractitionerAlert.excerpt.contains(n, autoescape=True) for n in needles)),
                )
                .values(excerpt=excerpt)
                .execution_options(synchronize_session=False)
            )
        return scrubbed

    async def _identities(self, client_id: int) -> list[Identity]:
        rows = await self.session.scalars(
            select(Identity).where(Identity.practitioner_id == self.pid, Identity.client_id == client_id)
        )
        return list(rows)

    async def _scrub_raw(self, identities: list[Identity]) -> None:
        """Raw updates (Telegram JSON, Twilio forms) and dead letters that carry one of the addresses:
        payloads off. A processed update is never read again, so a chat id that also occurs in some
        other update's numbers costs nothing; an unprocessed one is left to be handled (it will start
        a new client)."""
        for identity in identities:
            if identity.address.startswith("erased:"):
                continue
            for model, condition in (
                (InboxUpdate, InboxUpdate.processed_at.is_not(None)),
                (DeadLetter, DeadLetter.practitioner_id == self.pid),
            ):
                await self.session.execute(
                    update(model)
                    .where(
                        model.practitioner_id == self.pid,
                        model.channel == identity.channel,
                        condition,
                        model.payload.contains(identity.address, autoescape=True),
                    )
                    .values(payload="")
                    .execution_options(synchronize_session=False)
                )

    async def release_addresses(self, client_id: int) -> int:
        """The forgotten client's identities let go of their addresses: the next message from one
        of them starts a new client."""
        identities = [i for i in await self._identities(client_id) if not i.address.startswith("erased:")]
        business = [i.address for i in identities if i.channel == Channel.TELEGRAM_BUSINESS]
        if business:  # a business chat's row names the client's chat: it goes with the address
            await self.session.execute(
                delete(BusinessChat)
                .where(BusinessChat.practitioner_id == self.pid, BusinessChat.address.in_(business))
                .execution_options(synchronize_session=False)
            )
        for identity in identities:
            identity.address = ERASED_ADDRESS.format(id=identity.id)
        await self.session.flush()  # before a new identity with the same address is inserted
        return len(identities)

    async def awaiting_addresses(self) -> list[AwaitingAddresses]:
        """Forgotten clients whose addresses are still kept, with their farewell's state."""
        clients = list(
            await self.session.execute(
                select(Client.id, Client.forgotten_at).where(
                    Client.practitioner_id == self.pid,
                    Client.forgotten_at.is_not(None),
                    Client.addresses_erased_at.is_(None),
                )
            )
        )
        if not clients:
            return []
        keys = {f"forget:{client_id}": client_id for client_id, _ in clients}
        states = dict(
            (keys[key], state)
            for key, state in await self.session.execute(
                select(OutboxItem.idempotency_key, OutboxItem.state).where(
                    OutboxItem.practitioner_id == self.pid, OutboxItem.idempotency_key.in_(list(keys))
                )
            )
        )
        return [AwaitingAddresses(client_id, at, states.get(client_id)) for client_id, at in clients]

    async def finish(self, client_id: int, now: datetime) -> None:
        """The last of a forgotten client: addresses off the identities and the outbox rows (the
        farewell's too: sent, or given up on)."""
        await self.release_addresses(client_id)
        which = [OutboxItem.practitioner_id == self.pid, self._client_rows(client_id), OutboxItem.state != "sending"]
        await self.session.execute(
            update(OutboxItem)
            .where(*which, OutboxItem.state.in_(UNSENT))
            .values(state="failed", last_error=ERASED_REASON)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(OutboxItem).where(*which).values(destination="erased").execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(Client)
            .where(Client.practitioner_id == self.pid, Client.id == client_id)
            .values(addresses_erased_at=now)
            .execution_options(synchronize_session=False)
        )

    # Export

    async def export(self, client_id: int) -> dict[str, Any] | None:
        """Everything kept about one client, as JSON-ready values; None for no such client."""
        client = await self.session.scalar(
            select(Client).where(Client.practitioner_id == self.pid, Client.id == client_id)
        )
        if client is None:
            return None
        requests = await self._of(Request, Request.client_id == client_id)
        ids = [r.id for r in requests]
        questions = await self._of(Question, Question.request_id.in_(ids))
        stages = await self._of(StageChange, StageChange.request_id.in_(ids))
        return {
            "client": _row(client),
            "identities": [_row(r) for r in await self._of(Identity, Identity.client_id == client_id)],
            "terms": [_row(r) for r in await self._of(TermsAcceptance, TermsAcceptance.client_id == client_id)],
            "messages": [_row(r) for r in await self._of(Message, Message.client_id == client_id)],
            "requests": [
                {
                    **_row(r),
                    "questions": [_row(q) for q in questions if q.request_id == r.id],
                    "stage_changes": [_row(s) for s in stages if s.request_id == r.id],
                }
                for r in requests
            ],
            "payments": [_row(r) for r in await self._of(Payment, Payment.client_id == client_id)],
            "bookings": [_row(r) for r in await self._of(Booking, Booking.client_id == client_id)],
            "restrictions": [_row(r) for r in await self._of(Restriction, Restriction.client_id == client_id)],
        }

    async def _of(self, model: type[Base], condition: ColumnElement[bool]) -> list[Any]:
        rows = await self.session.scalars(
            select(model).where(model.practitioner_id == self.pid, condition).order_by(model.id)  # type: ignore[attr-defined]
        )
        return list(rows)

    # Retention

    async def erase_before(self, cutoff: datetime, now: datetime) -> Retained:
        """RETENTION_DAYS: texts from before `cutoff` go, except a client's while one of their
        requests is open (she still works from that history). Questions go with their closed request."""

        def no_open_request(client_id: Any) -> ColumnElement[bool]:  # noqa: ANN401 (a column)
            return ~exists().where(
                Request.practitioner_id == self.pid, Request.client_id == client_id, Request.stage.in_(OPEN)
            )

        messages = await self.session.execute(
            update(Message)
            .where(
                Message.practitioner_id == self.pid,
                Message.erased_at.is_(None),
                Message.created_at < cutoff,
                no_open_request(Message.client_id),
            )
            .values(text="", media_ref=None, buttons=null(), erased_at=now)
            .execution_options(synchronize_session=False)
        )
        questions = await self.session.execute(
            update(Question)
            .where(
                Question.practitioner_id == self.pid,
                Question.created_at < cutoff,
                Question.text != "",
                exists().where(Request.id == Question.request_id, Request.stage.in_(CLOSED)),
            )
            .values(text="")
            .execution_options(synchronize_session=False)
        )
        alerts = await self.session.execute(
            update(PractitionerAlert)
            .where(
                PractitionerAlert.practitioner_id == self.pid,
                PractitionerAlert.created_at < cutoff,
                PractitionerAlert.excerpt != "",
                no_open_request(PractitionerAlert.client_id),
            )
            .values(excerpt="")
            .execution_options(synchronize_session=False)
        )
        # The outbox's copy is never needed once a row is settled: history keeps what still counts.
        outbox = await self.session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.practitioner_id == self.pid,
                OutboxItem.created_at < cutoff,
                OutboxItem.state.in_(FINAL),
                OutboxItem.text != "",
            )
            .values(text="", buttons=null())
            .execution_options(synchronize_session=False)
        )
        inbox = await self.session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.practitioner_id == self.pid,
                InboxUpdate.received_at < cutoff,
                InboxUpdate.processed_at.is_not(None),
                InboxUpdate.payload != "",
            )
            .values(payload="")
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(DeadLetter)
            .where(DeadLetter.practitioner_id == self.pid, DeadLetter.created_at < cutoff, DeadLetter.payload != "")
            .values(payload="")
            .execution_options(synchronize_session=False)
        )
        return Retained(
            messages=_rowcount(messages),
            questions=_rowcount(questions),
            outbox=_rowcount(outbox),
            inbox=_rowcount(inbox),
            alerts=_rowcount(alerts),
        )
