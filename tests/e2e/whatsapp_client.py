"""A WhatsApp client as Twilio presents it: signed form posts in, the app's Messages calls out.

Forms are signed with the SDK's own RequestValidator.compute_signature over the public URL, as
Twilio signs them; the app is reached at http://127.0.0.1:8000, as behind a reverse proxy. The
webhook only stores a message (bot/whatsapp/inbox.py); each message then runs the inbox worker and
the outbox relay once, so a test reads the replies deterministically.
"""

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.settings import Settings
from main import build
from tests.database import url_for
from tests.factories import FakeClock
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioAPI

PUBLIC = "https://desk.example.com"
WEBHOOK = "/webhook/twilio"
STATUS = "/webhook/twilio/status"
PRACTITIONER = "+79990000001"  # configured bare, as people write it
_sids = itertools.count(1)


def sign(url: str, form: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


def message_sid() -> str:
    return f"SMin{next(_sids):030x}"  # 34 characters, and never one the double hands out


async def post_signed(
    http: httpx.AsyncClient,
    path: str,
    form: dict[str, str],
    *,
    signed_url: str | None = None,
    signature: str | None = None,
    query: str = "",
) -> httpx.Response:
    """POST as Twilio does: the signature covers the public URL (or `signed_url`) and the form."""
    url = signed_url or PUBLIC + path + (f"?{query}" if query else "")
    headers = {"X-Twilio-Signature": signature if signature is not None else sign(url, form)}
    return await http.post(path + (f"?{query}" if query else ""), data=form, headers=headers)


class WhatsAppUser:
    def __init__(
        self, http: httpx.AsyncClient, app: FastAPI, api: TwilioAPI, number: str, name: str
    ) -> None:
        self.http, self.app, self.api = http, app, api
        self.address = f"whatsapp:{number}"
        self.name = name
        self.seen = 0

    def form(self, body: str = "", *, sid: str | None = None, **extra: str) -> dict[str, str]:
        """The fields Twilio posts for an inbound WhatsApp message."""
        sid = sid or message_sid()
        return {
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ProfileName": self.name,
            "MessageType": "text",
            "SmsSid": sid,
            "WaId": self.address.removeprefix("whatsapp:+"),
            "SmsStatus": "received",
            "Body": body,
            "To": FROM,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.address,
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def voice_form(self, *, media_url: str | None = None) -> dict[str, str]:
        sid = message_sid()
        url = (
            media_url
            or f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/ME1"
        )
        return self.form(
            "",
            sid=sid,
            NumMedia="1",
            MessageType="audio",
            MediaContentType0="audio/ogg",
            MediaUrl0=url,
        )

    async def send(self, form: dict[str, str], **post: Any) -> httpx.Response:
        response = await post_signed(self.http, WEBHOOK, form, **post)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        assert "<Response" in response.text and "<Message" not in response.text
        await self.app.state.whatsapp.process_pending()
        await self.app.state.relay.drain()
        return response

    async def say(self, body: str, **extra: str) -> httpx.Response:
        return await self.send(self.form(body, **extra))

    def replies(self) -> list[str]:
        """Bodies the app sent to this client through Twilio since the last call."""
        delivered = self.api.delivered(self.address)
        fresh, self.seen = delivered[self.seen :], len(delivered)
        return [r.body for r in fresh]

    async def ask(self, body: str) -> str:
        await self.say(body)
        return "\n---\n".join(self.replies())


# Fixtures, imported by name into the WhatsApp test modules.


def whatsapp_settings(db_path: Path, api: TwilioAPI, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url_for(db_path),
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_whatsapp_from": FROM,
        "twilio_api_base_url": api.base_url,
        "public_base_url": PUBLIC,
        "practitioner_whatsapp_numbers": PRACTITIONER,
    }
    return Settings(_env_file=None, **{**values, **changes})  # type: ignore[call-arg]


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioAPI]:
    api = TwilioAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def wa_app(db_path: Path, twilio_api: TwilioAPI, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = build(whatsapp_settings(db_path, twilio_api), clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def wa_http(wa_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=wa_app), base_url="http://127.0.0.1:8000"
    ) as client:
        yield client


@pytest.fixture
def wa_user(
    wa_http: httpx.AsyncClient, wa_app: FastAPI, twilio_api: TwilioAPI
) -> Callable[[str, str], WhatsAppUser]:
    def make(number: str, name: str) -> WhatsAppUser:
        return WhatsAppUser(wa_http, wa_app, twilio_api, number, name)

    return make


async def replay(app: FastAPI) -> int:
    """#1's replay tick, run once: failed messages retried, late status reports applied."""
    return await app.state.whatsapp.inbox(app.state.desk).replay()


async def rows(app: FastAPI, model: type, *where: Any) -> list[Any]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(model).where(*where).order_by(model.id)))
