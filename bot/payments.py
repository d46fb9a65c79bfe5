"""Payment inside the chat: invoices and links after a booking, the money arriving, refunds.

- Offers are written in the booking's own transaction (Desk calls `offer`): a history row and an
  outbox row. A Telegram invoice is an outbox row keyed `invoice:<payment>:<message>` that the
  Telegram sender turns into `sendInvoice` (`invoice_for`), so it is as durable and as ordered
  as any reply: it leaves after the confirmation, survives a restart, and is never sent twice.
  WhatsApp and the web chat get a text with a link to `/pay/<payment>/<check>`; the Stripe
  Checkout Session is created only when the link is opened (no network call inside a booking's
  transaction, and an expired session is replaced by opening the link again).
- The money arriving (Telegram `successful_payment`, Stripe `checkout.session.completed`) is
  /paid's own decision (flows/practice/requests.paid) made at the payment's time, applied by the
  practitioner's shell; the provider's event id is unique per provider, so a payment delivered
  three times is recorded once.
"""

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe
from babel.numbers import format_currency
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.practice import Practice
from bot.texts import Texts
from flows.catalogue import Catalogue
from flows.effects import ChangeStage
from flows.model import Priority, Stage
from flows.payments import STARS, CheckoutView, Mode, Price, price_of, refusal, should_flag
from flows.practice import requests as decide
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, Notify, PracticeEffect, QueueChanged, ServiceName
from flows.practice.views import RequestCard
from storage.models import Client, Payment, Request
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

INVOICE_KEY = "invoice:"
PAY_PATH = "/pay"
CHECKOUT_REUSE = timedelta(hours=23)  # Stripe Checkout Sessions expire after 24 h
OPEN_STAGES = (Stage.DRAFT, Stage.SUBMITTED, Stage.QUEUED, Stage.IN_WORK)


@dataclass(frozen=True)
class Destination:
    channel: str
    address: str


@dataclass(frozen=True)
class InvoiceSpec:
    """One `sendInvoice`, as the Telegram sender needs it."""

    chat_id: int
    title: str
    description: str
    payload: str
    currency: str
    amount: int
    label: str
    provider_token: str | None


class RefundFailed(Exception):
    pass


StarRefund = Callable[[int, str], Awaitable[None]]  # (user id, telegram charge id)


class StripeGateway:
    """Stripe through its official library: Checkout Sessions out, signed webhooks in."""

    def __init__(self, api_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self.http = stripe.AIOHTTPClient()
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            http_client=self.http,
            max_network_retries=2,  # the library sends an idempotency key with every POST
        )

    async def checkout(
        self, *, payment_id: int, check: str, request_id: int, price: Price, name: str, return_url: str
    ) -> tuple[str, str]:
        session = await self.client.v1.checkout.sessions.create_async(
            {
                "mode": "payment",
                "client_reference_id": str(payment_id),
                "metadata": {"payment_id": str(payment_id), "check": check, "request_id": str(request_id)},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": price.currency.lower(),
                            "unit_amount": price.amount,
                            "product_data": {"name": name},
                        },
                    }
                ],
                "success_url": return_url,
                "cancel_url": return_url,
            }
        )
        return session.id, session.url or ""

    def verify(self, payload: bytes, signature: str | None) -> stripe.Event:
        """The event, or ValueError / stripe.SignatureVerificationError (a forgery or a stale replay)."""
        return stripe.Webhook.construct_event(payload, signature, self.webhook_secret)

    async def close(self) -> None:
        await self.http.close_async()


