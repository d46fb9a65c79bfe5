"""The facts time-driven pushes are decided from, and the ledger that makes them once-only.

Nothing here is kept for the scheduler's sake alone: what is due derives from bookings,
requests, clients and restrictions. A practitioner push leaves a `scheduled_jobs` row under its
key (UNIQUE): a second process deciding the same push fails that insert and sends nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import Booking, Client, Message, OutboxItem, Pause, Request, Restriction, ScheduledJob
from storage.scoped import Scoped

OPEN = ("submitted", "queued", "in_work")


@dataclass(frozen=True)
class QueueMoved:
    request_id: int
    client_id: int
    position: int  # 1-based, within the service
    notified: int | None
    timezone: str  # the client's, for her day's allowance


@dataclass(frozen=True)
class DigestFacts:
    calls: list[tuple[datetime, str, int]]  # starts_at, client name, request number
    emergencies: int
    queue: int
    flagged: int


class PushRepo(Scoped):
    def _unrestricted(self, now: datetime):  # noqa: ANN202 (a SQL expression)
        return ~exists().where(
            Restriction.practitioner_id == self.pid,
            Restriction.client_id == Client.id,
            Restriction.lifted_at.is_(None),
            or_(Restriction.until.is_(None), Restriction.until > now),
        )

    def _bookings(self, now: datetime) -> Select:
        return (
            select(Booking, Client)
            .join(Client, Client.id == Booking.client_id)
            .join(Request, Request.id == Booking.request_id)
            .where(
                Booking.practitioner_id == self.pid,
                Booking.state == "booked",
                Request.stage != "cancelled",
                self._unrestricted(now),
            )
            .order_by(Booking.starts_at, Booking.id)
        )

    async def upcoming_bookings(self, now: datetime, within: timedelta) -> list[tuple[Booking, Client]]:
        rows = await self.session.execute(
            self._bookings(now).where(Booking.starts_at > now, Booking.starts_at <= now + within)
        )
        return [(b, c) for b, c in rows]

    async def started_bookings(self, now: datetime, since: timedelta) -> list[tuple[Booking, Client]]:
        rows = await self.session.execute(
            self._bookings(now).where(Booking.starts_at <= now, Booking.starts_at > now - since)
        )
        return [(b, c) for b, c in rows]

    async def emergency_deadlines(
        self, now: datetime, ahead: timedelta, behind: timedelta
    ) -> list[tuple[Request, Client]]:
        rows = await self.session.execute(
            select(Request, Client)
            .join(Client, Client.id == Request.client_id)
            .where(
                Request.practitioner_id == self.pid,
                Request.is_emergency.is_(True),
                Request.stage.in_(OPEN),
                Request.deadline_at.is_not(None),
                Request.deadline_at <= now + ahead,
                Request.deadline_at > now - behind,
                self._unrestricted(now),
            )
            .order_by(Request.deadline_at, Request.id)
        )
        return [(r, c) for r, c in rows]

    async def run_out_pauses(self, now: datetime, behind: timedelta) -> list[Pause]:
        """Timed pauses whose end came within `behind` and that no /resume ended."""
        rows = await self.session.scalars(
            select(Pause)
            .where(
                Pause.practitioner_id == self.pid,
                Pause.ended_at.is_(None),
                Pause.until.is_not(None),
                Pause.until <= now,
                Pause.until > now - behind,
            )
            .order_by(Pause.until, Pause.id)
        )
        return list(rows)

    async def quiet_question_lists(self, now: datetime, quiet_since: datetime) -> list[Client]:
        rows = await self.session.scalars(
            select(Client)
            .where(
                Client.practitioner_id == self.pid,
                Client.step == "questions",
                Client.last_inbound_at <= quiet_since,
                self._unrestricted(now),
            )
            .order_by(Client.id)
        )
        return list(rows)

    async def queue_moves(self, services: tuple[str, ...]) -> list[QueueMoved]:
        """The open requests of the queued services whose place (by service, then submission)
        is not the one last told, in queue order, restricted clients included (they still hold
        their place) — the shell does not tell them. The places are numbered in SQL (a window
        function over ix_requests_lane), so a sweep with nothing to say reads no rows."""
        ranked = (
            select(
                Request.id,
                Request.client_id,
                Request.service,
                Request.submitted_at,
                Request.notified_position,
                func.row_number()
                .over(partition_by=Request.service, order_by=(Request.submitted_at, Request.id))
                .label("position"),
            )
            .where(
                Request.practitioner_id == self.pid,
                Request.service.in_(services),
                Request.is_emergency.is_(False),
                Request.stage.in_(OPEN),
                Request.submitted_at.is_not(None),
            )
            .subquery()
        )
        rows = await self.session.execute(
            select(ranked.c.id, ranked.c.client_id, ranked.c.position, ranked.c.notified_position, Client.timezone)
            .join(Client, Client.id == ranked.c.client_id)
            .where(or_(ranked.c.notified_position.is_(None), ranked.c.notified_position != ranked.c.position))
            .order_by(ranked.c.service, ranked.c.submitted_at, ranked.c.id)
        )
        return [QueueMoved(rid, cid, int(position), notified, zone) for rid, cid, position, notified, zone in rows]

    async def restricted(self, client_ids: list[int], now: datetime) -> set[int]:
        if not client_ids:
            return set()
        rows = await self.session.scalars(select(Client.id).where(Client.id.in_(client_ids), ~self._unrestricted(now)))
        return set(rows)

    async def queue_updates_since(self, client_id: int, since: datetime) -> int:
        found = await self.session.scalar(
            select(func.count())
            .select_from(OutboxItem)
            .join(Message, Message.id == OutboxItem.message_id)
            .where(
                OutboxItem.practitioner_id == self.pid,
                Message.client_id == client_id,
                OutboxItem.idempotency_key.like("queue:%"),
                OutboxItem.created_at >= since,
            )
        )
        return int(found or 0)

    async def set_notified_position(self, request_id: int, position: int) -> None:
        await self.session.execute(
            update(Request)
            .where(Request.practitioner_id == self.pid, Request.id == request_id)
            .values(notified_position=position)
        )

    async def fire_once(
        self, key: str, kind: str, now: datetime, client_id: int | None = None, request_id: int | None = None
    ) -> bool:
        """Claim a push: True for the one process whose row under `key` went in."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    ScheduledJob(
                        practitioner_id=self.pid,
                        kind=kind,
                        key=key,
                        due_at=now,
                        client_id=client_id,
                        request_id=request_id,
                        state="done",
                        attempts=1,
                        created_at=now,
                        done_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def digest(self, day_start: datetime, day_end: datetime) -> DigestFacts:
        calls = await self.session.execute(
            select(Booking.starts_at, Client.display_name, Booking.request_id)
            .join(Client, Client.id == Booking.client_id)
            .where(
                Booking.practitioner_id == self.pid,
                Booking.state == "booked",
                and_(Booking.starts_at >= day_start, Booking.starts_at < day_end),
            )
            .order_by(Booking.starts_at)
        )
        open_requests = (
            select(func.count())
            .select_from(Request)
            .where(Request.practitioner_id == self.pid, Request.stage.in_(OPEN))
        )
        emergencies = await self.session.scalar(open_requests.where(Request.is_emergency.is_(True)))
        queue = await self.session.scalar(open_requests.where(Request.is_emergency.is_(False)))
        flagged = await self.session.scalar(
            select(func.count())
            .select_from(Client)
            .where(Client.practitioner_id == self.pid, Client.flagged_at.is_not(None))
        )
        return DigestFacts(
            calls=[(starts_at, name, int(rid)) for starts_at, name, rid in calls],
            emergencies=int(emergencies or 0),
            queue=int(queue or 0),
            flagged=int(flagged or 0),
        )

    async def book(
        self, *, request_id: int, client_id: int, starts_at: datetime, minutes: int, now: datetime
    ) -> Booking:
        """A booked call, as the booking flow stores it (tests and seeding use this)."""
        booking = Booking(
            practitioner_id=self.pid,
            request_id=request_id,
            client_id=client_id,
            starts_at=starts_at,
            minutes=minutes,
            state="booked",
            created_at=now,
        )
        self.session.add(booking)
        await self.session.flush()
        return booking
