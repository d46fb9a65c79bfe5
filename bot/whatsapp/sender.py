"""Outbox rows to WhatsApp through the twilio SDK's async client; errors mapped to results."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.rest import Client

from bot.outbox.delivery import Delivered, Failed, OutsideWindow, Result, RetryLater, Uncertain
from bot.outbox.message_kinds import template_for
from bot.whatsapp.content import ButtonMessages
from storage.models import OutboxItem

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)
WINDOW_ERROR = (
    "outside WhatsApp's 24-hour window: the client last wrote more than 24 h ago; "
    "the message waits until they write again"
)
# Terminal for this message: the same request fails again (shared/RELIABILITY.md).
TERMINAL = {
    63018: "rate or Meta messaging tier limit for this sender",
    21610: "the recipient replied STOP",
    63014: "the recipient blocked this business",
    21211: "not a valid 'To' number",
    21614: "'To' is not a WhatsApp number",
    63003: "the recipient is not reachable on WhatsApp",
}
OUTSIDE_WINDOW = 63016
# Meta refuses template variables with newlines, tabs or more than 4 spaces in a row, and a
# template body over 1024 characters: the variable is one line, cut short.
VARIABLE_LIMIT = 900

LastInbound = Callable[[OutboxItem], Awaitable[datetime | None]]


def content_base_url(api_base_url: str) -> str:
    """Twilio's own API host means its own Content host; a proxy or a double serves both."""
    base = api_base_url.rstrip("/")
    return "https://content.twilio.com" if base == "https://api.twilio.com" else base


def make_client(
    account_sid: str, auth_token: str, api_base_url: str, http_client: AsyncHttpClient
) -> Client:
    client = Client(account_sid, auth_token, http_client=http_client)
    # The SDK has no base-URL option; every Messages call goes through the Api domain, whose
    # base_url is the seam (twilio-python #521 suggests a custom HTTP client; this is smaller).
    client.api.base_url = api_base_url.rstrip("/")
    client.content.base_url = content_base_url(api_base_url)  # the buttons' content resources
    # Settings are the contract: a stray TWILIO_EDGE/TWILIO_REGION in the environment must not
    # rewrite the host the SDK talks to.
    client.edge = client.region = None
    return client


def whatsapp_address(destination: str) -> str:
    # Practitioner numbers may be configured bare ("+7…"); Twilio needs the channel prefix.
    return destination if destination.startswith("whatsapp:") else f"whatsapp:{destination}"


def with_choices(text: str, buttons: Sequence[dict[str, str]] | None) -> str:
    """Choices as text under the message: without TWILIO_BUTTONS, in a template, or where the
    buttons cannot be interactive (bot/whatsapp/buttons.py).

    Menu labels already carry their number ("1. Плановый расклад"), which the flows read back as
    that menu item; other choices are bulleted, not numbered, because a bare "1" means the first
    menu item to the flows, never "the first choice in this message". The client types the words.
    """
    labels = [b["label"] for b in buttons or () if b.get("label")]
    if not labels:
        return text
    lines = [label if label[:1].isdigit() else f"• {label}" for label in labels]
    return text.rstrip() + "\n\n" + "\n".join(lines)


def template_variables(text: str, buttons: Sequence[dict[str, str]] | None) -> str:
    """ContentVariables for a utility template «…: {{1}}»: the whole message as variable 1."""
    lines = [" ".join(line.split()) for line in with_choices(text, buttons).splitlines()]
    value = " · ".join(line for line in lines if line)
    if len(value) > VARIABLE_LIMIT:
        value = value[: VARIABLE_LIMIT - 1] + "…"
    return json.dumps({"1": value}, ensure_ascii=False)


def classify(error: TwilioRestException | TwilioServiceException) -> Result:
    status, code = int(error.status or 0), int(error.code or 0)
    # Built from numbers only: Twilio's own message can quote the phone number (21211).
    described = f"twilio {status}/{code}"
    if code == OUTSIDE_WINDOW:
        return OutsideWindow(error=WINDOW_ERROR)
    if code in TERMINAL:
        return Failed(error=f"{described}: {TERMINAL[code]}")
    if status == 429 or code == 20429 or status >= 500:
        return RetryLater(error=described)
    if status in (401, 403):
        # Wrong account SID or token: the operator's fix, not the message's fault; the row waits.
        return RetryLater(error=f"{described}: check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN")
    return Failed(error=described)


