"""Raw inbound updates: made durable before a webhook answers, processed afterwards, in order."""

from datetime import datetime

from sqlalchemy import select

from storage.models import InboxUpdate
from storage.scoped import Scoped


class InboxRepo(Scoped):
    async def store(self, *, channel: str, external_id: str, payload: str, now: datetime) -> InboxUpdate | None:
        """The new row, or None when this update was stored before (a platform retry)."""
        found = await self.session.scalar(
            select(InboxUpdate.id).where(
                InboxUpdate.practitioner_id == self.pid,
                InboxUpdate.channel == channel,
                InboxUpdate.external_id == external_id,
            )
        )
        if found is not None:
            return None
        update = InboxUpdate(
            practitioner_id=self.pid, channel=channel, external_id=external_id, payload=payload, received_at=now
        )
        self.session.add(update)
        await self.session.flush()
        return update

    async def pending(self, channel: str, limit: int = 100) -> list[InboxUpdate]:
        rows = await self.session.scalars(
            select(InboxUpdate)
            .where(
                InboxUpdate.practitioner_id == self.pid,
                InboxUpdate.channel == channel,
                InboxUpdate.processed_at.is_(None),
            )
            .order_by(InboxUpdate.id)
            .limit(limit)
        )
        return list(rows)

    async def get(self, update_id: int) -> InboxUpdate | None:
        return await self.session.scalar(
            select(InboxUpdate).where(InboxUpdate.practitioner_id == self.pid, InboxUpdate.id == update_id)
        )

    async def processed(self, update: InboxUpdate, now: datetime) -> None:
        update.processed_at = now

    async def failed(self, update: InboxUpdate, error: str) -> None:
        update.attempts += 1
        update.last_error = error[:2000]
