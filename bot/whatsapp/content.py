"""The Content API resources priem's WhatsApp buttons are sent with: found by name or created.

Nothing to set up by hand and nothing to store: on the first button message after start-up priem
lists the account's content resources once and takes its own by friendly name (bot/whatsapp_buttons.Shape),
creating any that are missing; the ContentSids then live in this object for the life of the process.
A restart finds the same resources again instead of creating new ones. When the Content API cannot
be reached, button messages go out as plain text with their choices listed, and it is asked again
a few minutes later.
"""

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from bot.texts import Texts
from bot.whatsapp.buttons import Interactive, Shape, interactive
from flows.language.detect import detect_language

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=5)
PAGE_SIZE = 100
LIST_BUTTON = "wabuttons-list-button"  # the list picker's own button, «Выбрать»
SHORT_PREFIX = "wabuttons-short-"  # + payload: a wording within 20 characters, where one is needed


class ContentTemplates:
    def __init__(self, client: Client, *, clock: Callable[[], datetime], language: str, timeout: float = 30.0) -> None:
        self.client = client
        self.clock = clock
        self.language = language
        self.timeout = timeout
        self._sids: dict[Shape, str] = {}
        self._listed: dict[str, str] | None = None  # friendly name -> ContentSid, once listed
        self._lock = asyncio.Lock()  # one lookup or creation at a time: no duplicate resources
        self._quiet_until: datetime | None = None

    async def sid(self, shape: Shape) -> str | None:
        """The ContentSid for this shape, or None while the Content API is unavailable."""
        if shape in self._sids:
            return self._sids[shape]
        if self._quiet_until is not None and self.clock() < self._quiet_until:
            return None
        async with self._lock:
            if shape not in self._sids:
                try:
                    async with asyncio.timeout(self.timeout):
                        self._sids[shape] = await self._find_or_create(shape)
                except (TwilioException, aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
                    # Numbers only: the answer may quote the account.
                    status = getattr(error, "status", "")
                    code = getattr(error, "code", "")
                    log.warning(
                        "twilio content %s unavailable (%s %s %s): buttons go out as text for %s",
                        shape.friendly_name,
                        type(error).__name__,
                        status,
                        code,
                        RETRY_AFTER,
                    )
                    self._quiet_until = self.clock() + RETRY_AFTER
                    return None
            self._quiet_until = None
            return self._sids[shape]

    def forget(self, shape: Shape) -> None:
        """Twilio refused a send with this resource (deleted in the console?): look it up again."""
        self._sids.pop(shape, None)
        self._listed = None

    async def _find_or_create(self, shape: Shape) -> str:
        if self._listed is None:
            found: dict[str, str] = {}
            for content in await self.client.content.v1.contents.list_async(page_size=PAGE_SIZE):
                if content.friendly_name and content.sid:
                    found.setdefault(content.friendly_name, content.sid)
            self._listed = found
        sid = self._listed.get(shape.friendly_name)
        if sid is None:
            sid = await self._create(shape)
            self._listed[shape.friendly_name] = sid
            log.info("created twilio content %s (%s)", shape.friendly_name, sid)
        return sid

    async def _create(self, shape: Shape) -> str:
        # Not contents.create_async: the SDK's AsyncTwilioHttpClient form-encodes JSON bodies, which
        # the Content API refuses with 400 (twilio-python #932). The body is serialised here, so
        # any AsyncHttpClient passes it through unchanged.
        uri = f"{self.client.content.base_url}/v1/Content"
        response = await self.client.request_async(
            "POST",
            uri,
            data=json.dumps(shape.definition(self.language), ensure_ascii=False),  # type: ignore[arg-type]
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if not 200 <= response.status_code < 300:
            try:
                answer = json.loads(response.text)
            except ValueError:
                answer = {}
            raise TwilioRestException(response.status_code, uri, code=answer.get("code"), method="POST")
        sid = json.loads(response.text)["sid"]
        if not isinstance(sid, str) or not sid:
            raise ValueError("the Content API answered without a sid")
        return sid


class ButtonMessages:
    """An outbox row's text and buttons as an interactive message with its ContentSid, or None.

    The row carries rendered labels but not the reader's language; the text is in it, so the
    script of the text tells which language the list picker's button and any shorter label take.
    """

    def __init__(self, templates: ContentTemplates, texts: Texts) -> None:
        self.templates = templates
        self.texts = texts

    async def find(self, text: str, buttons: Sequence[Mapping[str, str]] | None) -> tuple[Interactive, str] | None:
        language = detect_language(text)
        known = self.texts.ids(language)
        shorter = {
            b["payload"]: self.texts.lookup(SHORT_PREFIX + b["payload"], language)
            for b in buttons or ()
            if SHORT_PREFIX + (b.get("payload") or "") in known
        }
        message = interactive(text, buttons, list_button=self.texts.lookup(LIST_BUTTON, language), short_labels=shorter)
        if message is None:
            return None
        sid = await self.templates.sid(message.shape)
        return None if sid is None else (message, sid)

    def refused(self, message: Interactive) -> None:
        self.templates.forget(message.shape)
