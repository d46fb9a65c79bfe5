"""The durable outbox: enqueue inside the unit of work; the relay claims, sends and marks."""

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows.business import owner_of
from storage.business import CHANNEL as BUSINESS_CHANNEL
from storage.business import BusinessRepo
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
        if channel == BUSINESS_CHANNEL:
            # Whoever queues for her Telegram Business chat, the row names the connection it goes through.
            live = await BusinessRepo(self.session, self.pid).live_connection(owner_of(destination))
            item.business_connection_id = live.connection_id if live is not None else None
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

    async def due(
        self,
        now: datetime,
        limit: int,
        channel: str,
        exclude: Collection[str] = (),
        practitioner_id: int | None = None,
    ) -> list[OutboxItem]:
        """Due rows of one channel by priority, each the oldest unsent one of its destination
        (strict order per chat). Read only: the relay takes the ones it has tokens for.

        `exclude`: destinations that must wait for their per-chat rate. FOR UPDATE SKIP LOCKED
        keeps two relays on PostgreSQL from selecting the same rows (SQLite has one writer).
        """
        earlier = aliased(OutboxItem)
        # The row is its destination's first unsent one. Asked as "its id is the smallest", an
        # index lookup per row whatever the planner estimates; as NOT EXISTS, PostgreSQL
        # without statistics on a just-filled outbox (autovacuum analyzes a minute later)
        # chose a nested loop over every row of the channel: 183 ms per claim at 1,000 due
        # rows, growing with their square (with statistics a hash anti join: 13 ms at 10,000,
        # against 29 ms here).
        first_unsent = (
            select(func.min(earlier.id))
            .where(
                # Two practitioners' bots writing to the same chat id are two chats.
                earlier.practitioner_id == OutboxItem.practitioner_id,
                earlier.channel == OutboxItem.channel,
                earlier.destination == OutboxItem.destination,
                earlier.state.in_(("pending", "sending")),
            )
            .scalar_subquery()
        )
        query = (
            select(OutboxItem)
            .where(
                OutboxItem.state == "pending",
                OutboxItem.next_attempt_at <= now,
                OutboxItem.channel == channel,
                OutboxItem.id == first_unsent,
            )
            .order_by(OutboxItem.priority, OutboxItem.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if exclude:
            query = query.where(OutboxItem.destination.not_in(list(exclude)))
        if practitioner_id is not None:  # one practitioner's bot or sender (bot/outbox/relay.py lanes)
            query = query.where(OutboxItem.practitioner_id == practitioner_id)
        return list(await self.session.scalars(query))

    async def due_lanes(self, now: datetime) -> list[tuple[str, int]]:
        """(channel, practitioner) pairs with a row due now, the most urgent first."""
        rows = await self.session.execute(
            select(OutboxItem.channel, OutboxItem.practitioner_id, func.min(OutboxItem.priority))
            .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now)
            .group_by(OutboxItem.channel, OutboxItem.practitioner_id)
            .order_by(func.min(OutboxItem.priority))
        )
        return [(channel, int(pid)) for channel, pid, _ in rows]

    async def take(self, items: list[OutboxItem], now: datetime, lease: timedelta) -> None:
        """Claimed for sending now. A row still `sending` when its lease ends was being sent
        when its process died: see expire_leases."""
        for item in items:
            item.state = "sending"
            item.lease_until = now + lease
            item.attempts += 1
        await self.session.flush()

    async def release(self, item_ids: list[int]) -> None:
        """Claimed but never handed to a sender (the relay was stopped): pending again, as if
        never claimed."""
        if item_ids:
            await self.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(item_ids), OutboxItem.state == "sending")
                .values(state="pending", lease_until=None, attempts=OutboxItem.attempts - 1)
            )

    async def expire_leases(self, now: datetime, error: str) -> int:
        """Rows left `sending` past their lease: the process died during the send, so the
        message may have gone out. sendMessage and Twilio's Messages have no idempotency key:
        these are `uncertain` (shown to the practitioner), never re-sent blindly.
        The web chat is the exception: its "send" only marks the history row delivered, which is
        safe to repeat, so its rows go back to `pending` — marked uncertain, the reply would never
        show in the client's window (found by tests/e2e/test_crash.py)."""
        expired = (OutboxItem.state == "sending", OutboxItem.lease_until < now)
        await self.session.execute(
            update(OutboxItem)
            .where(*expired, OutboxItem.channel == "web")
            .values(state="pending", lease_until=None, next_attempt_at=now)
        )
        result = await self.session.execute(
            update(OutboxItem).where(*expired).values(state="uncertain", last_error=error, lease_until=None)
        )
        return int(result.rowcount or 0)  # the uncertain ones: those the practitioner must look at

    async def get(self, item_id: int) -> OutboxItem | None:
        return await self.session.get(OutboxItem, item_id)

    async def get_many(self, item_ids: Collection[int]) -> dict[int, OutboxItem]:
        """By id, in one query: the relay records a step's finished sends together."""
        if not item_ids:
            return {}
        rows = await self.session.scalars(select(OutboxItem).where(OutboxItem.id.in_(list(item_ids))))
        return {row.id: row for row in rows}

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

    async def backlog(self) -> tuple[dict[int, int], datetime | None]:
        """Pending rows per priority lane, and when the oldest of them was queued (/metrics)."""
        rows = await self.session.execute(
            select(OutboxItem.priority, func.count(), func.min(OutboxItem.created_at))
            .where(OutboxItem.state == "pending")
            .group_by(OutboxItem.priority)
        )
        lanes, oldest = {}, None
        for priority, count, first in rows:
            lanes[int(priority)] = int(count)
            oldest = first if oldest is None or (first is not None and first < oldest) else oldest
        return lanes, oldest

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state))
        return {state: int(n) for state, n in rows}
