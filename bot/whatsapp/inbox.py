"""WhatsApp inbound: a signed Twilio form is stored, the webhook answers, a worker runs the desk.

Twilio never re-sends after a 5xx (shared/RELIABILITY.md), so the webhook answers only once the
raw form is committed, and nothing else: concurrent requests share that commit (group commit,
bot/inbound/group_commit.py; WhatsAppIngest), and the desk runs afterwards in a worker per practitioner
(WhatsAppInbox), woken by the store, over her stored rows in arrival order. A row whose handling
fails stays stored; it and the later messages of the same client wait for the replay tick (every
30 s, which also applies late status reports, bot/whatsapp/status.py), so one client's messages
are never handled out of order while the other clients' go on. After MAX_ATTEMPTS a row is set
aside as a dead letter.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.desk import Desk
from bot.inbound.group_commit import GroupCommit, Outcomes
from bot.inbound.pass_limit import PassLimit
from bot.inbound.wakeup import Wakeup
from bot.whatsapp import status as whatsapp_status
from flows.model import Channel, Inbound, Kind
from storage.delivery import DeliveryRepo
from storage.inbox import InboxRepo
from storage.locks import exclusive
from storage.platform import PractitionerStore
from storage.uow import dead_letter

log = logging.getLogger(__name__)

CHANNEL = Channel.WHATSAPP.value
MAX_ATTEMPTS = 5
MAX_PAYLOAD_BUTTON = 64
PER_TURN = 10  # messages a pass handles before it lets another practitioner's pass in
# Passes at once in one process, every practitioner's together: on PostgreSQL a pass holds two
# pooled connections (its lock's and its work's), and 100 inboxes' passes at once took the whole
# pool (bot/telegram/inbox.py PASSES_AT_ONCE, found by bench/practitioners.py).
PASSES_AT_ONCE = 2
# Every store wakes the worker at once, failed messages wait for the replay tick and crashes are
# the replay's too: the idle tick is only a backstop, kept slow so that many practitioners' idle
# inboxes do not read the database every second.
IDLE_SECONDS = 10.0
_PASSES = PassLimit(PASSES_AT_ONCE)


def twilio_media_url(url: str | None) -> str | None:
    """MediaUrl0 can point anywhere: keep it only when it is Twilio's own (an SSRF otherwise,
    Typebot PR #2428). priem never fetches media; the reference is for the practitioner."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or parts.username or parts.port is not None:
        return None
    return url if host == "api.twilio.com" or host.endswith(".twilio.com") else None


def _media(form: Mapping[str, str]) -> tuple[Kind, str | None]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    if count <= 0:
        return Kind.TEXT, None
    content_type = (form.get("MediaContentType0") or "").lower()
    if content_type.startswith("audio/"):
        kind = Kind.VOICE  # WhatsApp voice notes arrive as audio/ogg media
    elif content_type.startswith("image/"):
        kind = Kind.PHOTO
    else:
        kind = Kind.OTHER
    return kind, twilio_media_url(form.get("MediaUrl0"))


def tapped(form: Mapping[str, str]) -> tuple[str | None, str]:
    """The payload and title of a tapped button: a quick reply (ButtonPayload, ButtonText) or a
    list-picker item (ListId, ListTitle). The id is the payload the flows gave the button, as
    Telegram's callback data is; one that is too long is none of ours and is read as text."""
    payload = (form.get("ButtonPayload") or form.get("ListId") or "").strip()
    title = form.get("ButtonText") or form.get("ListTitle") or ""
    return (payload if len(payload) <= MAX_PAYLOAD_BUTTON else None) or None, title


def inbound_from_form(form: Mapping[str, str], received_at: datetime) -> Inbound:
    kind, media_ref = _media(form)
    payload, title = tapped(form)
    return Inbound(
        channel=Channel.WHATSAPP,
        external_id=form["MessageSid"],
        sender_ref=form["From"],
        sender_name=form.get("ProfileName", ""),
        text=form.get("Body") or title,  # the title, as the web chat and Telegram keep a tap
        received_at=received_at,
        kind=kind,
        payload=payload,
        media_ref=media_ref,
    )


Stored = tuple[str, str, str, str]  # To, MessageSid, From, the form as JSON


