"""One unit of work per inbound message or job: repositories share a session, one commit."""

from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.bookings import BookingRepo
from storage.business import BusinessRepo
from storage.clients import ClientRepo
from storage.delivery import DeliveryRepo
from storage.inbox import InboxRepo
from storage.messages import AlertRepo, MessageRepo
from storage.models import DeadLetter, Practitioner
from storage.outbox import OutboxRelayStore, OutboxRepo
from storage.pauses import PauseRepo
from storage.payments import PaymentRepo
from storage.practice import PracticeRepo
from storage.privacy import PrivacyRepo
from storage.requests import RequestRepo
from storage.stats import StatsRepo


class UnitOfWork:
    """Practitioner-scoped repositories on one session; repositories never commit."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], practitioner_id: int) -> None:
        self._sessions = sessions
        self.practitioner_id = practitioner_id

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Where its sessions come from: for a writer that serves every practitioner at once."""
        return self._sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        pid = self.practitioner_id
        self.clients = ClientRepo(self.session, pid)
        self.requests = RequestRepo(self.session, pid)
        self.bookings = BookingRepo(self.session, pid)
        self.messages = MessageRepo(self.session, pid)
        self.alerts = AlertRepo(self.session, pid)
        self.outbox = OutboxRepo(self.session, pid)
        self.inbox = InboxRepo(self.session, pid)
        self.delivery = DeliveryRepo(self.session, pid)
        self.practice = PracticeRepo(self.session, pid, self.requests)
        self.payments = PaymentRepo(self.session, pid)
        self.pauses = PauseRepo(self.session, pid)
        self.stats = StatsRepo(self.session, pid)
        self.privacy = PrivacyRepo(self.session, pid)
        self.business = BusinessRepo(self.session, pid)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is not None:
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()


class RelayUnitOfWork:
    """The outbox relay's unit of work: it serves every practitioner."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        self.outbox = OutboxRelayStore(self.session)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()


async def ensure_practitioner(
    sessions: async_sessionmaker[AsyncSession], slug: str, name: str, now: datetime
) -> int:
    """The single-practitioner default is a deployment with one practitioner row."""
    async with sessions() as session:
        found = await session.scalar(select(Practitioner.id).where(Practitioner.slug == slug))
        if found is not None:
            return int(found)
        practitioner = Practitioner(slug=slug, name=name, created_at=now)
        session.add(practitioner)
        try:
            await session.commit()
        except IntegrityError:  # another worker process starting at the same time made it first
            await session.rollback()
            return int(await session.scalar(select(Practitioner.id).where(Practitioner.slug == slug)))
        return practitioner.id


async def dead_letter(
    sessions: async_sessionmaker[AsyncSession],
    *,
    practitioner_id: int | None,
    channel: str,
    external_id: str | None,
    payload: str,
    reason: str,
    now: datetime,
) -> None:
    async with sessions() as session:
        session.add(
            DeadLetter(
                practitioner_id=practitioner_id,
                channel=channel,
                external_id=external_id,
                payload=payload,
                reason=reason,
                created_at=now,
            )
        )
        await session.commit()
