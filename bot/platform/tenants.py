"""Many practitioners on one deployment: each one's desk, shell and channels, made from her row.

Practitioner #1 is the env-configured one main.build() wires as before; every other practitioner
(`python main.py practitioner add`, storage/platform.py) gets a Tenant the first time anything
needs it — her webhook, an inbound WhatsApp message to her sender, an outbox row of hers, a
dashboard login — built from her row and cached by (id, bot token), so a changed token makes a
new Bot. A periodic sync also builds the tenants of new rows that have a bot, which registers
their webhook (or starts their poller): adding a practitioner needs no restart.

The relay has one routed sender per channel (`RoutedSender`): it hands each outbox row to the
sender of the row's practitioner; with two practitioners or more the relay claims per
(channel, practitioner) lane, each with its own rate buckets (bot/outbox/ratelimit.py `lane`).

Each tenant also carries her Pushes and Privacy, which the scheduler's platform jobs sweep
(bot/platform/jobs.py); #1's are main.build()'s, as before.

Her catalogue is her own when her row has one (`practitioner add|set --catalogue`), else the
deployment's catalogue.toml, in her time zone either way; her dashboard settings are laid over it
(bot/overrides/source.py `set_base`). A changed catalogue is taken at the next sync, in place: her
bot is not restarted for it.

Her bot works like #1's: Telegram Business (TELEGRAM_BUSINESS, for the whole deployment) takes
connections from her own accounts only, into her own rows; her payments are built from her row's
keys (bot/payments/setup.py practitioner_payments), never #1's, and her secrets are masked in the
logs as soon as her tenant is built (bot/redact.py).
"""

import asyncio
import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import redact
from bot.catalogue_file import CatalogueError, parse_catalogue
from bot.desk import Desk, Destination
from bot.linking import link_secret
from bot.metrics import Metrics
from bot.outbox.delivery import Failed, Result, Sender
from bot.outbox.relay import OutboxRelay
from bot.overrides.source import SettingsSource
from bot.payments import Payments, practitioner_payments
from bot.payments.context import Destination as PayTo
from bot.payments.context import PaymentContext
from bot.platform.jobs import PlatformJobs
from bot.practice import Practice
from bot.privacy import Privacy
from bot.pushes import Pushes
from bot.settings import Settings
from bot.telegram.ingest import WEBHOOK_PATH, TelegramIngest
from bot.texts import Texts
from bot.whatsapp.app import WhatsApp
from flows.catalogue import Catalogue
from flows.language.understanding import Understander, trained
from storage.models import OutboxItem, Practitioner
from storage.platform import PractitionerStore

if TYPE_CHECKING:
    from bot.telegram.app import TelegramChannel

log = logging.getLogger(__name__)

SYNC_SECONDS = 30.0
ROUTED = ("telegram", "tg_business", "whatsapp")  # the relay's channels sent per practitioner


def _keys(row: Practitioner) -> tuple[str | None, ...]:
    """What her tenant is built from that can change while running: a change makes a new one."""
    return (row.telegram_token, row.telegram_payment_token, row.stripe_api_key, row.stripe_webhook_secret)


def _secrets(row: Practitioner) -> list[str]:
    found = [row.telegram_webhook_secret, *_keys(row)]
    if row.telegram_token:
        found.append(row.telegram_token.partition(":")[2])  # the secret half, as for #1's token
    return [secret for secret in found if secret]


@dataclass
class Tenant:
    practitioner_id: int
    slug: str
    desk: Desk
    practice: Practice
    telegram: "TelegramChannel | None" = None
    whatsapp: Sender | None = None
    token: str | None = None  # her bot's token: part of the cache key, never logged
    password_hash: str | None = None
    pushes: Pushes | None = None  # her timed pushes and privacy sweeps (bot/platform/jobs.py)
    privacy: Privacy | None = None
    payments: Payments | None = None  # from her own keys (None: manual /paid only)
    telegram_senders: dict[str, Sender] = field(default_factory=dict)  # her bot chat and business chats
    keys: tuple[str | None, ...] = ()  # her row's secrets as built: the cache key, never logged
    catalogue: str | None = None  # her row's catalogue text as applied (None: the deployment's)

    def sender(self, channel: str) -> Sender | None:
        return self.whatsapp if channel == "whatsapp" else self.telegram_senders.get(channel)


