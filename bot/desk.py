"""The one imperative shell every channel calls: a flow run in one transaction.

Store the inbound message (deduplicated), load the client's state, run the pure flow, and write
its effects — new state, history rows, alerts and outbox rows — in the same commit.
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import linking
from bot.metrics import Metrics
from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from bot.overrides.source import SettingsSource
from bot.payments import Payments
from bot.practice import CommandInput, Practice
from bot.texts import Texts
from flows.business import opening_hours
from flows.calls import bookable, free
from flows.catalogue import Catalogue
from flows.context import Context
from flows.conversation import handle
from flows.display import one_line
from flows.effects import (
    AcceptTerms,
    AddQuestion,
    Alert,
    BookSlot,
    ChangeStage,
    Flag,
    MarkNoticed,
    NewRequest,
    OpenRequest,
    Outcome,
    RequestRef,
    Say,
    SetStep,
    UpdateClient,
)
from flows.language.detect import detect_language
from flows.language.understanding import Understander
from flows.linking import decide as decide_linking
from flows.model import Channel, Inbound, Priority, Stage
from flows.practice.parse import looks_like_practitioner_command
from flows.zones import phone_zone
from storage.client_state import load_client_view, queue_stats
from storage.models import Client
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
NAME_LIMIT = 80  # a client's name as she reads it (alerts, board, commands)
EXCERPT_LIMIT = 300  # what an alert quotes of the client's message


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    client_id: int | None = None
    message_id: int | None = None


def _client_ref(client: Client) -> str:
    """How her commands name a client with no request: @username, the number, else the name."""
    if client.username:
        return f"@{client.username}"
    return f"+{client.phone}" if client.phone else client.display_name


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
        practice: Practice | None = None,
        payments: Payments | None = None,
        link_secret: bytes | None = None,
        overrides: SettingsSource | None = None,
        understander: Understander,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.understander = understander
        self.practitioner_id = practitioner_id
        # Her dashboard settings over catalogue.toml (hours, slots, services, canned texts),
        # looked at again for every message: `catalogue` and `texts` are the ones in force.
        self.overrides = overrides or SettingsSource(catalogue, texts)
        self.timezone = timezone
        self.practitioner_destinations = practitioner_destinations
        self.desk_url = desk_url
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.practice = practice
        self.payments = payments  # invoices or payment links once a booking is submitted
        self.link_secret = link_secret or secrets.token_bytes(32)  # signs link codes (flows/linking.py)
        self.business: Any = None  # bot/business.TelegramBusiness with TELEGRAM_BUSINESS (set by the channel)

    @property
    def catalogue(self) -> Catalogue:
        return self.overrides.current(self.practitioner_id).catalogue

    @property
    def texts(self) -> Texts:
        return self.overrides.current(self.practitioner_id).texts

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    async def handle(self, inbound: Inbound) -> Handled:
        if self.practice is not None and await self._practitioner(inbound):
            return Handled(duplicate=False)
        now = self.clock()
        try:
            handled = await self._handle_once(inbound, now)
        except IntegrityError:
            # A concurrent unit of work committed a row this one wrote too: the same message (a
            # platform's retry), or the same new client (their first two messages at once, on two
            # workers: the identity is unique). Taking both for a repeat lost the second message,
            # so the unit of work runs once more from the start: a repeat is then seen as one, and
            # a client created meanwhile is found and carries the conversation on. A conflict
            # again is no race: it goes to the caller, whose retry keeps the message.
            log.info("%s message %s raced a concurrent commit; run again", inbound.channel, inbound.external_id)
            handled = await self._handle_once(inbound, now)
        if not handled.duplicate:
            self.on_enqueued()
        if self.metrics is not None:
            (self.metrics.duplicates if handled.duplicate else self.metrics.inbound).labels(inbound.channel).inc()
        return handled

    async def _handle_once(self, inbound: Inbound, now: datetime) -> Handled:
        async with self.uow() as uow:
            if await uow.messages.seen(inbound.channel, inbound.external_id):
                return Handled(duplicate=True)
            await self.overrides.refresh(uow.session, uow.practitioner_id)
            handled = await self._run(uow, inbound, now)
            await uow.commit()
        return handled

    async def _practitioner(self, inbound: Inbound) -> bool:
        """Her own accounts reach her commands, never the client conversation; anyone else who
        types one of her commands is logged and gets the client experience."""
        assert self.practice is not None
        # A tapped button under her /queue carries the command itself (e.g. "/queue 2").
        text = inbound.payload if (inbound.payload or "").startswith("/") else inbound.text
        if await self.practice.is_practitioner(inbound.channel, inbound.sender_ref):
            await self.practice.run(CommandInput(channel=inbound.channel, address=inbound.sender_ref, text=text))
            return True
        if looks_like_practitioner_command(text):
            await self.practice.log_refused(inbound.channel, inbound.sender_ref, text)
        return False

    async def _run(self, uow: UnitOfWork, inbound: Inbound, now: datetime) -> Handled:
        client = await uow.clients.find_by_identity(inbound.channel, inbound.sender_ref)
        if client is not None and client.forgotten_at is not None:
            # Erased on their request (bot/privacy.py): the address is let go now and they start afresh.
            await uow.privacy.release_addresses(client.id)
            client = None
        if client is None and inbound.channel == Channel.WHATSAPP:
            # A number someone shared on Telegram: the same client, now on WhatsApp too.
            client = await linking.joined_by_phone(uow, inbound, now)
        first_contact = client is None
        if client is None:
            client = await uow.clients.create(
                name=one_line(inbound.sender_name, NAME_LIMIT) or "—",  # shown to her: one inert line
                language=detect_language(inbound.text, inbound.language_hint),
                # A number whose prefix names one zone tells the client's time (calls are shown in it).
                timezone=(phone_zone(inbound.sender_ref) if inbound.channel == Channel.WHATSAPP else None)
                or self.timezone,
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
        # What the practitioner may type to name this client: @username, phone number.
        if inbound.username:
            client.username = inbound.username[:64]
        if inbound.channel == Channel.WHATSAPP and client.phone is None:
            client.phone = "".join(ch for ch in inbound.sender_ref if ch.isdigit())[:32] or None
        view = await load_client_view(
            uow, client, now, first_contact, flood_window=timedelta(minutes=self.catalogue.flood_minutes)
        )
        linked = decide_linking(view, inbound, now, self.link_secret)
        if linked is not None:  # a link code, asked for or given; a shared phone number
            client, said = await linking.apply(uow, linked, client, now)
            await self.say(uow, said, client, inbound, now)
            return Handled(duplicate=False, client_id=client.id, message_id=message.id)
        ctx = await self._context(uow, now)
        outcome = handle(view, inbound, ctx)
        await self._apply(uow, outcome, client, inbound, message.id, now)
        return Handled(duplicate=False, client_id=client.id, message_id=message.id)

    async def _context(self, uow: UnitOfWork, now: datetime) -> Context:
        slots = bookable(self.catalogue.calls, self.catalogue.hours.timezone, now)
        held = await uow.bookings.held_between(slots[0], slots[-1] + timedelta(days=1)) if slots else []
        return Context(
            now=now,
            catalogue=await self._with_her_hours(uow),
            understander=self.understander,
            queue_lengths=await uow.requests.queue_lengths(),
            free_slots=tuple(free(slots, self.catalogue.calls.minutes, held, await uow.pauses.periods(now))),
            # ETAs grow by a pause; new clients are told of it.
            stats=await queue_stats(uow, (s.key for s in self.catalogue.services), now),
        )

    async def _with_her_hours(self, uow: UnitOfWork) -> Catalogue:
        """Her Telegram opening hours, when she set them and connected the bot (Telegram
        Business), are her working hours for the off-hours replies."""
        hours = opening_hours(await uow.business.opening_hours(), self.catalogue.hours) if self.business else None
        return replace(self.catalogue, hours=hours) if hours is not None else self.catalogue

    async def _apply(
        self, uow: UnitOfWork, outcome: Outcome, client: Client, inbound: Inbound, message_id: int, now: datetime
    ) -> None:
        created: int | None = None
        submitted: list[int] = []  # booked just now: a payment is offered after the confirmation
        said: list[Rendered] = []

        def resolve(ref: RequestRef | None) -> int | None:
            return created if isinstance(ref, NewRequest) else ref

        pending = list(outcome.effects)
        while pending:
            effect = pending.pop(0)
            match effect:
                case UpdateClient(language=language, timezone=timezone):
                    client.language = language or client.language
                    client.timezone = timezone or client.timezone
                case BookSlot(request=ref, starts_at=starts_at, minutes=minutes):
                    try:
                        await uow.bookings.book(
                            request_id=resolve(ref), client_id=client.id, starts_at=starts_at, minutes=minutes, now=now
                        )
                    except IntegrityError:
                        # Another client holds the slot since the free list was read: the rest of
                        # this outcome (confirmation, stage) is void; the flow's «taken» answer
                        # offering the next free slots goes instead.
                        log.info("slot %s taken concurrently", starts_at.isoformat())
                        pending = list(effect.if_taken)
                case OpenRequest(service=service, stage=stage, emergency=emergency):
                    request = await uow.requests.open(
                        client_id=client.id, service=service, stage=stage, emergency=emergency, now=now
                    )
                    created = request.id
                    if stage is Stage.SUBMITTED:
                        submitted.append(request.id)
                case AddQuestion(request=ref, text=text):
                    await uow.requests.add_question(resolve(ref), text, now)
                case ChangeStage(request=ref, stage=stage):
                    request = await uow.requests.get(resolve(ref))
                    if request is not None:
                        await uow.requests.change_stage(request, stage, now)
                        if stage is Stage.SUBMITTED:
                            submitted.append(request.id)
                case SetStep(step=step, service=service, request=ref):
                    client.step, client.step_service, client.step_request_id = step, service, resolve(ref)
                case AcceptTerms(service=service):
                    await uow.clients.accept_terms(client.id, service, now)
                case MarkNoticed(what="restriction"):
                    restriction = await uow.clients.active_restriction(client.id, now)
                    if restriction is not None:
                        await uow.clients.mark_restriction_announced(restriction.id, now)
                case Flag(reason=reason):
                    await uow.clients.flag(client, reason, now)
                case MarkNoticed(what="flood"):
                    client.flood_reported_at = now
                case MarkNoticed(what="offhours"):
                    client.offhours_notified_at = now
                case Alert():
                    await self._alert(uow, effect, client, inbound, resolve(effect.request), now)
                case Say():
                    said.append(self._render(effect, client, resolve))
        if said:
            await self._post(uow, said, client, inbound, now)
        if self.payments is not None:
            for request_id in submitted:
                await self.payments.offer(uow, client, request_id, inbound.channel, inbound.sender_ref, now)
        if submitted and self.business is not None:
            await self.business.offer_link(uow, client, inbound, now)  # her Telegram Business chat: the bot chat link

    async def _post(
        self, uow: UnitOfWork, said: list[Rendered], client: Client, inbound: Inbound, now: datetime
    ) -> None:
        """The whole answer to one inbound message, as one message (split only for length)."""
        await outgoing.post(
            uow,
            channel=inbound.channel,
            destination=inbound.sender_ref,
            message=outgoing.compose(said),
            key="msg:{message_id}",
            client_id=client.id,
            now=now,
        )

    async def say(self, uow: UnitOfWork, says: list[Say], client: Client, inbound: Inbound, now: datetime) -> None:
        """Says that refer to no new request, as one message to the client who wrote `inbound`."""
        if says:
            await self._post(uow, [self._render(say, client, lambda ref: ref) for say in says], client, inbound, now)

    def _render(self, say: Say, client: Client, resolve: Callable[[RequestRef | None], int | None]) -> Rendered:
        params = {k: resolve(v) if isinstance(v, NewRequest) else v for k, v in say.params.items()}
        text = self.texts.text(say.text_id, params, client.language, client.timezone)
        buttons = [
            {"label": self.texts.button(b, client.language, client.timezone), "payload": b.payload} for b in say.buttons
        ] or None
        return Rendered(text, buttons, say.priority)

    async def _alert(
        self, uow: UnitOfWork, alert: Alert, client: Client, inbound: Inbound, request_id: int | None, now: datetime
    ) -> None:
        row = await uow.alerts.add(
            client_id=client.id, kind=alert.kind, excerpt=alert.excerpt[:1000], request_id=request_id, now=now
        )
        if self.metrics is not None:
            self.metrics.alerts.labels(alert.kind).inc()
        text_id = f"alert-{alert.kind}"
        if text_id not in self.texts.ids("ru"):
            text_id = "alert-unknown"
        params = {
            "client": one_line(client.display_name, NAME_LIMIT),  # rows stored before names were cleaned
            "channel": inbound.channel,
            "number": request_id or "—",
            "excerpt": one_line(alert.excerpt, EXCERPT_LIMIT),
            # How a command names the client (flows/practice/args.client_ref): /forget {ref}.
            "ref": f"#{request_id}" if request_id else _client_ref(client),
            "kind": alert.kind,
        }
        text = self.texts.text(text_id, params, "ru", self.timezone, zone=False)  # to her: her own clock
        if self.desk_url:
            # One tap from the alert to the request on her page (Telegram and WhatsApp link URLs).
            anchor = f"#request-{request_id}" if request_id else ""
            text += "\n" + self.texts.text("alert-open", {"url": self.desk_url + anchor}, "ru", self.timezone)
        for destination in self.practitioner_destinations:
            await outgoing.post(
                uow,
                channel=destination.channel,
                destination=destination.address,
                message=Rendered(text, priority=Priority.URGENT),
                key=f"alert:{row.id}:{destination.channel}:{destination.address}",
                now=now,
            )