class Payments:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        practitioner_id: int,
        catalogue: Catalogue,
        texts: Texts,
        practice: Practice,
        clock: Callable[[], datetime],
        telegram: Mode | None = None,
        provider_token: str | None = None,
        stripe_gateway: StripeGateway | None = None,
        link_base: str = "",
        flip_limit: int = 3,
        destinations: Sequence[Destination] = (),
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.practitioner_id = practitioner_id
        self.catalogue = catalogue
        self.texts = texts
        self.practice = practice
        self.clock = clock
        self.telegram = telegram
        self.provider_token = provider_token
        self.stripe = stripe_gateway
        self.link_base = link_base.rstrip("/")
        self.flip_limit = flip_limit
        self.destinations = tuple(destinations)
        self.on_enqueued = on_enqueued
        self.refund_stars: StarRefund | None = None  # set by the Telegram channel

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    async def close(self) -> None:
        if self.stripe is not None:
            await self.stripe.close()

    def mode_for(self, channel: str) -> Mode | None:
        if channel == "telegram":
            return self.telegram
        return Mode.CARD if self.stripe is not None else None

    # Offering

    async def offer(
        self,
        uow: UnitOfWork,
        client: Client,
        request_id: int,
        channel: str,
        address: str,
        now: datetime,
        *,
        approved: bool = False,
    ) -> Payment | None:
        """An invoice or link for a request just submitted (in the caller's transaction); None
        when this channel takes no payments or the service has no price. A flagged client's
        invoice is held for her approval (`/invoice N`, which passes approved=True)."""
        mode = self.mode_for(channel)
        request = await uow.requests.get(request_id)
        if mode is None or request is None or request.payment_state != "unpaid":
            return None
        service = self.catalogue.get(request.service)
        price = price_of(service, mode)
        if price is None:
            return None
        provider = "telegram" if channel == "telegram" else "stripe"
        open_ones = [p for p in await uow.payments.for_request(request_id) if p.state in ("invoiced", "held")]
        payment = next((p for p in open_ones if p.provider == provider), None)
        if payment is not None and payment.state == "invoiced" and not approved:
            return payment  # already offered: a re-submitted list gets no second invoice
        flagged = client.flagged_at is not None or await self._flag_if_flipping(uow, client, request_id, now)
        if payment is None:
            payment = await uow.payments.add(
                request_id=request_id,
                client_id=client.id,
                provider=provider,
                currency=price.currency,
                amount=price.amount,
                state="held",
                check_token=secrets.token_urlsafe(12),
                now=now,
            )
        if flagged and not approved:
            payment.state = "held"
            await self._tell_her(
                uow,
                "pay-held",
                {"client": client.display_name, "number": request_id, "reason": client.flag_reason or ""},
                key=f"pay-held:{payment.id}",
                client_id=client.id,
                request_id=request_id,
                now=now,
            )
            return payment
        payment.state = "invoiced"
        payment.currency, payment.amount = price.currency, price.amount
        priority = Priority.URGENT if request.is_emergency else Priority.REPLY
        name = service.name(client.language) if service else request.service
        if provider == "telegram":
            text = self._text("pay-invoice-description", {"number": request_id, "service": name}, client)
            message = await uow.messages.add(
                client_id=client.id, direction="out", channel=channel, kind="invoice", text=text,
                request_id=request_id, now=now,
            )
            key = f"{INVOICE_KEY}{payment.id}:{message.id}"
        else:
            url = f"{self.link_base}{PAY_PATH}/{payment.id}/{payment.check_token}"
            params = {"number": request_id, "service": name, "amount": self._money(price, client.language), "url": url}
            text = self._text("pay-link", params, client)
            message = await uow.messages.add(
                client_id=client.id, direction="out", channel=channel, kind="text", text=text,
                request_id=request_id, now=now,
            )
            key = f"msg:{message.id}"
        await uow.outbox.enqueue(
            channel=channel, destination=address, priority=priority, text=text, key=key,
            message_id=message.id, now=now,
        )
        return payment

    async def invoice_for(self, key: str, destination: str) -> InvoiceSpec | None:
        """The invoice an outbox row stands for; None once it is no longer due (paid by hand,
        cancelled, or held since)."""
        try:
            payment_id = int(key.removeprefix(INVOICE_KEY).split(":")[0])
            chat_id = int(destination)
        except ValueError:
            return None
        async with self.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or payment.state != "invoiced":
                return None
            request = await uow.requests.get(payment.request_id)
            client = await uow.clients.get(payment.client_id)
            if request is None or client is None or Stage(request.stage) not in OPEN_STAGES:
                return None
            service = self.catalogue.get(request.service)
            name = service.name(client.language) if service else request.service
            params = {"number": request.id, "service": name}
            return InvoiceSpec(
                chat_id=chat_id,
                title=self._text("pay-invoice-title", params, client)[:32],
                description=self._text("pay-invoice-description", params, client)[:255],
                payload=f"{request.id}:{payment.id}:{payment.check_token}",
                currency=payment.currency,
                amount=payment.amount,
                label=name[:64],
                provider_token=None if payment.currency == STARS else self.provider_token,
            )

    # The money arriving

    async def pre_checkout(self, payload: str, user_id: int, currency: str, amount: int) -> str | None:
        """Telegram asks whether this checkout may go on: None, or the reason shown to the
        client. Answered within Telegram's 10 s (bot/telegram_inbox.py feeds it at once)."""
        async with self.uow() as uow:
            found = await self._by_payload(uow, payload)
            if found is None:
                return self.texts.text("pay-refuse-stale", {}, "ru", "UTC")
            payment, request, client = found
            payer = await uow.clients.find_by_identity("telegram", str(user_id))
            restricted = await uow.clients.active_restriction(client.id, self.clock()) is not None
            view = CheckoutView(
                stage=Stage(request.stage),
                request_paid=request.payment_state != "unpaid",
                payment_state=payment.state if payer is not None and payer.id == client.id else "foreign",
                client_restricted=restricted,
                price=Price(payment.currency, payment.amount),
                asked=Price(currency, amount),
            )
            reason = refusal(view)
            if reason is None:
                return None
            log.info("pre-checkout for request %s refused: %s", request.id, reason)
            return self._text(reason, {"number": request.id}, client)

    async def telegram_paid(
        self,
        *,
        payload: str,
        currency: str,
        amount: int,
        telegram_charge_id: str,
        provider_charge_id: str | None,
        paid_at: datetime,
    ) -> bool:
        """`successful_payment`: True when it was new (a repeat changes nothing)."""
        async with self.uow() as uow:
            found = await self._by_payload(uow, payload)
            if found is None:
                log.error("a Telegram payment for an unknown invoice payload arrived")
                return False
            payment = found[0]
            charges = {"telegram_charge_id": telegram_charge_id, "provider_charge_id": provider_charge_id or None}
            return await self._settle(uow, payment, "telegram", telegram_charge_id, Price(currency, amount),
                                      charges, paid_at)

    async def stripe_event(self, event: stripe.Event) -> bool:
        """A verified Stripe event: True when it paid a request now (repeats change nothing)."""
        if event.type not in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            return False
        session: dict[str, Any] = event.data.object.to_dict()  # the library's objects are no dicts
        if session.get("payment_status") != "paid":
            return False  # an asynchronous method: async_payment_succeeded follows
        metadata = session.get("metadata") or {}
        try:
            payment_id = int(metadata.get("payment_id", ""))
        except ValueError:
            return False
        paid_at = datetime.fromtimestamp(int(event.created), UTC)
        async with self.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or not hmac.compare_digest(payment.check_token, str(metadata.get("check", ""))):
                log.error("a Stripe payment for an unknown payment row arrived (event %s)", event.id)
                return False
            asked = Price(str(session.get("currency", "")).upper(), int(session.get("amount_total") or 0))
            charges = {"provider_charge_id": session.get("payment_intent"), "checkout_session_id": session.get("id")}
            return await self._settle(uow, payment, "stripe", event.id, asked, charges, paid_at)

    async def _settle(
        self,
        uow: UnitOfWork,
        payment: Payment,
        provider: str,
        event_id: str,
        asked: Price,
        charges: dict[str, Any],
        paid_at: datetime,
    ) -> bool:
        now = self.clock()
        if await uow.payments.by_event(provider, event_id) is not None:
            return False  # the same event again
        if payment.state in ("paid", "refunded"):
            log.warning("a second %s payment event for payment %s ignored", provider, payment.id)
            return False
        # The promise clock starts when the client paid, never in the future of our own clock.
        paid_at = min(paid_at, now)
        payment.state, payment.event_id, payment.paid_at = "paid", event_id, paid_at
        for name, value in charges.items():
            if value:
                setattr(payment, name, str(value))
        card = await uow.practice.card(payment.request_id, now)
        if card is None:
            return False
        if asked != Price(payment.currency, payment.amount):
            log.warning("payment %s: paid %s %s, invoiced %s %s", payment.id, asked.amount, asked.currency,
                        payment.amount, payment.currency)
        try:
            lengths = await uow.requests.queue_lengths()
            effects: list[PracticeEffect] = decide.paid(
                card, await self.practice.context(uow, paid_at), lengths.get(card.service, 0)
            )
        except BadArgument:
            # Closed since the invoice (cancelled, say): the money is hers to return.
            effects = [Answer("pay-closed-request", {"number": card.request_id, "client": card.client_name})]
        replies = await self.practice.apply(uow, effects, paid_at)
        await self._tell_her(
            uow,
            "pay-received",
            {"provider": provider, "answer": "\n".join(r.text for r in replies)},
            key=f"pay-received:{payment.id}",
            client_id=None,
            request_id=card.request_id,
            now=now,
        )
        try:
            await uow.commit()
        except IntegrityError:
            log.info("%s payment event %s raced with its own repeat", provider, event_id)
            return False
        self.on_enqueued()
        self.practice.on_queue_changed()
        return True

    # Stripe links

    async def checkout_url(self, payment_id: int, check: str) -> str | None:
        """Where `/pay/<payment>/<check>` sends the client: a Stripe Checkout page, created now
        or reused while it is still open; None for a bad link or a payment no longer due."""
        if self.stripe is None:
            return None
        now = self.clock()
        async with self.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or payment.provider != "stripe" or not hmac.compare_digest(payment.check_token, check):
                return None
            request = await uow.requests.get(payment.request_id)
            client = await uow.clients.get(payment.client_id)
            if payment.state != "invoiced" or request is None or client is None:
                return None
            if Stage(request.stage) not in OPEN_STAGES or request.payment_state != "unpaid":
                return None
            if payment.checkout_url and payment.checkout_at and now - payment.checkout_at < CHECKOUT_REUSE:
                return payment.checkout_url
            service = self.catalogue.get(request.service)
            name = service.name(client.language) if service else request.service
            session_id, url = await self.stripe.checkout(
                payment_id=payment.id,
                check=payment.check_token,
                request_id=request.id,
                price=Price(payment.currency, payment.amount),
                name=self._text("pay-invoice-title", {"number": request.id, "service": name}, client),
                return_url=f"{self.link_base}/",
            )
            payment.checkout_session_id, payment.checkout_url, payment.checkout_at = session_id, url, now
            await uow.commit()
            return url

    # Refunds and approvals (the practitioner's /refund and /invoice)

    async def refund(self, uow: UnitOfWork, card: RequestCard, log_id: int) -> list[PracticeEffect]:
        paid = [p for p in await uow.payments.for_request(card.request_id) if p.state == "paid"]
        if not paid:
            raise BadArgument("cmd-refund-none", number=card.request_id)
        payment = paid[-1]
        if payment.currency != STARS or payment.telegram_charge_id is None:
            raise BadArgument("cmd-refund-manual", number=card.request_id, provider=payment.provider)
        if self.refund_stars is None:
            raise BadArgument("cmd-refund-off", number=card.request_id)
        identity = next((i for i in await uow.clients.identities(card.client_id) if i.channel == "telegram"), None)
        if identity is None:
            raise BadArgument("cmd-refund-off", number=card.request_id)
        try:
            await self.refund_stars(int(identity.address), payment.telegram_charge_id)
        except RefundFailed as error:
            raise BadArgument("cmd-refund-failed", number=card.request_id, error=str(error)[:200]) from error
        now = self.clock()
        payment.state, payment.refunded_at = "refunded", now
        request = await uow.requests.get(card.request_id)
        assert request is not None
        request.payment_state = "refunded"
        effects: list[PracticeEffect] = []
        if card.stage not in (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW):
            effects.append(ChangeStage(card.request_id, Stage.CANCELLED))
        effects += [
            Notify(
                card.client_id,
                "pay-refunded",
                key=f"refund:{payment.id}",
                params={"number": card.request_id, "service": ServiceName(card.service)},
                priority=Priority.REPLY,
                request_id=card.request_id,
            ),
            Answer("cmd-refund-ok", {"number": card.request_id, "client": card.client_name}),
            QueueChanged(),
        ]
        client = await uow.clients.get(card.client_id)
        if client is not None and await self._flag_if_flipping(uow, client, card.request_id, now, refunded=True):
            effects.append(Answer("cmd-refund-flagged", {"client": card.client_name}))
        return effects

    async def approve(self, uow: UnitOfWork, card: RequestCard) -> list[PracticeEffect]:
        if card.stage in (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW):
            raise BadArgument("cmd-error-closed", number=card.request_id, stage=Answer(f"stage-{card.stage.value}"))
        if card.paid:
            return [Answer("cmd-paid-already", {"number": card.request_id, "client": card.client_name})]
        client = await uow.clients.get(card.client_id)
        route = await uow.clients.reply_route(card.client_id)
        if client is None or route is None:
            raise BadArgument("cmd-invoice-off", number=card.request_id)
        channel, address = route
        payment = await self.offer(uow, client, card.request_id, channel, address, self.clock(), approved=True)
        if payment is None:
            raise BadArgument("cmd-invoice-off", number=card.request_id)
        return [Answer("cmd-invoice-ok", {"number": card.request_id, "client": card.client_name})]

    # Helpers

    async def _flag_if_flipping(
        self, uow: UnitOfWork, client: Client, request_id: int, now: datetime, *, refunded: bool = False
    ) -> bool:
        """Flag the client once their abandoned and refunded payments reach the limit."""
        flips = await uow.payments.flips(client.id)
        if not should_flag(flips, self.flip_limit, client.flagged_at is not None):
            return False
        client.flagged_at = now
        client.flag_reason = self.texts.text("pay-flag-reason", {"count": flips}, self.practice.language, "UTC")
        await uow.alerts.add(
            client_id=client.id, kind="payment_flips", excerpt=client.flag_reason, request_id=request_id, now=now
        )
        await self._tell_her(
            uow,
            "pay-flagged",
            {"client": client.display_name, "count": flips, "number": request_id},
            key=f"pay-flagged:{client.id}:{int(now.timestamp())}",
            client_id=client.id,
            request_id=request_id,
            now=now,
        )
        return True

    async def _tell_her(
        self,
        uow: UnitOfWork,
        text_id: str,
        params: dict[str, Any],
        *,
        key: str,
        client_id: int | None,
        request_id: int | None,
        now: datetime,
    ) -> None:
        text = self.texts.text(text_id, params, self.practice.language, self.practice.timezone)
        for destination in self.destinations:
            await uow.outbox.enqueue(
                channel=destination.channel,
                destination=destination.address,
                priority=Priority.URGENT,
                text=text,
                key=f"{key}:{destination.channel}:{destination.address}",
                now=now,
            )

    async def _by_payload(self, uow: UnitOfWork, payload: str) -> tuple[Payment, Request, Client] | None:
        parts = payload.split(":")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        payment = await uow.payments.get(int(parts[1]))
        if payment is None or payment.request_id != int(parts[0]):
            return None
        if not hmac.compare_digest(payment.check_token, parts[2]):
            return None
        request = await uow.requests.get(payment.request_id)
        client = await uow.clients.get(payment.client_id)
        if request is None or client is None:
            return None
        return payment, request, client

    def _text(self, text_id: str, params: dict[str, Any], client: Client) -> str:
        return self.texts.text(text_id, params, client.language, client.timezone)

    def _money(self, price: Price, language: str) -> str:
        if price.currency == STARS:
            return f"{price.amount} ⭐"
        return format_currency(price.amount / 100, price.currency, locale=language)


