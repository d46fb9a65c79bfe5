"""Requests, their questions and their stage history; queue positions derive from timestamps."""

from datetime import datetime
from statistics import median

from sqlalchemy import func, select

from storage.bookings import SETTLED_BY_STAGE, BookingRepo
from storage.models import Client, Identity, Question, Request, StageChange
from storage.scoped import Scoped

OPEN = ("submitted", "queued", "in_work")
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
        if stage == "submitted" and request.notified_position is None:
            # The confirmation tells the client their place: the position pushes start from it,
            # so a move right after booking is pushed, not silently recorded.
            request.notified_position = await self.position(request)

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
        """1-based place among the open requests of its service, in order of submission."""
        if request.stage not in OPEN or request.submitted_at is None:
            return None
        same_queue = (Request.practitioner_id == self.pid, Request.service == request.service, Request.stage.in_(OPEN))
        # Two counts, each one range of ix_requests_queue, rather than one count over an OR: the OR
        # kept SQLite from bounding the scan by submitted_at (it counted the whole queue) and sent
        # PostgreSQL to a bitmap OR over the heap (bench/bigqueue.py: 60 → 27 ms at 100,000 ahead
        # on PostgreSQL, 28 → 15 ms on SQLite, on a loaded machine). Still linear in the requests
        # ahead: a count, not a stored rank.
        before = (
            select(func.count())
            .select_from(Request)
            .where(*same_queue, Request.submitted_at < request.submitted_at)
            .scalar_subquery()
        )
        tied = (
            select(func.count())
            .select_from(Request)
            .where(*same_queue, Request.submitted_at == request.submitted_at, Request.id < request.id)
            .scalar_subquery()
        )
        ahead = await self.session.scalar(select(before + tied))
        return int(ahead or 0) + 1

    async def queue_lengths(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Request.service, func.count())
            .where(Request.practitioner_id == self.pid, Request.stage.in_(OPEN))
            .group_by(Request.service)
        )
        return {service: int(count) for service, count in rows}

    async def days_per_completion(self, service: str, window: int = 10) -> float | None:
        """Recent median time between completions, in days; None until there is a history."""
        rows = await self.session.scalars(
            select(Request.done_at)
            .where(Request.practitioner_id == self.pid, Request.service == service, Request.done_at.is_not(None))
            .order_by(Request.done_at.desc())
            .limit(window + 1)
        )
        times = list(rows)
        if len(times) < 3:
            return None
        gaps = [(a - b).total_seconds() / 86400 for a, b in zip(times, times[1:], strict=False)]
        return median(gaps) or None

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
