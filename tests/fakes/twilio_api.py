"""A Twilio REST double: a real HTTP server on 127.0.0.1 that the SDK's own AsyncTwilioHttpClient
talks to, reached through TWILIO_API_BASE_URL.

It serves POST /2010-04-01/Accounts/{sid}/Messages.json, checks Basic auth as Twilio does,
records every request, and can be told to answer the next calls with an HTTP status and a Twilio
error code (500, 429/20429, 63016…) or to hang past the client's timeout. Anything else gets a
404 that says what the double serves, so a wrong URL fails loudly.

WhatsApp's 24-hour window: a test closes it per number (`close_window`); a free-form Body to such
a number is then refused with 400/63016, as Twilio does, while a template send (ContentSid +
ContentVariables) is accepted. A send with neither, or both, is refused with 400/21619.
"""

import asyncio
import base64
import itertools
import json
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "test-auth-token-of-the-double"
FROM = "whatsapp:+14155238886"
_sids = itertools.count(1)


@dataclass(frozen=True)
class MessageRequest:
    params: dict[str, str]
    status: int  # what the double answered; 0 when it never answered
    sid: str | None = None

    @property
    def to(self) -> str:
        return self.params.get("To", "")

    @property
    def body(self) -> str:
        return self.params.get("Body", "")

    @property
    def content_sid(self) -> str | None:
        return self.params.get("ContentSid")

    @property
    def content_variables(self) -> dict[str, str]:
        return json.loads(self.params.get("ContentVariables") or "{}")


@dataclass(frozen=True)
class Failure:
    status: int
    code: int
    hang: bool = False


class TwilioAPI:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[MessageRequest] = []
        self._failures: list[Failure] = []
        self.planned_sids: list[str] = []  # MessageSids to hand out next, before the counter's
        self.closed_windows: set[str] = set()  # "whatsapp:+…" numbers free-form text cannot reach
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # What a test arranges

    def fail_next(self, status: int, code: int | None = None, *, times: int = 1) -> None:
        """Answer the next `times` Messages calls with this status and Twilio error code."""
        self._failures += [Failure(status, code if code is not None else status)] * times

    def close_window(self, to: str) -> None:
        """The client at `to` last wrote over 24 h ago: free-form sends get 63016 until reopened."""
        self.closed_windows.add(to)

    def open_window(self, to: str) -> None:
        self.closed_windows.discard(to)

    def hang_next(self) -> None:
        """Take the next request and never answer it (until the double stops)."""
        self._failures.append(Failure(0, 0, hang=True))

    # What a test reads

    def delivered(self, to: str | None = None) -> list[MessageRequest]:
        """Messages the double accepted (201), optionally to one address."""
        return [r for r in self.requests if r.status == 201 and (to is None or r.to == to)]

    # The server

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if request.method != "POST" or request.path != expected:
            return _error(
                404,
                20404,
                f"the double serves POST {expected} only; got {request.method} {request.path}",
            )
        if request.headers.get("Authorization") != _basic(self.account_sid, self.auth_token):
            return _error(401, 20003, "Authenticate")
        params = {key: str(value) for key, value in (await request.post()).items()}
        if ("Body" in params) == ("ContentSid" in params):
            self.requests.append(MessageRequest(params, 400))
            return _error(400, 21619, "A text message body or a ContentSid is required")
        if self._failures:
            failure = self._failures.pop(0)
            if failure.hang:
                self.requests.append(MessageRequest(params, 0))
                await self._closing.wait()
                return _error(503, 20503, "the double stopped")
            self.requests.append(MessageRequest(params, failure.status))
            return _error(failure.status, failure.code, f"scripted error {failure.code}")
        if "Body" in params and params.get("To") in self.closed_windows:
            self.requests.append(MessageRequest(params, 400))
            return _error(400, 63016, "outside the allowed window (freeform)")
        sid = self.planned_sids.pop(0) if self.planned_sids else f"SM{next(_sids):032x}"
        self.requests.append(MessageRequest(params, 201, sid))
        return web.json_response(_message(self.account_sid, sid, params), status=201)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def _message(account_sid: str, sid: str, params: dict[str, str]) -> dict[str, Any]:
    return {
        "sid": sid,
        "account_sid": account_sid,
        "from": params.get("From"),
        "to": params.get("To"),
        "body": params.get("Body"),
        "status": "queued",
        "direction": "outbound-api",
        "num_media": "0",
        "num_segments": "1",
        "api_version": "2010-04-01",
        "date_created": "Tue, 24 Nov 2026 09:00:00 +0000",
        "date_updated": "Tue, 24 Nov 2026 09:00:00 +0000",
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