@dataclass
class Shared:
    """What every tenant is built from besides her row (set by main.build once it exists)."""

    catalogue: Catalogue
    texts: Texts
    overrides: SettingsSource
    relay: OutboxRelay
    whatsapp: WhatsApp | None = None
    telegram_ingest: TelegramIngest | None = None  # one group commit for every bot's webhook
    understander: Understander | None = None  # flows/language/: trained once, shared by every desk
    metrics: Metrics | None = None  # one registry for every practitioner's desk


class RoutedSender:
    """The relay's sender for one channel: each row goes out through its practitioner's bot or
    sender; #1's rows through the sender main.build() made, exactly as before."""

    def __init__(self, platform: "Platform", channel: str, default: Sender | None) -> None:
        self.platform = platform
        self.channel = channel
        self.default = default

    async def send(self, item: OutboxItem) -> Result:
        if item.practitioner_id == self.platform.default_id:
            if self.default is None:
                return Failed(error=f"no {self.channel} sender configured")
            return await self.default.send(item)
        tenant = await self.platform.tenant(item.practitioner_id)
        sender = tenant.sender(self.channel) if tenant is not None else None
        if sender is None:
            return Failed(error=f"practitioner {item.practitioner_id} has no {self.channel} sender")
        return await sender.send(item)


