"""The one imperative shell every channel calls: a flow run in one transaction.

Store the inbound message (deduplicated), load the client's state, run the pure flow, and write
its effects — new state, history rows, alerts and outbox rows — in the same commit.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import Texts
from flows.catalogue import Catalogue
from flows.context import Context
from flows.conversation import handle
from flows.effects import (
    AcceptTerms,
    AddQuestion,
    Alert,
    ChangeStage,
    MarkNoticed,
    NewRequest,
    OpenRequest,
    Outcome,
    RequestRef,
    Say,
    SetStep,
    UpdateClient,
)
from flows.intents import detect_language
from flows.model import Inbound, QueueStats
from storage.client_state import load_client_view
from storage.models import Client
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    client_id: int | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Destination:
    channel: str
    address: str


class Desk:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        practitioner_id: int,
        catalogue: Catalogue,
        texts: Texts,
        timezone: str,
        practitioner_destinations: tuple[Destination, ...] = (),
        desk_url: str | None = None,
        clock: Clock = utc_now,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.practitioner_id = practitioner_id
        self.catalogue = catalogue
        self.texts = texts
        self.timezone = timezone
        self.practitioner_destinations = practitioner_destinations
        self.desk_url = desk_url
        self.clock = clock
        self.on_enqueued = on_enqueued

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    async def handle(self, inbound: Inbound) -> Handled:
        now = self.clock()
        try:
            async with self.uow() as uow:
                if await uow.messages.seen(inbound.channel, inbound.external_id):
                    return Handled(duplicate=True)
                handled = await self._run(uow, inbound, now)
                await uow.commit()
        except IntegrityError:
            # A concurrent delivery of the same update committed first: one effect, not two.
            log.info("duplicate %s message %s (raced)", inbound.channel, inbound.external_id)
            return Handled(duplicate=True)
        self.on_enqueued()
        return handled

    async def _run(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> Handled:
        client = await uow.clients.find_by_identity(inbound.channel, inbound.sender_ref)
        first_contact = client is None
        if client is None:
            client = await uow.clients.create(
                name=inbound.sender_name.strip()[:200] or "—",
                language=detect_language(inbound.text, inbound.language_hint),
                timezone=self.timezone,
                channel=inbound.channel,
                address=inbound.sender_ref,
                now=now,
            )
        message = await uow.messages.add(
            client_id=client.id,
            direction="in",
            channel=inbound.channel,
            kind=inbound.kind,
            text=inbound.text,
            external_id=inbound.external_id,
            media_ref=inbound.media_ref,
            now=now,
        )
        client.last_inbound_at = now
        view = await load_client_view(uow, client, now, first_contact)
        ctx = await self._context(uow, now)
        outcome = handle(view, inbound, ctx)
        await self._apply(uow, outcome, client, inbound, message.id, now)
        return Handled(duplicate=False, client_id=client.id, message_id=message.id)

    async def _context(self, uow: UnitOfWork, now: datetime) -> Context:
        throughput = {}
        for service in self.catalogue.services:
            days = await uow.requests.days_per_completion(service.key)
            if days:
                throughput[service.key] = days
        return Context(
            now=now,
            catalogue=self.catalogue,
            queue_lengths=await uow.requests.queue_lengths(),
            stats=QueueStats(throughput=throughput),
        )

    async def _apply(
        self, uow: UnitOfWork, outcome: Outcome, client: Client, inbound: Inbound, message_id: int, now: datetime
    ) -> None:
        created: int | None = None

        def resolve(ref: RequestRef | None) -> int | None:
            return created if isinstance(ref, NewRequest) else ref

        for effect in outcome.effects:
            match effect:
                case UpdateClient(language=language) if language:
                    client.language = language
                case OpenRequest(service=service, stage=stage, emergency=emergency):
                    request = await uow.requests.open(
                        client_id=client.id, service=service, stage=stage, emergency=emergency, now=now
                    )
                    created = request.id
                case AddQuestion(request=ref, text=text):
                    await uow.requests.add_question(resolve(ref), text, now)
                case ChangeStage(request=ref, stage=stage):
                    request = await uow.requests.get(resolve(ref))
                    if request is not None:
                        await uow.requests.change_stage(request, stage, now)
                case SetStep(step=step, service=service, request=ref):
                    client.step, client.step_service, client.step_request_id = step, service, resolve(ref)
                case AcceptTerms(service=service):
                    await uow.clients.accept_terms(client.id, service, now)
                case MarkNoticed(what="restriction"):
                    restriction = await uow.clients.active_restriction(client.id, now)
                    if restriction is not None:
                        await uow.clients.mark_restriction_announced(restriction.id, now)
                case MarkNoticed(what="flood"):
                    client.flood_reported_at = now
                case MarkNoticed(what="offhours"):
                    client.offhours_notified_at = now
                case Alert():
                    await self._alert(uow, effect, client, inbound, resolve(effect.request), now)
                case Say():
                    await self._say(uow, effect, client, inbound, resolve, now)

    async def _say(self, uow: UnitOfWork, say: Say, client: Client, inbound: Inbound, resolve, now: datetime) -> None:
        params = {k: resolve(v) if isinstance(v, NewRequest) else v for k, v in say.params.items()}
        text = self.texts.text(say.text_id, params, client.language, client.timezone)
        buttons = [{"label": self.texts.button(b, client.language), "payload": b.payload} for b in say.buttons] or None
        message = await uow.messages.add(
            client_id=client.id,
            direction="out",
            channel=inbound.channel,
            kind="text",
            text=text,
            buttons=buttons,
            now=now,
        )
        await uow.outbox.enqueue(
            channel=inbound.channel,
            destination=inbound.sender_ref,
            priority=say.priority,
            text=text,
            buttons=buttons,
            key=f"msg:{message.id}",
            message_id=message.id,
            now=now,
        )

    async def _alert(
        self, uow: UnitOfWork, alert: Alert, client: Client, inbound: Inbound, request_id: int | None, now: datetime
    ) -> None:
        row = await uow.alerts.add(
            client_id=client.id, kind=alert.kind, excerpt=alert.excerpt[:1000], request_id=request_id, now=now
        )
        text_id = f"alert-{alert.kind}"
        if text_id not in self.texts.ids("ru"):
            text_id = "alert-unknown"
        params = {
            "client": client.display_name,
            "channel": inbound.channel,
            "number": request_id or "—",
            "excerpt": " ".join(alert.excerpt.split())[:300],
            "kind": alert.kind,
        }
        text = self.texts.text(text_id, params, "ru", self.timezone)
        if self.desk_url:
            # One tap from the alert to the request on her page (Telegram and WhatsApp link URLs).
            anchor = f"#request-{request_id}" if request_id else ""
            text += "\n" + self.texts.text("alert-open", {"url": self.desk_url + anchor}, "ru", self.timezone)
        for destination in self.practitioner_destinations:
            await uow.outbox.enqueue(
                channel=destination.channel,
                destination=destination.address,
                priority=0,
                text=text,
                key=f"alert:{row.id}:{destination.channel}:{destination.address}",
                now=now,
            )
