"""The durable outbox: enqueue inside the unit of work; the relay claims, sends and marks."""

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Message, OutboxItem
from storage.scoped import Scoped


class OutboxRepo(Scoped):
    async def enqueue(
        self,
        *,
        channel: str,
        destination: str,
        priority: int,
        text: str,
        key: str,
        now: datetime,
        message_id: int | None = None,
        buttons: list[dict[str, str]] | None = None,
    ) -> OutboxItem:
        item = OutboxItem(
            practitioner_id=self.pid,
            message_id=message_id,
            channel=channel,
            destination=destination,
            priority=priority,
            text=text,
            buttons=buttons,
            idempotency_key=key,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.session.add(item)
        await self.session.flush()
        return item


    async def has_key(self, key: str) -> bool:
        found = await self.session.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key))
        return found is not None


class OutboxRelayStore:
    """The relay's side. It serves every practitioner, so it is not scoped to one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self, now: datetime, limit: int, lease: timedelta, channels: tuple[str, ...]
    ) -> list[OutboxItem]:
        """Due rows by priority, each the oldest unsent one of its destination (order per chat).

        A claimed row is leased: a crashed sender's rows become due again when the lease ends.
        """
        earlier = aliased(OutboxItem)
        blocked = exists().where(
            earlier.channel == OutboxItem.channel,
            earlier.destination == OutboxItem.destination,
            earlier.id < OutboxItem.id,
            earlier.state.in_(("pending", "sending")),
        )
        due = and_(
            OutboxItem.next_attempt_at <= now,
            (OutboxItem.state == "pending")
            | ((OutboxItem.state == "sending") & (OutboxItem.lease_until < now)),
        )
        rows = list(
            await self.session.scalars(
                select(OutboxItem)
                .where(due, OutboxItem.channel.in_(channels), ~blocked)
                .order_by(OutboxItem.priority, OutboxItem.id)
                .limit(limit)
            )
        )
        for item in rows:
            item.state = "sending"
            item.lease_until = now + lease
            item.attempts += 1
        await self.session.flush()
        return rows

    async def get(self, item_id: int) -> OutboxItem | None:
        return await self.session.get(OutboxItem, item_id)

    async def sent(self, item: OutboxItem, now: datetime, external_id: str | None) -> None:
        item.state, item.sent_at, item.external_id, item.lease_until = "sent", now, external_id, None
        if item.message_id is not None:
            await self.session.execute(
                update(Message).where(Message.id == item.message_id).values(delivered_at=now)
            )

    async def retry(self, item: OutboxItem, at: datetime, error: str) -> None:
        item.state, item.next_attempt_at, item.last_error, item.lease_until = "pending", at, error, None

    async def give_up(self, item: OutboxItem, state: str, error: str) -> None:
        item.state, item.last_error, item.lease_until = state, error, None

    async def next_due(self) -> datetime | None:
        return await self.session.scalar(
            select(OutboxItem.next_attempt_at)
            .where(OutboxItem.state == "pending")
            .order_by(OutboxItem.next_attempt_at)
            .limit(1)
        )

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state))
        return {state: int(n) for state, n in rows}
