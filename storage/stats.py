"""The facts behind /stats (and the dashboard): requests touched in a period, inbound times.

Aggregation is pure (flows/practice/stats.py): time zones and percentiles are computed there, the
same on SQLite and PostgreSQL. Only two narrow columns sets are read, so a year of history is
still a small load.
"""

from datetime import datetime

from sqlalchemy import or_, select

from flows.practice.stats import RequestFact
from storage.models import Message, Request
from storage.scoped import Scoped


class StatsRepo(Scoped):
    async def requests(self, since: datetime) -> list[RequestFact]:
        rows = await self.session.execute(
            select(
                Request.service,
                Request.is_emergency,
                Request.submitted_at,
                Request.paid_at,
                Request.done_at,
                Request.cancelled_at,
            ).where(
                Request.practitioner_id == self.pid,
                or_(Request.submitted_at >= since, Request.paid_at >= since, Request.done_at >= since),
            )
        )
        return [RequestFact(*row) for row in rows]

    async def inbound_times(self, since: datetime) -> list[datetime]:
        rows = await self.session.scalars(
            select(Message.created_at).where(
                Message.practitioner_id == self.pid, Message.direction == "in", Message.created_at >= since
            )
        )
        return list(rows)
