"""Telegram Business rows: her connections and, per client chat in her account, the window and
pause facts (never message text: that lives in `messages` like every channel's)."""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from flows.model import Channel
from storage.delivery import WAITING_WINDOW
from storage.models import BusinessChat, BusinessConnection, Identity, OutboxItem
from storage.scoped import Scoped

CHANNEL = Channel.TELEGRAM_BUSINESS.value


class BusinessRepo(Scoped):
    # Connections

    async def connection(self, connection_id: str) -> BusinessConnection | None:
        return await self.session.scalar(
            select(BusinessConnection).where(
                BusinessConnection.practitioner_id == self.pid, BusinessConnection.connection_id == connection_id
            )
        )

    async def save_connection(
        self,
        *,
        connection_id: str,
        user_id: int,
        user_chat_id: int,
        can_reply: bool,
        rights: dict[str, Any] | None,
        enabled: bool,
        opening_hours: dict[str, Any] | None,
        now: datetime,
    ) -> BusinessConnection:
        row = await self.connection(connection_id)
        if row is None:
            row = BusinessConnection(
                practitioner_id=self.pid, connection_id=connection_id, user_id=user_id, created_at=now
            )
            self.session.add(row)
        row.user_chat_id, row.can_reply, row.rights, row.is_enabled = user_chat_id, can_reply, rights, enabled
        row.opening_hours = opening_hours
        row.updated_at = now
        await self.session.flush()
        return row

    async def live_connection(self, owner_id: int) -> BusinessConnection | None:
        """Her account's connection the bot may reply through now, if there is one."""
        return await self.session.scalar(
            select(BusinessConnection)
            .where(
                BusinessConnection.practitioner_id == self.pid,
                BusinessConnection.user_id == owner_id,
                BusinessConnection.is_enabled.is_(True),
                BusinessConnection.can_reply.is_(True),
            )
            .order_by(BusinessConnection.updated_at.desc(), BusinessConnection.id.desc())
            .limit(1)
        )

    async def opening_hours(self) -> dict[str, Any] | None:
        """Her Telegram opening hours, from a connected account that has them set."""
        return await self.session.scalar(
            select(BusinessConnection.opening_hours)
            .where(
                BusinessConnection.practitioner_id == self.pid,
                BusinessConnection.is_enabled.is_(True),
                BusinessConnection.opening_hours.is_not(None),
            )
            .order_by(BusinessConnection.updated_at.desc(), BusinessConnection.id.desc())
            .limit(1)
        )

    # Chats

    async def chat(self, address: str) -> BusinessChat | None:
        return await self.session.scalar(
            select(BusinessChat).where(BusinessChat.practitioner_id == self.pid, BusinessChat.address == address)
        )

    async def _chat_for(self, address: str, connection_id: str, now: datetime) -> BusinessChat:
        row = await self.chat(address)
        if row is None:
            row = BusinessChat(practitioner_id=self.pid, address=address, connection_id=connection_id, created_at=now)
            self.session.add(row)
        row.connection_id = connection_id
        return row

    async def client_wrote(self, address: str, connection_id: str, now: datetime) -> BusinessChat:
        """The client wrote in her chat: Telegram's 24-hour window runs from now."""
        row = await self._chat_for(address, connection_id, now)
        row.last_client_at = now
        await self.session.flush()
        return row

    async def pause(self, address: str, connection_id: str, until: datetime | None, now: datetime) -> bool:
        """She wrote in the chat herself; True when this starts a pause (it was not paused)."""
        row = await self._chat_for(address, connection_id, now)
        was_paused = row.paused_at is not None and (row.paused_until is None or row.paused_until > now)
        if not was_paused:
            row.paused_at = now
        row.paused_until = until
        await self.session.flush()
        return not was_paused

    async def resume_all(self, now: datetime) -> list[str]:
        """Every chat she had taken over goes back to the bot (/resume); their addresses."""
        rows = await self.session.scalars(
            select(BusinessChat).where(BusinessChat.practitioner_id == self.pid, BusinessChat.paused_at.is_not(None))
        )
        resumed = [row.address for row in rows if row.paused_until is None or row.paused_until > now]
        await self.session.execute(
            update(BusinessChat)
            .where(BusinessChat.practitioner_id == self.pid, BusinessChat.paused_at.is_not(None))
            .values(paused_at=None, paused_until=None)
        )
        return resumed

    async def bot_chats(self, addresses: Collection[str]) -> dict[str, str]:
        """business address → the same client's chat with the bot, for the clients who opened it."""
        if not addresses:
            return {}
        business, bot = aliased(Identity), aliased(Identity)
        rows = await self.session.execute(
            select(business.address, bot.address)
            .join(bot, bot.client_id == business.client_id)
            .where(
                business.practitioner_id == self.pid,
                business.channel == CHANNEL,
                business.address.in_(list(addresses)),
                bot.channel == "telegram",
            )
            .order_by(bot.id)
        )
        found: dict[str, str] = {}
        for address, chat in rows:
            found.setdefault(address, chat)
        return found

    async def addresses_of(self, client_ids: Collection[int]) -> dict[int, list[str]]:
        if not client_ids:
            return {}
        rows = await self.session.execute(
            select(Identity.client_id, Identity.address).where(
                Identity.practitioner_id == self.pid,
                Identity.channel == CHANNEL,
                Identity.client_id.in_(list(client_ids)),
            )
        )
        found: dict[int, list[str]] = {}
        for client_id, address in rows:
            found.setdefault(int(client_id), []).append(address)
        return found

    async def chats(self, addresses: Collection[str]) -> dict[str, BusinessChat]:
        if not addresses:
            return {}
        rows = await self.session.scalars(
            select(BusinessChat).where(
                BusinessChat.practitioner_id == self.pid, BusinessChat.address.in_(list(addresses))
            )
        )
        return {row.address: row for row in rows}

    async def live_connections(self) -> dict[int, str]:
        """Her account → the connection the bot may reply through, for every such account."""
        rows = await self.session.execute(
            select(BusinessConnection.user_id, BusinessConnection.connection_id)
            .where(
                BusinessConnection.practitioner_id == self.pid,
                BusinessConnection.is_enabled.is_(True),
                BusinessConnection.can_reply.is_(True),
            )
            .order_by(BusinessConnection.updated_at, BusinessConnection.id)
        )
        return {int(user_id): connection_id for user_id, connection_id in rows}  # the newest wins

    # Waiting rows

    async def release(self, addresses: Collection[str], now: datetime) -> int:
        """Rows held for these chats are due again: the relay decides their way afresh."""
        if not addresses:
            return 0
        result = await self.session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.practitioner_id == self.pid,
                OutboxItem.channel == CHANNEL,
                OutboxItem.destination.in_(list(addresses)),
                OutboxItem.state == WAITING_WINDOW,
            )
            .values(state="pending", next_attempt_at=now, lease_until=None)
        )
        return int(result.rowcount or 0)

    async def release_client(self, client_id: int, now: datetime) -> int:
        """The client opened the bot chat (or was joined): their held rows may go there now."""
        return await self.release((await self.addresses_of([client_id])).get(client_id, []), now)

    async def release_owner(self, owner_id: int, now: datetime) -> int:
        """Her account is connected (again): its chats' held rows are due again."""
        result = await self.session.execute(
            update(OutboxItem)
            .where(
                OutboxItem.practitioner_id == self.pid,
                OutboxItem.channel == CHANNEL,
                OutboxItem.destination.like(f"{owner_id}:%"),
                OutboxItem.state == WAITING_WINDOW,
            )
            .values(state="pending", next_attempt_at=now, lease_until=None)
        )
        return int(result.rowcount or 0)
