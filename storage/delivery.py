"""What happened to messages after they left: platform reports, WhatsApp's 24-hour window, and
what the practitioner should know could not be delivered.

WhatsApp refuses free-form messages more than 24 h after the client's last message (Twilio
63016). Such outbox rows are held as `waiting_window` — not failed, visible to the practitioner —
and go back to the queue when the client writes again.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update

from storage.models import Client, Identity, OutboxItem
from storage.scoped import Scoped

WAITING_WINDOW = "waiting_window"
GIVEN_UP = ("failed", "uncertain", WAITING_WINDOW)
REPORTED_LOST = ("failed", "undelivered")  # Twilio MessageStatus after the send


def _destinations(address: str) -> tuple[str, ...]:
    # Clients' rows carry the Twilio address ("whatsapp:+7…"); practitioner numbers come from
    # settings and may be written bare ("+7…").
    return (address, address.removeprefix("whatsapp:"))


class DeliveryRepo(Scoped):
    async def last_inbound_at(self, channel: str, address: str) -> datetime | None:
        """When the client behind this address last wrote; None for an address of no client."""
        return await self.session.scalar(
            select(Client.last_inbound_at)
            .join(Identity, Identity.client_id == Client.id)
            .where(
                Identity.practitioner_id == self.pid,
                Identity.channel == channel,
                Identity.address == address,
            )
        )

    async def opened(self, channel: str, address: str, now: datetime) -> int:
        """The number wrote: its window is open from now, and its held rows are due again.

        The client's last_inbound_at is set here too (the desk sets it again when it handles the
        message): otherwise the relay could claim a released row before the desk commits and
        hold it again. Returns how many rows were released.
        """
        return await self.opened_many(channel, [address], now)

    async def opened_many(self, channel: str, addresses: Sequence[str], now: datetime) -> int:
        """opened() for every number of a webhook batch, in the same two statements as for one."""
        if not addresses:
            return 0
        clients = select(Identity.client_id).where(
            Identity.practitioner_id == self.pid,
            Identity.channel == channel,
            Identity.address.in_(addresses),
        )
        await self.session.execute(
            update(Client)
            .where(Client.practitioner_id == self.pid, Client.id.in_(clients))
            .values(last_inbound_at=now)
        )
        released = await self.session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.practitioner_id == self.pid,
                OutboxItem.channel == channel,
                OutboxItem.destination.in_({d for address in addresses for d in _destinations(address)}),
                OutboxItem.state == WAITING_WINDOW,
            )
            # A new attempt gets a new MessageSid: the old one's reports no longer apply.
            .values(state="pending", next_attempt_at=now, lease_until=None, delivery_status=None)
        )
        return int(released.rowcount or 0)

    async def sent_row(self, channel: str, external_id: str) -> OutboxItem | None:
        """The outbox row the platform knows by this id (Twilio's MessageSid)."""
        return await self.session.scalar(
            select(OutboxItem).where(
                OutboxItem.practitioner_id == self.pid,
                OutboxItem.channel == channel,
                OutboxItem.external_id == external_id,
            )
        )

    async def record_delivery(self, item: OutboxItem, status: str, error: str | None) -> None:
        item.delivery_status = status
        if error:
            item.last_error = error[:2000]

    async def hold(self, item: OutboxItem, error: str) -> None:
        """Twilio accepted the row but WhatsApp refused it later (a 63016 status callback)."""
        item.state, item.last_error, item.lease_until = WAITING_WINDOW, error, None

    async def undelivered(self, limit: int = 50) -> list[tuple[OutboxItem, str | None]]:
        """Rows not (surely) delivered, newest first, with the client's name where there is one
        (alerts to the practitioner herself have none)."""
        identity = and_(
            Identity.practitioner_id == OutboxItem.practitioner_id,
            Identity.channel == OutboxItem.channel,
            Identity.address == OutboxItem.destination,
        )
        rows = await self.session.execute(
            select(OutboxItem, Client.display_name)
            .outerjoin(Identity, identity)
            .outerjoin(Client, Client.id == Identity.client_id)
            .where(
                OutboxItem.practitioner_id == self.pid,
                or_(OutboxItem.state.in_(GIVEN_UP), OutboxItem.delivery_status.in_(REPORTED_LOST)),
            )
            .order_by(OutboxItem.id.desc())
            .limit(limit)
        )
        return [(item, name) for item, name in rows]