class WhatsAppIngest:
    """The webhook's store, for every practitioner: concurrent requests' forms are routed and
    written in one transaction (bot/inbound/group_commit.py), and each request is answered only once
    that transaction has committed its row. Routing by `To` (her sender number, bot/platform/tenants.py)
    is one query per batch here, not one per request: on SQLite's one connection a lookup per
    request cost nearly half the route's throughput (bench/README.md, ingest)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        default_id: int,
        inbox_of: Callable[[int], Awaitable["WhatsAppInbox | None"]],
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.default_id = default_id  # #1: TWILIO_WHATSAPP_FROM, and any number no row claims
        self.inbox_of = inbox_of
        self._grouped: GroupCommit[Stored] = GroupCommit(self.store)

    async def accept(self, form: Mapping[str, str]) -> None:
        """On return the message is durable (deduplicated on MessageSid), stored for the
        practitioner whose number it was sent `To`. Not handled here: her inbox's worker does.
        An authentic form without a usable MessageSid or From becomes a dead letter."""
        to = form.get("To", "")
        sid, sender = form.get("MessageSid", "").strip(), form.get("From", "").strip()
        payload = json.dumps(dict(form), ensure_ascii=False)
        if not sid or not sender or len(sid) > 128 or len(sender) > 128:
            async with self.sessions() as session:
                owner = (await self._route(session, [to])).get(to, self.default_id)
            await dead_letter(
                self.sessions,
                practitioner_id=owner,
                channel=CHANNEL,
                external_id=sid[:128] or None,
                payload=payload,
                reason="a signed form without a usable MessageSid or From",
                now=self.clock(),
            )
            return
        await self._grouped.submit((to, sid, sender, payload))

    async def _route(self, session: AsyncSession, numbers: Sequence[str]) -> dict[str, int]:
        return await PractitionerStore(session).ids_by_whatsapp_from([n for n in numbers if n])

    async def store(self, forms: Sequence[Stored]) -> Outcomes:
        """Make a batch durable in one transaction: per practitioner one insert for the rows (a
        repeated MessageSid, stored before or earlier in the batch, is skipped) and one window
        release for their senders (storage/delivery.py opened_many); then wake her worker.
        Returns None when every row is durable, else one outcome per form (bot/inbound/group_commit.py)."""
        now = self.clock()
        fresh: dict[int, list[str]] = {}
        try:
            async with self.sessions() as session:
                owners = await self._route(session, [to for to, _, _, _ in forms])
                mine: dict[int, list[Stored]] = {}
                for form in forms:
                    mine.setdefault(owners.get(form[0], self.default_id), []).append(form)
                for practitioner_id, rows in mine.items():
                    new = await InboxRepo(session, practitioner_id).store_batch(
                        channel=CHANNEL, updates=[(sid, payload, False) for _, sid, _, payload in rows], now=now
                    )
                    first: dict[str, str] = {}
                    for _, sid, sender, _ in rows:
                        first.setdefault(sid, sender)
                    # As one delivery did: the client's window opens, rows held for it are due again.
                    senders = sorted({first[sid] for sid in new})
                    await DeliveryRepo(session, practitioner_id).opened_many(CHANNEL, senders, now)
                    if new:
                        fresh[practitioner_id] = new
                await session.commit()
        except Exception:
            if len(forms) == 1:
                raise  # a 5xx for this request only: nothing of it was acknowledged
            # Not every request of the batch should fail with it (a deadlock between two
            # processes' batches, a lock timeout): each row then gets its own transaction, and
            # only the requests whose rows failed answer an error.
            return await self._one_by_one(forms)
        for practitioner_id in fresh:
            await self._wake(practitioner_id)
        return None

    async def _one_by_one(self, forms: Sequence[Stored]) -> list[Exception | None]:
        outcomes: list[Exception | None] = []
        for form in forms:
            try:
                await self.store([form])
            except Exception as error:
                outcomes.append(error)
            else:
                outcomes.append(None)
        return outcomes

    async def _wake(self, practitioner_id: int) -> None:
        try:
            inbox = await self.inbox_of(practitioner_id)
        except Exception as error:  # her tenant could not be built: her replay tick retries it
            log.error("no whatsapp inbox for practitioner %s: %s", practitioner_id, type(error).__name__)
            return
        if inbox is not None:
            inbox.wake()


class WhatsAppInbox:
    """One practitioner's stored WhatsApp messages handed to her desk by a worker (bot/whatsapp/app.py
    keeps one per practitioner)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._wakeup = Wakeup()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        self._wakeup.wake()

    async def process_pending(self, *, retry_failed: bool = False) -> int:
        """Hand every stored message to the desk, in arrival order; returns how many were handled.

        A message that failed before is retried only with `retry_failed` (the replay tick), and
        the client's later messages wait behind it, so each client's are handled in order. One
        pass at a time: in this process (the asyncio lock) and across processes on PostgreSQL
        (an advisory lock per practitioner). As with Telegram's inbox (bot/telegram/inbox.py):
        no lock is taken when nothing is pending, few passes run at once in a process (each
        holds two pooled connections on PostgreSQL), and a pass yields after PER_TURN messages
        so that one practitioner's backlog does not hold up the others'."""
        desk = self.desk
        handled, after = 0, 0
        waiting: set[str] = set()  # clients with an earlier message not handled yet
        while True:
            async with desk.uow() as uow:
                if not await uow.inbox.pending(CHANNEL, 1, after):
                    return handled
            async with self._lock, _PASSES.here(), desk.uow() as guard:
                async with exclusive(guard.session, f"priem:whatsapp-inbox:{desk.practitioner_id}"):
                    async with desk.uow() as uow:
                        rows = await uow.inbox.pending(CHANNEL, PER_TURN, after)
                        batch = [(r.id, r.payload, r.received_at, r.attempts) for r in rows]
                    for row_id, payload, received_at, attempts in batch:
                        after = row_id
                        sender = _sender(payload)
                        if sender in waiting or (attempts and not retry_failed):
                            waiting.add(sender)
                            continue
                        if await self._process(row_id, payload, received_at):
                            handled += 1
                        else:
                            waiting.add(sender)

    async def _process(self, row_id: int, payload: str, received_at: datetime) -> bool:
        """Handle one stored message; False when it failed (counted on the row, or set aside)."""
        desk = self.desk
        try:
            await desk.handle(inbound_from_form(json.loads(payload), received_at))  # deduplicated on MessageSid
            async with desk.uow() as uow:
                row = await uow.inbox.get(row_id)
                if row is not None:
                    await uow.inbox.processed(row, desk.clock())
                await uow.commit()
            return True
        except Exception as error:  # the row stays; the replay tick tries again
            # The type only: SQLAlchemy's messages quote parameters, i.e. the client's text.
            log.error("whatsapp inbox row %s failed: %s", row_id, type(error).__name__)
            log.debug("whatsapp inbox row %s traceback", row_id, exc_info=True)
            await self._record_failure(row_id, type(error).__name__)
            return False

    async def _record_failure(self, row_id: int, error: str) -> None:
        desk = self.desk
        try:
            async with desk.uow() as uow:
                row = await uow.inbox.get(row_id)
                if row is None:
                    return
                await uow.inbox.failed(row, error)
                gave_up = row.attempts >= MAX_ATTEMPTS
                if gave_up:
                    await uow.inbox.processed(row, desk.clock())
                external_id, payload = row.external_id, row.payload
                await uow.commit()
            if gave_up:  # after the unit of work: SQLite's pool has one connection
                await dead_letter(
                    desk.sessions,
                    practitioner_id=desk.practitioner_id,
                    channel=CHANNEL,
                    external_id=external_id,
                    payload=payload,
                    reason=f"failed {MAX_ATTEMPTS} times: {error}",
                    now=desk.clock(),
                )
        except Exception as again:
            log.error("could not record the failure of whatsapp inbox row %s: %s", row_id, type(again).__name__)

    async def replay(self) -> int:
        """The slow tick: every stored message still unhandled (after a crash, or a failure), then
        late status reports. Returns how many messages were handled."""
        handled = await self.process_pending(retry_failed=True)
        await whatsapp_status.replay(self.desk, MAX_ATTEMPTS)
        return handled

    async def run(self, idle_seconds: float = IDLE_SECONDS) -> None:
        """Forever: process, then sleep until woken by a stored message or the idle tick."""
        await self._wakeup.loop(self.process_pending, "whatsapp inbox", idle_seconds)

    async def run_replay(self, every_seconds: float = 30.0) -> None:
        """Forever: replay (at start-up first: a crash may have left rows), then on every tick."""
        while True:
            try:
                await self.replay()
            except Exception as error:  # the database may be briefly unavailable
                log.error("whatsapp inbox replay failed: %s", type(error).__name__)
            await asyncio.sleep(every_seconds)


def _sender(payload: str) -> str:
    try:
        form = json.loads(payload)
    except ValueError:
        return ""
    return str(form.get("From", "")) if isinstance(form, dict) else ""
