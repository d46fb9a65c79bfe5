"""The facts behind /stats (and the dashboard): requests touched in a period, payments moved in
it, inbound times.

Aggregation is pure (flows/practice/stats.py): time zones and percentiles are computed there, the
same on SQLite and PostgreSQL. Only narrow column sets are read, so a year of history is still a
small load.
"""

from datetime import datetime

from sqlalchemy import and_, exists, or_, select

from flows.practice.stats import PaymentFact, RequestFact
from storage.models import Message, Payment, Request
from storage.scoped import Scoped

# Money that went through the chat: a request with such a row was not paid by hand.
_PAID_IN_CHAT = ("paid", "refunded")


class StatsRepo(Scoped):
    async def requests(self, since: datetime) -> list[RequestFact]:
        in_chat = exists().where(
            Payment.practitioner_id == self.pid,
            Payment.request_id == Request.id,
            Payment.state.in_(_PAID_IN_CHAT),
        )
        rows = await self.session.execute(
            select(
                Request.service,
                Request.is_emergency,
                Request.submitted_at,
                Request.paid_at,
                Request.done_at,
                Request.cancelled_at,
                and_(Request.payment_state == "paid", ~in_chat).label("by_hand"),
            ).where(
                Request.practitioner_id == self.pid,
                or_(Request.submitted_at >= since, Request.paid_at >= since, Request.done_at >= since),
            )
        )
        return [RequestFact(*row[:6], paid_by_hand=bool(row[6])) for row in rows]

    async def payments(self, since: datetime) -> list[PaymentFact]:
        """Payments through the chat paid or refunded since then, with their request's service."""
        rows = await self.session.execute(
            select(Request.service, Payment.currency, Payment.amount, Payment.paid_at, Payment.refunded_at)
            .join(Request, Request.id == Payment.request_id)
            .where(
                Payment.practitioner_id == self.pid,
                Payment.paid_at.is_not(None),
                or_(Payment.paid_at >= since, Payment.refunded_at >= since),
            )
        )
        return [PaymentFact(*row) for row in rows]

    async def inbound_times(self, since: datetime) -> list[datetime]:
        rows = await self.session.scalars(
            select(Message.created_at).where(
                Message.practitioner_id == self.pid, Message.direction == "in", Message.created_at >= since
            )
        )
        return list(rows)