class WhatsAppSender:
    def __init__(
        self,
        client: Client,
        *,
        from_: str,
        status_callback: str | None,
        clock: Callable[[], datetime],
        last_inbound: LastInbound,
        templates: dict[str, str] | None = None,
        buttons: ButtonMessages | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.client = client
        self.from_ = whatsapp_address(from_)
        self.status_callback = status_callback
        self.clock = clock
        self.last_inbound = last_inbound
        self.templates = dict(templates or {})  # message kind -> ContentSid (TWILIO_TEMPLATES)
        self.buttons = buttons  # None: choices are listed under the text (TWILIO_BUTTONS off)
        # AsyncTwilioHttpClient passes no timeout to aiohttp unless the call names one, and
        # create_async names none: without this a hung request holds the relay forever.
        self.timeout = timeout

    async def send(self, item: OutboxItem) -> Result:
        template = template_for(self.templates, item.idempotency_key)
        last = await self.last_inbound(item)
        if last is not None and self.clock() - last > WINDOW:
            # Known to be refused as free-form (63016): the template, or no request at all. An
            # address of no client (the practitioner's) has no known window: Twilio decides.
            if template is None:
                return OutsideWindow(error=WINDOW_ERROR)
            return await self._create(item, self._template(item, template))
        result = await self._in_session(item)
        if isinstance(result, OutsideWindow) and template is not None:
            # The window closed unseen (a client we have no time for, a clock apart): one more
            # request, as the template; 63016 again leaves the row waiting.
            return await self._create(item, self._template(item, template))
        return result

    async def _in_session(self, item: OutboxItem) -> Result:
        """Inside the window: buttons as an interactive message when they fit, else plain text."""
        text = {"body": with_choices(item.text, item.buttons)}
        buttons = self.buttons
        found = await buttons.find(item.text, item.buttons) if buttons is not None and item.buttons else None
        if buttons is None or found is None:
            return await self._create(item, text)
        message, sid = found
        interactive = {"content_sid": sid, "content_variables": message.content_variables()}
        return await self._create(item, interactive, or_else=text, on_refused=lambda: buttons.refused(message))

    @staticmethod
    def _template(item: OutboxItem, template: str) -> dict[str, str]:
        """The approved template with the whole text, choices included, as {{1}}."""
        return {
            "content_sid": template,
            "content_variables": template_variables(item.text, item.buttons),
        }

    async def _create(
        self,
        item: OutboxItem,
        content: dict[str, str],
        *,
        or_else: dict[str, str] | None = None,
        on_refused: Callable[[], None] | None = None,
    ) -> Result:
        """One Messages call: free-form text, an interactive message or an approved template.

        `or_else` is sent instead when Twilio refuses the content itself (a resource deleted in the
        console, variables over a limit we did not know of): the client still gets the words.
        """
        try:
            async with asyncio.timeout(self.timeout):
                message = await self.client.messages.create_async(
                    from_=self.from_,
                    to=whatsapp_address(item.destination),
                    status_callback=self.status_callback or values.unset,
                    **content,
                )
        except (TwilioRestException, TwilioServiceException) as error:
            result = classify(error)
            log.warning("twilio refused outbox row %s: %s", item.id, getattr(result, "error", ""))
            if or_else is not None and isinstance(result, Failed) and int(error.code or 0) not in TERMINAL:
                if on_refused is not None:
                    on_refused()
                return await self._create(item, or_else)
            return result
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            # Refused, DNS, TLS handshake, connect timeout: the request never reached Twilio.
            return RetryLater(error=f"cannot connect to Twilio: {type(error).__name__}")
        except TimeoutError:
            # Written but unanswered: Messages has no idempotency key, so a resend may duplicate.
            # (A connect that hangs lands here too: the SDK passes aiohttp no connect timeout.)
            return Uncertain(
                error=f"no answer from Twilio in {self.timeout:g} s; it may have been sent"
            )
        except (aiohttp.ClientError, TwilioException, ValueError) as error:
            # Dropped mid-answer, or a 2xx that is not a Message: sent or not, unknown.
            return Uncertain(error=f"unclear answer from Twilio: {type(error).__name__}")
        return Delivered(external_id=message.sid)
