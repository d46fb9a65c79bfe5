"""WhatsApp's wiring, built inside main.build()'s lifespan only when Twilio is configured."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient

from bot.desk import Desk
from bot.settings import ROOT, Settings
from bot.texts import Texts
from bot.whatsapp.content import ButtonMessages, ContentTemplates
from bot.whatsapp.inbox import WhatsAppInbox, WhatsAppIngest
from bot.whatsapp.sender import WhatsAppSender, make_client
from storage.models import OutboxItem
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.platform.tenants import Platform

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhook/twilio"
STATUS_PATH = "/webhook/twilio/status"


@dataclass
class WhatsApp:
    auth_token: str  # signs the webhooks: never logged
    public_base_url: str | None
    sender: WhatsAppSender
    http_client: AsyncHttpClient
    owns_http_client: bool
    replay_seconds: float = 30.0
    run_background: bool = True
    # Each practitioner's inbox (her desk, her worker), by practitioner id: bot/whatsapp/inbox.py.
    _inboxes: dict[int, WhatsAppInbox] = field(default_factory=dict, init=False)
    ingest: WhatsAppIngest = field(init=False)  # the webhook's store (set by start())
    platform: "Platform | None" = field(default=None, init=False)  # other practitioners' desks
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @classmethod
    def open(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        http_client: AsyncHttpClient | None = None,
        texts: Texts | None = None,
    ) -> "WhatsApp":
        assert (
            settings.twilio_account_sid
            and settings.twilio_auth_token
            and settings.twilio_whatsapp_from
        )
        token = settings.twilio_auth_token.get_secret_value()
        # No SDK-level retries (max_retries): a retried POST can send the message twice.
        http = http_client or AsyncTwilioHttpClient()
        base = settings.public_base_url.rstrip("/") if settings.public_base_url else None
        if base is None:
            log.warning(
                "PUBLIC_BASE_URL is not set: Twilio's webhooks cannot be checked and get 403"
            )

        async def last_inbound(item: OutboxItem) -> datetime | None:
            async with UnitOfWork(sessions, item.practitioner_id) as uow:
                return await uow.delivery.last_inbound_at(item.channel, item.destination)

        client = make_client(settings.twilio_account_sid, token, settings.twilio_api_base_url, http)
        buttons = None
        if settings.twilio_buttons:
            templates = ContentTemplates(client, clock=clock, language=settings.practitioner_language)
            # The list picker's own button and the shorter labels are catalog texts (wabuttons.po).
            buttons = ButtonMessages(templates, texts or Texts(ROOT / "locales"))
        sender = WhatsAppSender(
            client,
            from_=settings.twilio_whatsapp_from,
            status_callback=base + STATUS_PATH if base else None,
            clock=clock,
            last_inbound=last_inbound,
            templates=settings.twilio_templates,
            buttons=buttons,
        )
        return cls(token, base, sender, http, owns_http_client=http_client is None)

    def start(self, desk: Desk, *, run_background: bool = True, platform: "Platform | None" = None) -> None:
        """The webhook's store, and #1's inbox: with run_background its worker and the replay tick
        (unprocessed messages at start-up, then every replay_seconds). Without, the webhook only
        stores (bench/, tests: they run process_pending() themselves)."""
        self.run_background, self.platform = run_background, platform
        default = self.inbox(desk)
        self.ingest = WhatsAppIngest(desk.sessions, desk.clock, desk.practitioner_id, self._inbox_of)
        if run_background:
            self._tasks.append(asyncio.create_task(default.run_replay(self.replay_seconds), name="whatsapp-replay"))

    async def _inbox_of(self, practitioner_id: int) -> WhatsAppInbox | None:
        if practitioner_id == self.ingest.default_id:
            return self._inboxes[practitioner_id]  # #1's, made by start()
        tenant = await self.platform.tenant(practitioner_id) if self.platform is not None else None
        return self.inbox(tenant.desk) if tenant is not None else None

    def inbox(self, desk: Desk) -> WhatsAppInbox:
        """The practitioner's inbox, made (and its worker started) on first use: #1's at start-up,
        another practitioner's at her first message or replay (bot/platform/tenants.py, platform_jobs)."""
        inbox = self._inboxes.get(desk.practitioner_id)
        if inbox is None:
            inbox = self._inboxes[desk.practitioner_id] = WhatsAppInbox(desk)
            if self.run_background:
                name = f"whatsapp-inbox-{desk.practitioner_id}"
                self._tasks.append(asyncio.create_task(inbox.run(), name=name))
        elif inbox.desk is not desk:
            inbox.desk = desk  # her tenant was rebuilt (a new bot token): the newest desk
        return inbox

    async def process_pending(self) -> int:
        """Every practitioner's stored messages handled now (what the worker does when woken)."""
        return sum([await inbox.process_pending() for inbox in list(self._inboxes.values())])

    async def stop(self) -> None:
        self.run_background = False  # a request still in flight starts no worker any more
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # An injected client belongs to whoever made it (a test, a proxy-aware setup).
        if self.owns_http_client and isinstance(self.http_client, AsyncTwilioHttpClient):
            await self.http_client.close()
