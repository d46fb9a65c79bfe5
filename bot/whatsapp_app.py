"""WhatsApp's wiring, built inside main.build()'s lifespan only when Twilio is configured."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient

from bot import whatsapp_inbox
from bot.desk import Desk
from bot.settings import ROOT, Settings
from bot.texts import Texts
from bot.whatsapp_content import ButtonMessages, ContentTemplates
from bot.whatsapp_sender import WhatsAppSender, make_client
from storage.models import OutboxItem
from storage.uow import UnitOfWork

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
    _worker: asyncio.Task[None] | None = field(default=None, init=False)

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

    def start(self, desk: Desk, *, run_background: bool = True) -> None:
        """The replay worker: unprocessed messages at start-up, then on every tick."""
        if run_background:
            self._worker = asyncio.create_task(
                whatsapp_inbox.run(desk, self.replay_seconds), name="whatsapp-inbox"
            )

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        # An injected client belongs to whoever made it (a test, a proxy-aware setup).
        if self.owns_http_client and isinstance(self.http_client, AsyncTwilioHttpClient):
            await self.http_client.close()
