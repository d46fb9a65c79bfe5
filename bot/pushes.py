"""Time-driven pushes: the shell around flows/pushes.py, run by the scheduler every ~30 s.

A sweep reads what is due from the database, asks the pure decisions, and queues each push in
its own transaction, so one failure (a busy SQLite writer, a client erased meanwhile) costs that
push one sweep, not the others. Once-only: a client push carries a Notice key (the outbox key is
UNIQUE), a practitioner push a scheduled_jobs row under its key (UNIQUE too); a second process
making the same decision inserts nothing and sends nothing.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.desk import Destination
from bot.notify import Notice, notify_client
from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from bot.texts import Texts
from flows import pushes as decide
from flows.catalogue import Catalogue, Intake
from flows.model import Priority
from flows.practice.pause import notice_prefix, resume_prefix
from storage.models import Client
from storage.pushes import PushRepo
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

QUEUED_INTAKES = (Intake.QUESTIONS, Intake.ONE_QUESTION)


class Pushes:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        practitioner_id: int,
        catalogue: Catalogue,
        texts: Texts,
        timezone: str,
        clock: Callable[[], datetime],
        practitioner_destinations: tuple[Destination, ...] = (),
        language: str = "ru",
        queue_updates_per_day: int = 3,
        nudge_after: timedelta = timedelta(hours=12),
        digest_hour: int | None = 9,  # None: no morning digest
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.practitioner_id = practitioner_id
        self.catalogue = catalogue
        self.texts = texts
        self.timezone = timezone
        self.clock = clock
        self.destinations = practitioner_destinations
        self.language = language
        self.queue_updates_per_day = queue_updates_per_day
        self.nudge_after = nudge_after
        self.digest_hour = digest_hour
        self.on_enqueued = on_enqueued
        self.on_wake: Callable[[], None] = lambda: None  # set by the scheduler: run a sweep now
        # A wake during a sweep: the scheduler skips the second run (one instance at a time), and
        # the running sweep may already be past the part the change concerns; it goes round again.
        self._woken = False

    def wake(self) -> None:
        """A stage changed (a request done or cancelled): sweep now, positions may have moved."""
        self._woken = True
        self.on_wake()

    async def sweep(self) -> int:
        """Queue every push due now (again while wakes keep coming); returns how many were queued."""
        queued = 0
        while True:
            self._woken = False
            queued += await self._sweep_once()
            if not self._woken:
                return queued

    async def _sweep_once(self) -> int:
        now = self.clock()
        queued = 0
        parts = (
            self._reminders,
            self._no_shows,
            self._deadlines,
            self._nudges,
            self._pauses,
            self._queue,
            self._digest,
        )
        for part in parts:
            try:
                queued += await part(now)
            except OperationalError:  # another process holds the writer: the next sweep retries
                log.warning("push sweep %s deferred: database busy", part.__name__, exc_info=True)
        if queued:
            self.on_enqueued()
        return queued

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    # Client pushes

    async def _reminders(self, now: datetime) -> int:
        async with self._uow() as uow:
            due = await PushRepo(uow.session, self.practitioner_id).upcoming_bookings(now, timedelta(hours=24))
        queued = 0
        for booking, client in due:
            kind = decide.reminder(booking.starts_at, booking.created_at, now)
            if kind is None:
                continue
            notice = Notice(
                text_id=f"push-{kind}",
                params={"starts_at": booking.starts_at, "number": booking.request_id},
                priority=Priority.REMINDER,
                key=f"{kind}:{booking.id}",
                request_id=booking.request_id,
            )
            queued += await self._to_client(client.id, notice, now)
        return queued

    async def _nudges(self, now: datetime) -> int:
        async with self._uow() as uow:
            quiet = await PushRepo(uow.session, self.practitioner_id).quiet_question_lists(now, now - self.nudge_after)
        queued = 0
        for client in quiet:
            if not decide.nudge_due(client.last_inbound_at, now, self.nudge_after):
                continue
            assert client.last_inbound_at is not None
            spell = int(client.last_inbound_at.timestamp())  # one nudge per quiet spell
            notice = Notice(
                text_id="push-nudge",
                params={"name": client.display_name},
                priority=Priority.REMINDER,
                key=f"nudge:{client.id}:{spell}",
                request_id=client.step_request_id,
            )
            queued += await self._to_client(client.id, notice, now)
        return queued

    async def _queue(self, now: datetime) -> int:
        services = tuple(s.key for s in self.catalogue.services if s.intake in QUEUED_INTAKES)
        async with self._uow() as uow:
            repo = PushRepo(uow.session, self.practitioner_id)
            moved = await repo.queue_moves(services)
            changes = decide.to_tell(
                [decide.QueueChange(m.request_id, m.client_id, m.position, m.notified) for m in moved]
            )
            restricted = await repo.restricted([c.client_id for c in changes], now)
        zones = {m.client_id: m.timezone for m in moved}
        queued = 0
        for change in changes:
            if change.client_id in restricted:
                continue
            async with self._uow() as uow:
                repo = PushRepo(uow.session, self.practitioner_id)
                _, day_start, _ = decide.local_day(now, zones[change.client_id])
                sent_today = await repo.queue_updates_since(change.client_id, day_start)
                move = decide.queue_move(change.position, change.notified, sent_today, self.queue_updates_per_day)
                if move is decide.QueueMove.WAIT or move is None:
                    continue
                if move is decide.QueueMove.PUSH:
                    client = await uow.clients.get(change.client_id)
                    notice = Notice(
                        text_id="push-queue",
                        params={"number": change.request_id, "position": change.position},
                        priority=Priority.BULK,
                        key=f"queue:{change.request_id}:{change.position}",
                        request_id=change.request_id,
                    )
                    if client is not None and await notify_client(uow, self.texts, client, notice, now):
                        queued += 1
                await repo.set_notified_position(change.request_id, change.position)
                await uow.commit()
        return queued

    async def _pauses(self, now: datetime) -> int:
        """A timed pause ran out: everyone told of it hears she is back, as after her /resume
        (the same keys: whichever comes first, each client is told once)."""
        async with self._uow() as uow:
            pauses = await PushRepo(uow.session, self.practitioner_id).run_out_pauses(now, decide.STALE)
        queued = 0
        for pause in pauses:
            if not decide.pause_over_due(pause.until, pause.ended_at, now):
                continue
            async with self._uow() as uow:
                # One transaction: the ledger row and every notice, or none of them.
                if not await PushRepo(uow.session, self.practitioner_id).fire_once(
                    f"pauseover:{pause.id}", "pause_over", now
                ):
                    continue
                told = 0
                for client_id in await uow.pauses.told(notice_prefix(pause.starts_at)):
                    client = await uow.clients.get(client_id)
                    notice = Notice(
                        text_id="client-pause-over",
                        params={},
                        priority=Priority.BULK,
                        key=f"{resume_prefix(pause.starts_at)}{client_id}",
                    )
                    if client is not None and await notify_client(uow, self.texts, client, notice, now):
                        told += 1
                await uow.commit()
            queued += told
        return queued

    async def _to_client(self, client_id: int, notice: Notice, now: datetime) -> int:
        async with self._uow() as uow:
            client = await uow.clients.get(client_id)
            if client is None or await notify_client(uow, self.texts, client, notice, now) is None:
                return 0
            await uow.commit()
        return 1

    # Practitioner pushes

    async def _no_shows(self, now: datetime) -> int:
        async with self._uow() as uow:
            started = await PushRepo(uow.session, self.practitioner_id).started_bookings(now, decide.STALE)
        queued = 0
        for booking, client in started:
            if decide.no_show_due(booking.starts_at, now):
                params = {"number": booking.request_id, "client": client.display_name, "starts_at": booking.starts_at}
                queued += await self._to_practitioner(
                    f"noshow:{booking.id}", "noshow", "push-noshow", params, now, client, booking.request_id
                )
        return queued

    async def _deadlines(self, now: datetime) -> int:
        async with self._uow() as uow:
            requests = await PushRepo(uow.session, self.practitioner_id).emergency_deadlines(
                now, ahead=timedelta(hours=12), behind=decide.STALE
            )
        queued = 0
        for request, client in requests:
            assert request.deadline_at is not None
            kind = decide.deadline_warning(request.deadline_at, now)
            if kind is None:
                continue
            params = {"number": request.id, "client": client.display_name, "deadline_at": request.deadline_at}
            queued += await self._to_practitioner(
                f"{kind}:{request.id}", kind, f"push-{kind}", params, now, client, request.id
            )
        return queued

    async def _digest(self, now: datetime) -> int:
        if self.digest_hour is None:
            return 0
        day = decide.digest_due(now, self.timezone, self.digest_hour)
        if day is None:
            return 0
        async with self._uow() as uow:
            _, start, end = decide.local_day(now, self.timezone)
            facts = await PushRepo(uow.session, self.practitioner_id).digest(start, end)
        calls = "\n".join(
            self._say("push-digest-call", {"starts_at": at, "client": name, "number": number})
            for at, name, number in facts.calls
        ) or self._say("push-digest-no-calls", {})
        params = {
            "today_date": now,
            "calls": calls,
            "emergencies": facts.emergencies,
            "queue": facts.queue,
            "flagged": facts.flagged,
        }
        return await self._to_practitioner(
            f"digest:{day.isoformat()}", "digest", "push-digest", params, now, priority=Priority.REMINDER
        )

    def _say(self, text_id: str, params: dict[str, Any]) -> str:
        return self.texts.text(text_id, params, self.language, self.timezone, zone=False)  # her own clock

    async def _to_practitioner(
        self,
        key: str,
        kind: str,
        text_id: str,
        params: dict[str, Any],
        now: datetime,
        client: Client | None = None,
        request_id: int | None = None,
        priority: Priority = Priority.URGENT,
    ) -> int:
        """To every practitioner destination and onto her page, as desk alerts go (bot/desk.py
        `_alert`): an alert row beside the messages, in the transaction that claims the key, so a
        second sweep or process adds neither. The digest's row names no client."""
        text = self._say(text_id, params)
        async with self._uow() as uow:
            repo = PushRepo(uow.session, self.practitioner_id)
            if not await repo.fire_once(key, kind, now, client.id if client else None, request_id):
                return 0
            await uow.alerts.add(
                client_id=client.id if client else None, kind=kind, excerpt=text[:1000], request_id=request_id, now=now
            )
            for destination in self.destinations:
                await outgoing.post(
                    uow,
                    channel=destination.channel,
                    destination=destination.address,
                    message=Rendered(text, priority=priority),
                    key=f"{key}:{destination.channel}:{destination.address}",
                    now=now,
                )
            await uow.commit()
        return len(self.destinations)
