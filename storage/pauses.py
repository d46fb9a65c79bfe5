"""The practitioner's pauses (`/pause`, `/resume`): at most one is on at a time."""

from datetime import datetime

from sqlalchemy import or_, select

from storage.models import OutboxItem, Pause
from storage.scoped import Scoped


class PauseRepo(Scoped):
    async def active(self, now: datetime) -> Pause | None:
        """The pause on now: not ended by /resume, and its end (if any) still ahead."""
        return await self.session.scalar(
            select(Pause)
            .where(
                Pause.practitioner_id == self.pid,
                Pause.ended_at.is_(None),
                Pause.starts_at <= now,
                or_(Pause.until.is_(None), Pause.until > now),
            )
            .order_by(Pause.id.desc())
            .limit(1)
        )

    async def periods(self, now: datetime) -> list[tuple[datetime, datetime | None]]:
        """[start, end) of every pause on now or ahead (end None: until /resume): the call slots
        offered to clients skip them."""
        rows = await self.session.execute(
            select(Pause.starts_at, Pause.until).where(
                Pause.practitioner_id == self.pid,
                Pause.ended_at.is_(None),
                or_(Pause.until.is_(None), Pause.until > now),
            )
        )
        return [(starts_at, until) for starts_at, until in rows]

    async def start(self, *, until: datetime | None, note: str, now: datetime) -> Pause:
        pause = Pause(practitioner_id=self.pid, starts_at=now, until=until, note=note, created_at=now)
        self.session.add(pause)
        await self.session.flush()
        return pause

    async def end(self, pause: Pause, now: datetime) -> None:
        if pause.practitioner_id != self.pid:
            raise PermissionError("pause belongs to another practitioner")
        pause.ended_at = now
        await self.session.flush()

    async def told(self, key_prefix: str) -> list[int]:
        """Clients a pause notice went to: its outbox keys are `<prefix><client id>`, so the
        stored messages themselves say who was told (no extra table)."""
        keys = await self.session.scalars(
            select(OutboxItem.idempotency_key).where(
                OutboxItem.practitioner_id == self.pid, OutboxItem.idempotency_key.like(f"{key_prefix}%")
            )
        )
        told = {int(tail) for key in keys if (tail := key.removeprefix(key_prefix)).isdigit()}
        return sorted(told)
