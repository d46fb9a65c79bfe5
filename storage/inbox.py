"""Raw inbound updates: made durable before a webhook answers, processed afterwards, in order."""

from collections.abc import Sequence
from datetime import datetime
from types import ModuleType

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import InboxUpdate
from storage.scoped import Scoped


def _store_statement(dialect: ModuleType) -> Insert:
    table = InboxUpdate.__table__
    return (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["practitioner_id", "channel", "external_id"])
        .returning(table.c.external_id)
    )


# Built once: a statement is an immutable description, the same object hits the compiled cache.
_STORE: dict[bool, Insert] = {False: _store_statement(sqlite), True: _store_statement(postgresql)}


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

    async def store_batch(
        self, *, channel: str, updates: Sequence[tuple[str, str, bool]], now: datetime
    ) -> list[str]:
        """Many raw updates (external id, payload, settled already) in one statement: the
        webhook's group commit writes a batch while requests wait on one fsync. Returns the
        external ids that were new; a repeat, stored before or earlier in the batch, is not."""
        rows = [
            {
                "practitioner_id": self.pid,
                "channel": channel,
                "external_id": external_id,
                "payload": payload,
                "received_at": now,
                "processed_at": now if settled else None,
                "attempts": 0,
                "last_error": None,
            }
            for external_id, payload, settled in updates
        ]
        # ON CONFLICT DO NOTHING skips a repeat stored before, by a concurrent worker or earlier
        # in this batch; RETURNING names the rows that were new. Passing the rows as parameters
        # (SQLAlchemy's "insertmanyvalues") sends one statement, one round trip, compiled once
        # and cached: `.values(rows)` compiled a new statement for every batch, which cost ~4x
        # the CPU of the whole write (bench/README.md, ingest).
        statement = _STORE[self.session.get_bind().dialect.name == "postgresql"]
        return list(await self.session.scalars(statement, rows))

    async def pending(self, channel: str, limit: int = 100, after: int = 0) -> list[InboxUpdate]:
        """Unprocessed rows in arrival order; `after` pages past rows a pass leaves waiting."""
        rows = await self.session.scalars(
            select(InboxUpdate)
            .where(
                InboxUpdate.practitioner_id == self.pid,
                InboxUpdate.channel == channel,
                InboxUpdate.processed_at.is_(None),
                InboxUpdate.id > after,
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