def open_payments(
    settings: "Settings",
    *,
    sessions: async_sessionmaker[AsyncSession],
    practitioner_id: int,
    catalogue: Catalogue,
    texts: Texts,
    practice: Practice,
    clock: Callable[[], datetime],
    destinations: Sequence[Destination],
    on_enqueued: Callable[[], None],
) -> Payments | None:
    """Payments as configured, or None: with no payment settings nothing changes (manual /paid)."""
    telegram = None
    if settings.telegram_payments_enabled:
        telegram = Mode.CARD if settings.telegram_payment_provider_token is not None else Mode.STARS
    gateway = None
    if settings.stripe_enabled:
        assert settings.stripe_api_key is not None and settings.stripe_webhook_secret is not None
        gateway = StripeGateway(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            settings.stripe_api_base,
        )
    if telegram is None and gateway is None:
        return None
    token = settings.telegram_payment_provider_token
    return Payments(
        sessions=sessions,
        practitioner_id=practitioner_id,
        catalogue=catalogue,
        texts=texts,
        practice=practice,
        clock=clock,
        telegram=telegram,
        provider_token=token.get_secret_value() if token is not None else None,
        stripe_gateway=gateway,
        link_base=settings.public_base_url or f"http://{settings.host}:{settings.port}",
        flip_limit=settings.payment_flip_limit,
        destinations=destinations,
        on_enqueued=on_enqueued,
    )