@dataclass
class Platform:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    run_background: bool = True
    default_id: int = 0
    default: Tenant | None = None
    shared: Shared | None = None
    _tenants: dict[int, Tenant] = field(default_factory=dict)
    _slugs: dict[str, int] = field(default_factory=dict)  # slug → id, as by_slug found them
    jobs: PlatformJobs = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _sync: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.jobs = PlatformJobs(self)

    @property
    def many(self) -> bool:
        return self.shared is not None and self.shared.relay.per_practitioner

    def route(self, senders: dict[str, Sender]) -> dict[str, Sender]:
        """The relay's senders with Telegram (bot and business chats) and WhatsApp routed per
        practitioner (sync() adds the Telegram ones when a practitioner with a bot appears while #1
        has none)."""
        routed = dict(senders)
        for channel in ROUTED:
            if channel in senders:
                routed[channel] = RoutedSender(self, channel, senders[channel])
        return routed

    async def open(self, default: Tenant, shared: Shared) -> None:
        self.default, self.default_id, self.shared = default, default.practitioner_id, shared
        await self.sync()
        if self.run_background:
            self._sync = asyncio.create_task(self._sync_forever(), name="platform-sync")

    async def sync(self) -> None:
        """Every practitioner with a bot gets her tenant (webhook set, poller running); the relay
        claims per practitioner once there are two."""
        async with self.sessions() as session:
            rows = await PractitionerStore(session).all()
        assert self.shared is not None
        relay = self.shared.relay
        relay.per_practitioner = len(rows) > 1
        if any(row.telegram_token for row in rows):
            channels = ["telegram", "tg_business"] if self.settings.telegram_business else ["telegram"]
            for channel in channels:
                if channel not in relay.senders:
                    relay.senders[channel] = RoutedSender(self, channel, None)  # type: ignore[index]
        for row in rows:
            if row.id != self.default_id and (row.telegram_token or row.id in self._tenants):
                async with self.sessions() as session:
                    accounts = await PractitionerStore(session).accounts(row.id)
                await self._tenant_of(row, accounts)  # a changed token or password is taken here

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                await self.sync()
            except Exception:  # a bad row (an unusable token) must not stop the others
                log.exception("practitioner sync failed")

    async def others(self) -> list[int]:
        """Every practitioner but #1, as the database has them now (one added while running too)."""
        async with self.sessions() as session:
            return [row.id for row in await PractitionerStore(session).all() if row.id != self.default_id]

    async def tenant(self, practitioner_id: int) -> Tenant | None:
        if practitioner_id == self.default_id:
            return self.default
        cached = self._tenants.get(practitioner_id)
        if cached is not None:  # the hot path (every send, every webhook): no query
            return cached
        async with self.sessions() as session:
            row = await PractitionerStore(session).get(practitioner_id)
            if row is None:
                return None
            accounts = await PractitionerStore(session).accounts(row.id)
        return await self._tenant_of(row, accounts)

    async def by_slug(self, slug: str) -> Tenant | None:
        found = self._slugs.get(slug)
        if found is None:
            async with self.sessions() as session:
                row = await PractitionerStore(session).by_slug(slug)
            if row is None:  # not remembered: one added later is found then
                return None
            # A slug never changes: every webhook request asked the database for it (a session
            # and a query per update, ~20% of the route's time with 100 practitioners).
            found = self._slugs[slug] = row.id
        return await self.tenant(found)

    async def by_whatsapp_to(self, to: str | None) -> Tenant | None:
        """The practitioner whose sender a client wrote to; #1 for TWILIO_WHATSAPP_FROM or anything
        no practitioner row claims (one deployment, one number: as before)."""
        if to:
            async with self.sessions() as session:
                row = await PractitionerStore(session).by_whatsapp_from(to)
            if row is not None:
                return await self.tenant(row.id)
        return self.default

    async def _tenant_of(self, row: Practitioner, accounts: list[tuple[str, str]]) -> Tenant:
        async with self._lock:  # two first uses at once build one Bot
            found = self._tenants.get(row.id)
            if found is not None and found.keys == _keys(row):
                found.password_hash = row.password_hash
                if found.catalogue != row.catalogue:  # a new catalogue needs no new Bot
                    self._use_catalogue(found, row, self._catalogue_of(row, found.practice.timezone))
                return found
            if found is not None:  # a new bot token or payment key: the old Bot and gateway go
                await self._close(found)
            tenant = await self._build(row, accounts)
            self._tenants[row.id] = tenant
            return tenant

    async def _build(self, row: Practitioner, accounts: list[tuple[str, str]]) -> Tenant:
        assert self.shared is not None
        shared, settings = self.shared, self.settings
        redact.mask(_secrets(row))  # before anything of hers can reach a log line
        timezone = row.timezone or settings.timezone
        catalogue = self._catalogue_of(row, timezone)
        practice = Practice(
            sessions=self.sessions,
            practitioner_id=row.id,
            catalogue=catalogue,
            texts=shared.texts,
            timezone=timezone,
            language=settings.practitioner_language,
            clock=self.clock,
            on_enqueued=shared.relay.wake,
            overrides=shared.overrides,
        )
        destinations = tuple(
            Destination(channel, address)
            for channel, address in accounts
            if (channel == "telegram" and row.telegram_token) or (channel == "whatsapp" and row.whatsapp_from)
        )
        base = (settings.public_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        desk = Desk(
            sessions=self.sessions,
            practitioner_id=row.id,
            catalogue=catalogue,
            texts=shared.texts,
            timezone=timezone,
            practitioner_destinations=destinations,
            desk_url=f"{base}/desk",
            clock=self.clock,
            on_enqueued=shared.relay.wake,
            practice=practice,
            link_secret=link_secret(settings),
            overrides=shared.overrides,
            understander=shared.understander or trained(),
            metrics=shared.metrics,
        )
        practice.desk_url = desk.desk_url
        payments = practitioner_payments(
            settings,
            PaymentContext(
                sessions=self.sessions,
                practitioner_id=row.id,
                texts=shared.texts,
                practice=practice,
                clock=self.clock,
                destinations=tuple(PayTo(d.channel, d.address) for d in destinations),
                on_enqueued=shared.relay.wake,
            ),
            slug=row.slug,
            has_bot=bool(row.telegram_token),
            provider_token=row.telegram_payment_token,
            stripe_api_key=row.stripe_api_key,
            stripe_webhook_secret=row.stripe_webhook_secret,
        )
        desk.payments = practice.payments = payments
        pushes = Pushes(
            sessions=self.sessions,
            practitioner_id=row.id,
            catalogue=catalogue,
            texts=shared.texts,
            timezone=timezone,
            clock=self.clock,
            practitioner_destinations=destinations,
            language=settings.practitioner_language,
            queue_updates_per_day=settings.queue_updates_per_day,
            nudge_after=timedelta(hours=settings.nudge_after_hours),
            digest_hour=settings.digest_hour,
            on_enqueued=shared.relay.wake,
        )
        pushes.on_wake = self.jobs.wake  # /done, /paid, /next move her queue: sweep now
        practice.on_queue_changed = pushes.wake
        privacy = Privacy(
            sessions=self.sessions, practitioner_id=row.id, clock=self.clock, retention_days=settings.retention_days
        )
        tenant = Tenant(
            row.id,
            row.slug,
            desk,
            practice,
            token=row.telegram_token,
            password_hash=row.password_hash,
            pushes=pushes,
            privacy=privacy,
            payments=payments,
            keys=_keys(row),
        )
        self._use_catalogue(tenant, row, catalogue)
        if row.whatsapp_from and shared.whatsapp is not None:
            sender = copy.copy(shared.whatsapp.sender)  # the platform's Twilio account, her number
            sender.from_ = row.whatsapp_from
            tenant.whatsapp = sender
        if row.telegram_token:
            try:
                tenant.telegram = await self._telegram(row, desk, payments)
            except Exception:  # an unusable token: her Stripe client must not outlive the attempt
                if payments is not None:
                    await payments.close()
                raise
            tenant.telegram_senders = tenant.telegram.senders(self.sessions, self.clock)
        return tenant

    async def _telegram(self, row: Practitioner, desk: Desk, payments: Payments | None) -> "TelegramChannel":
        from bot.telegram.app import TelegramChannel  # aiogram, only once a practitioner has a bot

        assert row.telegram_token is not None
        own = self.settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(row.telegram_token),
                "telegram_webhook_secret": SecretStr(row.telegram_webhook_secret)
                if row.telegram_webhook_secret
                else None,
                # TELEGRAM_BUSINESS is the deployment's and stays as set. Payments are hers: her
                # bot answers payment updates only when her Payments send invoices, and none of
                # #1's payment keys is copied into her channel.
                "telegram_payments": payments is not None and payments.offers.telegram is not None,
                "telegram_payment_provider_token": None,
                "stripe_api_key": None,
                "stripe_webhook_secret": None,
            }
        )
        channel = TelegramChannel(own)
        channel.webhook_path = f"{WEBHOOK_PATH}/{row.slug}"
        ingest = self.shared.telegram_ingest if self.shared is not None else None
        await channel.start(desk, run_background=self.run_background, payments=payments, ingest=ingest)
        return channel

    def _catalogue_of(self, row: Practitioner, timezone: str) -> Catalogue:
        """Her own catalogue, or the deployment's catalogue.toml; in her time zone either way."""
        assert self.shared is not None
        if row.catalogue:
            try:
                return parse_catalogue(row.catalogue, timezone, f"practitioner {row.slug}'s catalogue")
            except CatalogueError:
                # Checked when stored; a rule tightened since must not stop her conversations.
                log.exception("practitioner %s's own catalogue is invalid; catalogue.toml applies", row.slug)
        base = self.shared.catalogue
        return base if base.hours.timezone == timezone else replace(base, hours=replace(base.hours, timezone=timezone))

    def _use_catalogue(self, tenant: Tenant, row: Practitioner, catalogue: Catalogue) -> None:
        assert self.shared is not None
        self.shared.overrides.set_base(row.id, catalogue)  # the desk, her shell, her dashboard
        if tenant.pushes is not None:
            tenant.pushes.catalogue = catalogue
        tenant.catalogue = row.catalogue

    async def _close(self, tenant: Tenant) -> None:
        if tenant.telegram is not None:
            await tenant.telegram.stop()
        if tenant.payments is not None:
            await tenant.payments.close()

    async def close(self) -> None:
        if self._sync is not None:
            self._sync.cancel()
            await asyncio.gather(self._sync, return_exceptions=True)
        for tenant in list(self._tenants.values()):
            await self._close(tenant)
        self._tenants.clear()
