"""Clients, their identities on each channel, terms they accepted, their restrictions."""

from datetime import datetime

from sqlalchemy import select, update

from storage.models import Client, Identity, Message, Restriction, TermsAcceptance
from storage.scoped import Scoped


class ClientRepo(Scoped):
    async def find_by_identity(self, channel: str, address: str) -> Client | None:
        return await self.session.scalar(
            select(Client)
            .join(Identity, Identity.client_id == Client.id)
            .where(
                Identity.practitioner_id == self.pid,
                Identity.channel == channel,
                Identity.address == address,
            )
        )

    async def create(
        self, *, name: str, language: str, timezone: str, channel: str, address: str, now: datetime
    ) -> Client:
        client = Client(
            practitioner_id=self.pid,
            display_name=name,
            language=language,
            timezone=timezone,
            step="idle",
            created_at=now,
        )
        self.session.add(client)
        await self.session.flush()
        self.session.add(
            Identity(practitioner_id=self.pid, client_id=client.id, channel=channel, address=address, created_at=now)
        )
        await self.session.flush()
        return client

    async def get(self, client_id: int) -> Client | None:
        return await self.session.scalar(
            select(Client).where(Client.practitioner_id == self.pid, Client.id == client_id)
        )

    async def identities(self, client_id: int) -> list[Identity]:
        rows = await self.session.scalars(
            select(Identity)
            .where(Identity.practitioner_id == self.pid, Identity.client_id == client_id)
            .order_by(Identity.id)
        )
        return list(rows)

    async def reply_route(self, client_id: int) -> tuple[str, str] | None:
        """Where a message to the client goes: the channel they last wrote from, else the first
        identity they have. None for a client with no identity left (erased)."""
        last = await self.session.scalar(
            select(Message.channel)
            .where(
                Message.practitioner_id == self.pid,
                Message.client_id == client_id,
                Message.direction == "in",
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        identities = await self.identities(client_id)
        for identity in identities:
            if identity.channel == last:
                return identity.channel, identity.address
        return (identities[0].channel, identities[0].address) if identities else None

    async def accepted_terms(self, client_id: int) -> frozenset[str]:
        rows = await self.session.scalars(
            select(TermsAcceptance.service).where(
                TermsAcceptance.practitioner_id == self.pid, TermsAcceptance.client_id == client_id
            )
        )
        return frozenset(rows)

    async def accept_terms(self, client_id: int, service: str, now: datetime) -> None:
        if service not in await self.accepted_terms(client_id):
            self.session.add(
                TermsAcceptance(practitioner_id=self.pid, client_id=client_id, service=service, accepted_at=now)
            )

    async def active_restriction(self, client_id: int, now: datetime) -> Restriction | None:
        rows = await self.session.scalars(
            select(Restriction)
            .where(
                Restriction.practitioner_id == self.pid,
                Restriction.client_id == client_id,
                Restriction.lifted_at.is_(None),
            )
            .order_by(Restriction.id.desc())
        )
        return next((r for r in rows if r.until is None or r.until > now), None)

    async def restrict(
        self, client_id: int, *, until: datetime | None, reason: str, now: datetime
    ) -> Restriction:
        restriction = Restriction(
            practitioner_id=self.pid, client_id=client_id, until=until, reason=reason, created_at=now
        )
        self.session.add(restriction)
        await self.session.flush()
        return restriction

    async def mark_restriction_announced(self, restriction_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Restriction)
            .where(Restriction.practitioner_id == self.pid, Restriction.id == restriction_id)
            .values(announced_at=now)
        )
