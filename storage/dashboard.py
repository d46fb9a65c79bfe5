"""What the web dashboard reads besides the board and /stats (storage/stats.py): whose row is
whose, each request's payments, request rows for the CSV export, and the hour-by-weekday load grid.

Grouping by the hour *in the practitioner's time zone* is done in Python, as in /stats: it is not
portable between SQLite and PostgreSQL, and one practice has thousands of rows, not millions.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, true

from storage.models import Client, Payment, PractitionerAlert, Request
from storage.scoped import Scoped


@dataclass(frozen=True)
class RequestFacts:
    id: int
    client_id: int
    service: str
    stage: str
    is_emergency: bool
    payment_state: str
    created_at: datetime
    submitted_at: datetime | None
    paid_at: datetime | None
    done_at: datetime | None
    deadline_at: datetime | None

    @property
    def wait_start(self) -> datetime:
        """Where her promise starts: payment for an emergency (24 h from payment), else submission."""
        if self.is_emergency and self.paid_at is not None:
            return self.paid_at
        return self.submitted_at or self.created_at

    @property
    def wait_hours(self) -> float | None:
        if self.done_at is None:
            return None
        return max(0.0, (self.done_at - self.wait_start).total_seconds() / 3600)

    @property
    def promise_kept(self) -> bool | None:
        """Emergencies (and anything with a deadline): done by the deadline? None when undecided."""
        if self.deadline_at is None or self.done_at is None:
            return None
        return self.done_at <= self.deadline_at


def load_grid(inbound_at: list[datetime], timezone: str) -> dict[tuple[int, int], int]:
    """Inbound messages per (weekday 0=Monday, hour) in her time zone: the heatmap's cells."""
    zone = ZoneInfo(timezone)
    return dict(Counter((t.astimezone(zone).weekday(), t.astimezone(zone).hour) for t in inbound_at))


def new_and_returning(requests: list[RequestFacts], since: datetime) -> tuple[int, int]:
    """Clients with a request in the period: first-timers, and those who had one before."""
    first: dict[int, datetime] = {}
    recent: set[int] = set()
    for r in requests:
        first[r.client_id] = min(first.get(r.client_id, r.created_at), r.created_at)
        if r.created_at >= since:
            recent.add(r.client_id)
    new = sum(1 for c in recent if first[c] >= since)
    return new, len(recent) - new


class DashboardRepo(Scoped):
    async def clients_of_requests(self, request_ids: list[int]) -> dict[int, int]:
        if not request_ids:
            return {}
        rows = await self.session.execute(
            select(Request.id, Request.client_id).where(
                Request.practitioner_id == self.pid, Request.id.in_(request_ids)
            )
        )
        return {int(r): int(c) for r, c in rows}

    async def clients_of_alerts(self, alert_ids: list[int]) -> dict[int, int | None]:
        """Whose each alert is; None for one about no client (the morning digest)."""
        if not alert_ids:
            return {}
        rows = await self.session.execute(
            select(PractitionerAlert.id, PractitionerAlert.client_id).where(
                PractitionerAlert.practitioner_id == self.pid, PractitionerAlert.id.in_(alert_ids)
            )
        )
        return {int(a): None if c is None else int(c) for a, c in rows}

    async def client(self, client_id: int) -> Client | None:
        return await self.session.scalar(
            select(Client).where(Client.practitioner_id == self.pid, Client.id == client_id)
        )

    async def request_facts(self) -> list[RequestFacts]:
        """Every submitted request, oldest first: the CSV export and new-vs-returning."""
        rows = await self.session.scalars(
            select(Request).where(Request.practitioner_id == self.pid, Request.stage != "draft").order_by(Request.id)
        )
        return [
            RequestFacts(
                id=r.id,
                client_id=r.client_id,
                service=r.service,
                stage=r.stage,
                is_emergency=r.is_emergency,
                payment_state=r.payment_state,
                created_at=r.created_at,
                submitted_at=r.submitted_at,
                paid_at=r.paid_at,
                done_at=r.done_at,
                deadline_at=r.deadline_at,
            )
            for r in rows
        ]

    async def payments_of_requests(self, request_ids: list[int]) -> dict[int, list[Payment]]:
        """Each request's invoices and payments, oldest first."""
        if not request_ids:
            return {}
        return await self._payments_by_request(Payment.request_id.in_(request_ids))

    async def all_payments(self) -> dict[int, list[Payment]]:
        """Every request's payments, oldest first (the CSV export of all requests)."""
        return await self._payments_by_request(true())

    async def _payments_by_request(self, condition: ColumnElement[bool]) -> dict[int, list[Payment]]:
        rows = await self.session.scalars(
            select(Payment).where(Payment.practitioner_id == self.pid, condition).order_by(Payment.id)
        )
        found: dict[int, list[Payment]] = {}
        for payment in rows:
            found.setdefault(payment.request_id, []).append(payment)
        return found
