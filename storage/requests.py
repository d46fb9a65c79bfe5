"""Requests, their questions and their stage history; queue positions derive from timestamps
(counted through storage/queue_counts.py, which every stage change keeps in step)."""

import functools
from collections.abc import Iterable
from datetime import datetime
from statistics import median

from sqlalchemy import CompoundSelect, bindparam, func, select, union_all

from storage import queue_counts
from storage.bookings import SETTLED_BY_STAGE, BookingRepo
from storage.models import Client, Identity, Question, Request, StageChange
from storage.queue_counts import OPEN
from storage.scoped import Scoped

# Each stage stamps its own column, so statistics never need the event log to be replayed.
STAMP = {
    "submitted": "submitted_at",
    "queued": "paid_at",
    "in_work": "started_at",
    "done": "done_at",
    "cancelled": "cancelled_at",
}


class RequestRepo(Scoped):
    async def open(
        self, *, client_id: int, service: str, stage: str, emergency: bool, now: datetime
    ) -> Request:
        request = Request(
            practitioner_id=self.pid,
            client_id=client_id,
            service=service,
            stage="draft",
            is_emergency=emergency,
            payment_state="unpaid",
            created_at=now,
        )
        self.session.add(request)
        await self.session.flush()
        self.session.add(StageChange(practitioner_id=self.pid, request_id=request.id, stage="draft", at=now))
        if stage != "draft":
            await self.change_stage(request, stage, now)
        return request

    async def get(self, request_id: int) -> Request | None:
        return await self.session.scalar(
            select(Request).where(Request.practitioner_id == self.pid, Request.id == request_id)
        )

    async def change_stage(self, request: Request, stage: str, now: datetime) -> None:
        if request.practitioner_id != self.pid:
            raise PermissionError("request belongs to another practitioner")
        was = await self._locked_member(request)
        request.stage = stage
        column = STAMP.get(stage)
        if column and getattr(request, column) is None:
            setattr(request, column, now)
        self.session.add(StageChange(practitioner_id=self.pid, request_id=request.id, stage=stage, at=now))
        if stage in SETTLED_BY_STAGE:
            # A call's booking ends with its request: done → held, no_show → no_show, cancelled →
            # released (the slot is free again). Whoever changes the stage, the slot follows.
            await BookingRepo(self.session, self.pid).settle(request.id, SETTLED_BY_STAGE[stage], now)
        await self.session.flush()
        now_member = queue_counts.member(request)
        if now_member != was:
            if was is not None:
                await queue_counts.shift(self.session, queue_counts.keys(*was), -1)
            if now_member is not None:
                await queue_counts.shift(self.session, queue_counts.keys(*now_member), +1)
        if stage == "submitted" and request.notified_position is None:
            # The confirmation tells the client their place: the position pushes start from it,
            # so a move right after booking is pushed, not silently recorded.
            request.notified_position = await self.position(request)

    async def _locked_member(self, request: Request) -> queue_counts.Member | None:
        """Where the request counts in the queue as stored, its row locked till the commit: two
        workers changing one request's stage at once (her /done, the client's cancel) then take
        turns, and the second sees the first's stage, so the request leaves the counts once. On
        SQLite, one writer at a time, FOR UPDATE is left out by SQLAlchemy and not needed."""
        row = (
            await self.session.execute(
                select(Request.practitioner_id, Request.service, Request.stage, Request.submitted_at)
                .where(Request.practitioner_id == self.pid, Request.id == request.id)
                .with_for_update()
            )
        ).one()
        pid, service, stage, submitted_at = row
        return (pid, service, submitted_at) if stage in OPEN else None

    async def mark_paid(self, request: Request, deadline_at: datetime | None, now: datetime) -> None:
        if request.practitioner_id != self.pid:
            raise PermissionError("request belongs to another practitioner")
        request.payment_state = "paid"
        request.paid_at = request.paid_at or now
        request.deadline_at = deadline_at
        await self.session.flush()

    async def set_result(self, request: Request, link: str | None) -> None:
        if request.practitioner_id != self.pid:
            raise PermissionError("request belongs to another practitioner")
        request.result_link = link
        await self.session.flush()

    async def add_question(self, request_id: int, text: str, now: datetime) -> None:
        self.session.add(Question(practitioner_id=self.pid, request_id=request_id, text=text, created_at=now))
        await self.session.flush()

    async def questions(self, request_ids: list[int]) -> dict[int, list[str]]:
        result: dict[int, list[str]] = {rid: [] for rid in request_ids}
        if not request_ids:
            return result
        rows = await self.session.execute(
            select(Question.request_id, Question.text)
            .where(Question.practitioner_id == self.pid, Question.request_id.in_(request_ids))
            .order_by(Question.id)
        )
        for request_id, text in rows:
            result[request_id].append(text)
        return result

    async def for_client(self, client_id: int) -> list[Request]:
        rows = await self.session.scalars(
            select(Request)
            .where(Request.practitioner_id == self.pid, Request.client_id == client_id)
            .order_by(Request.id)
        )
        return list(rows)

    async def position(self, request: Request) -> int | None:
        """1-based place among the open requests of its service, in order of submission (then id)."""
        if request.stage not in OPEN or request.submitted_at is None:
            return None
        at = request.submitted_at
        same_queue = (Request.practitioner_id == self.pid, Request.service == request.service, Request.stage.in_(OPEN))
        # Whole minutes before its own from storage/queue_counts.py (a few dozen rows, whatever
        # the queue's length); then two counts of requests, each one short range of
        # ix_requests_queue: earlier in its minute, and the same instant with a lower id. (One
        # count over an OR kept SQLite from bounding the scan and sent PostgreSQL to a bitmap OR.)
        earlier_minutes = queue_counts.ahead(self.pid, request.service, at)
        this_minute = (
            select(func.count())
            .select_from(Request)
            .where(*same_queue, Request.submitted_at >= queue_counts.minute_start(at), Request.submitted_at < at)
            .scalar_subquery()
        )
        tied = (
            select(func.count())
            .select_from(Request)
            .where(*same_queue, Request.submitted_at == at, Request.id < request.id)
            .scalar_subquery()
        )
        ahead = await self.session.scalar(select(earlier_minutes + this_minute + tied))
        return int(ahead or 0) + 1

    async def queue_lengths(self) -> dict[str, int]:
        """Open requests per service, from the day rows of storage/queue_counts.py (not a count of
        every open request: the desk asks for every message)."""
        return await queue_counts.lengths(self.session, self.pid)

    async def days_per_completion(self, service: str, window: int = 10) -> float | None:
        """Recent median time between completions, in days; None until there is a history."""
        return (await self.throughput([service], window)).get(service)

    async def throughput(self, services: Iterable[str], window: int = 10) -> dict[str, float]:
        """days_per_completion of every service, in one statement: each service's last
        completions by index (ix_requests_done), put together with UNION ALL."""
        statement = _recent_completions(tuple(services), window)
        if statement is None:
            return {}
        times: dict[str, list[datetime]] = {}
        for service, done_at in await self.session.execute(statement, {"pid": self.pid}):
            times.setdefault(service, []).append(done_at)
        result = {}
        for service, done in times.items():
            done.sort(reverse=True)
            if len(done) < 3:
                continue
            gaps = [(a - b).total_seconds() / 86400 for a, b in zip(done, done[1:], strict=False)]
            if days := median(gaps):
                result[service] = days
        return result

    async def board(self) -> list[tuple[Request, str, str, int]]:
        """Every open request with its client's name, first channel and question count, in
        queue order: emergencies first, then by service and submission."""
        questions = (
            select(func.count())
            .where(Question.request_id == Request.id)
            .correlate(Request)
            .scalar_subquery()
        )
        channel = (
            select(Identity.channel)
            .where(Identity.client_id == Request.client_id)
            .order_by(Identity.id)
            .limit(1)
            .correlate(Request)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Request, Client.display_name, channel, questions)
            .join(Client, Client.id == Request.client_id)
            .where(Request.practitioner_id == self.pid, Request.stage.in_(OPEN))
            .order_by(Request.is_emergency.desc(), Request.service, Request.submitted_at, Request.id)
        )
        return [(r, name, ch or "", int(count)) for r, name, ch, count in rows]


@functools.lru_cache(maxsize=64)
def _recent_completions(services: tuple[str, ...], window: int) -> CompoundSelect | None:
    """Built once per catalogue (every message asks it for the ETAs): building the five-part
    UNION took more time than running it."""
    parts = [
        select(
            select(Request.service, Request.done_at)
            .where(
                Request.practitioner_id == bindparam("pid"),
                Request.service == service,
                Request.done_at.is_not(None),
            )
            .order_by(Request.done_at.desc())
            .limit(window + 1)
            .subquery()
        )
        for service in services
    ]
    return union_all(*parts) if parts else None
