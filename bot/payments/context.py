"""What every payment step shares: the database, the texts, her shell (whose catalogue is the one in force,
and the notices to her about payments (a payment arrived, an invoice held, a client flagged)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from bot.practice import Practice
from bot.texts import Texts
from flows.model import Priority, Stage
from storage.models import Client
from storage.uow import UnitOfWork

OPEN_STAGES = (Stage.DRAFT, Stage.SUBMITTED, Stage.QUEUED, Stage.IN_WORK)


@dataclass(frozen=True)
class Destination:
    channel: str
    address: str


@dataclass(frozen=True)
class PaymentContext:
    sessions: async_sessionmaker[AsyncSession]
    practitioner_id: int
    texts: Texts
    practice: Practice
    clock: Callable[[], datetime]
    destinations: tuple[Destination, ...] = ()
    on_enqueued: Callable[[], None] = lambda: None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    def text(self, text_id: str, params: Mapping[str, Any], client: Client) -> str:
        """A text for the client, in their language and time zone."""
        return self.texts.text(text_id, params, client.language, client.timezone)

    def service_name(self, key: str, language: str) -> str:
        service = self.practice.catalogue.get(key)
        return service.name(language) if service else key

    async def tell_her(
        self, uow: UnitOfWork, text_id: str, params: Mapping[str, Any], *, key: str, now: datetime
    ) -> None:
        """An urgent note to every practitioner account, once per `key` (in the caller's transaction)."""
        text = self.texts.text(text_id, params, self.practice.language, self.practice.timezone, zone=False)
        for destination in self.destinations:
            await outgoing.post(
                uow,
                channel=destination.channel,
                destination=destination.address,
                message=Rendered(text, priority=Priority.URGENT),
                key=f"{key}:{destination.channel}:{destination.address}",
                now=now,
            )
