"""Outbox rows to WhatsApp through the twilio SDK's async client; errors mapped to results."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.rest import Client

from bot.delivery import Delivered, Failed, OutsideWindow, Result, RetryLater, Uncertain
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

LastInbound = Callable[[OutboxItem], Awaitable[datetime | None]]


def make_client(
    account_sid: str, auth_token: str, api_base_url: str, http_client: AsyncHttpClient
) -> Client:
    client = Client(account_sid, auth_token, http_client=http_client)
    # The SDK has no base-URL option; every Messages call goes through the Api domain, whose
    # base_url is the seam (twilio-python #521 suggests a custom HTTP client; this is smaller).
    client.api.base_url = api_base_url.rstrip("/")
    # Settings are the contract: a stray TWILIO_EDGE/TWILIO_REGION in the environment must not
    # rewrite the host the SDK talks to.
    client.edge = client.region = None
    return client


def whatsapp_address(destination: str) -> str:
    # Practitioner numbers may be configured bare ("+7…"); Twilio needs the channel prefix.
    return destination if destination.startswith("whatsapp:") else f"whatsapp:{destination}"


def with_choices(text: str, buttons: Sequence[dict[str, str]] | None) -> str:
    """WhatsApp free-form messages have no inline buttons: list the choices under the text.

    Menu labels already carry their number ("1. Плановый расклад"), which the flows read back as
    that menu item; other choices are bulleted, not numbered, because a bare "1" means the first
    menu item to the flows, never "the first choice in this message". The client types the words.
    """
    labels = [b["label"] for b in buttons or () if b.get("label")]
    if not labels:
        return text
    lines = [label if label[:1].isdigit() else f"• {label}" for label in labels]
    return text.rstrip() + "\n\n" + "\n".join(lines)


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
        timeout: float = 30.0,
    ) -> None:
        self.client = client
        self.from_ = whatsapp_address(from_)
        self.status_callback = status_callback
        self.clock = clock
        self.last_inbound = last_inbound
        # AsyncTwilioHttpClient passes no timeout to aiohttp unless the call names one, and
        # create_async names none: without this a hung request holds the relay forever.
        self.timeout = timeout

    async def send(self, item: OutboxItem) -> Result:
        last = await self.last_inbound(item)
        if last is not None and self.clock() - last > WINDOW:
            # Known to be refused (63016): don't spend a request on it. An address of no client
            # (the practitioner's) has no known window: Twilio decides.
            return OutsideWindow(error=WINDOW_ERROR)
        try:
            async with asyncio.timeout(self.timeout):
                message = await self.client.messages.create_async(
                    from_=self.from_,
                    to=whatsapp_address(item.destination),
                    body=with_choices(item.text, item.buttons),
                    status_callback=self.status_callback or values.unset,
                )
        except (TwilioRestException, TwilioServiceException) as error:
            result = classify(error)
            log.warning("twilio refused outbox row %s: %s", item.id, getattr(result, "error", ""))
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
