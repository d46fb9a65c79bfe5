"""The message history, both directions, and the alerts shown to the practitioner."""

from datetime import datetime

from sqlalchemy import func, or_, select, update

from storage.models import Client, Identity, Message, PractitionerAlert
from storage.scoped import Scoped


class MessageRepo(Scoped):
    async def seen(self, channel: str, external_id: str) -> bool:
        found = await self.session.scalar(
            select(Message.id).where(
                Message.practitioner_id == self.pid,
                Message.channel == channel,
                Message.direction == "in",
                Message.external_id == external_id,
            )
        )
        return found is not None

    async def add(
        self,
        *,
        client_id: int,
        direction: str,
        channel: str,
        kind: str,
        text: str,
        now: datetime,
        external_id: str | None = None,
        media_ref: str | None = None,
        request_id: int | None = None,
        buttons: list[dict[str, str]] | None = None,
    ) -> Message:
        message = Message(
            practitioner_id=self.pid,
            client_id=client_id,
            direction=direction,
            channel=channel,
            kind=kind,
            text=text,
            external_id=external_id,
            media_ref=media_ref,
            request_id=request_id,
            buttons=buttons,
            created_at=now,
            delivered_at=now if direction == "in" else None,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def inbound_since(self, client_id: int, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.practitioner_id == self.pid,
                Message.client_id == client_id,
                Message.direction == "in",
                Message.created_at >= since,
            )
        )
        return int(count or 0)

    async def visible(self, client_id: int, after: int, limit: int = 200) -> list[Message]:
        """What a client's chat window shows: their messages and the replies already delivered."""
        rows = await self.session.scalars(
            select(Message)
            .where(
                Message.practitioner_id == self.pid,
                Message.client_id == client_id,
                Message.id > after,
                or_(Message.direction == "in", Message.delivered_at.is_not(None)),
            )
            .order_by(Message.id)
            .limit(limit)
        )
        return list(rows)

    async def history(self, client_id: int) -> list[Message]:
        rows = await self.session.scalars(
            select(Message)
            .where(Message.practitioner_id == self.pid, Message.client_id == client_id)
            .order_by(Message.id)
        )
        return list(rows)

    async def mark_delivered(self, message_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Message)
            .where(Message.practitioner_id == self.pid, Message.id == message_id)
            .values(delivered_at=now)
        )


class AlertRepo(Scoped):
    async def add(
        self, *, client_id: int | None, kind: str, excerpt: str, request_id: int | None, now: datetime
    ) -> PractitionerAlert:
        """`client_id` None: an alert about the practice as a whole (the morning digest)."""
        alert = PractitionerAlert(
            practitioner_id=self.pid,
            client_id=client_id,
            request_id=request_id,
            kind=kind,
            excerpt=excerpt,
            created_at=now,
        )
        self.session.add(alert)
        await self.session.flush()
        return alert

    async def recent(self, limit: int = 50) -> list[tuple[PractitionerAlert, str | None, str]]:
        """Newest first, with the client's name and first channel (None and "" for no client)."""
        channel = (
            select(Identity.channel)
            .where(Identity.client_id == PractitionerAlert.client_id)
            .order_by(Identity.id)
            .limit(1)
            .correlate(PractitionerAlert)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(PractitionerAlert, Client.display_name, channel)
            .outerjoin(Client, Client.id == PractitionerAlert.client_id)
            .where(PractitionerAlert.practitioner_id == self.pid)
            .order_by(PractitionerAlert.id.desc())
            .limit(limit)
        )
        return [(alert, name, ch or "") for alert, name, ch in rows]
