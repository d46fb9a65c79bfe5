"""A Twilio REST double: a real HTTP server on 127.0.0.1 that the SDK's own AsyncTwilioHttpClient
talks to, reached through TWILIO_API_BASE_URL.

It serves POST /2010-04-01/Accounts/{sid}/Messages.json, checks Basic auth as Twilio does,
records every request, and can be told to answer the next calls with an HTTP status and a Twilio
error code (500, 429/20429, 63016…) or to hang past the client's timeout. Anything else gets a
404 that says what the double serves, so a wrong URL fails loudly.
`inject_faults` fails a share of Messages calls for a while: 5xx, 429, timeouts
(tests/fakes/faults.py). `enforce_mps` refuses a sender's messages over its MPS with 429/20429.

WhatsApp's 24-hour window: a test closes it per number (`close_window`); a free-form Body to such
a number is then refused with 400/63016, as Twilio does, while a template send (ContentSid +
ContentVariables) is accepted. A send with neither, or both, is refused with 400/21619.

The Content API (buttons): GET and POST /v1/Content list and create content resources (JSON
bodies, as content.twilio.com takes them) and record each request (`content_requests`). A
Messages call naming a resource created here must fill every variable with a non-empty value
within the type's limits (quick-reply titles 20, list items 24, ids 200, bodies 1024 characters),
else 400/21656; outside a closed window it gets 63016, as a session message does.
`fail_next_content` scripts Content API errors, `delete_content` removes a resource as the console
does (a send naming it then gets 400/21655), and `shown` renders what the client sees.
"""

import asyncio
import base64
import itertools
import json
import re
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.faults import TIMEOUT, FaultWindow

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
        self.contents: dict[str, dict[str, Any]] = {}  # ContentSid -> the resource, as created
        self.content_requests: list[ContentRequest] = []
        self._content_failures: list[Failure] = []
        self.deleted_contents: set[str] = set()
        self.faults: FaultWindow | None = None  # set by inject_faults
        self.mps: int | None = None  # set by enforce_mps
        self.mps_slack = 0.0
        self.too_many = 0  # 429/20429s answered by enforce_mps
        self.arrivals: list[tuple[float, str]] = []  # (monotonic time, From) of accepted sends, when enforcing
        self._accepted_from: dict[str, deque[float]] = {}
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

    def inject_faults(self, *, seconds: float, rate: float = 0.3, seed: int = 9, hold: float = 35.0) -> FaultWindow:
        """From now on, for `seconds`: a `rate` share of Messages calls fail, seeded, as a 500/502/503,
        a 429/20429, or a timeout (held `hold` s, past the client's timeout; the message created
        first or not, as the window decides and records)."""
        self.faults = FaultWindow(seconds=seconds, rate=rate, seed=seed, hold=hold)
        return self.faults

    def enforce_mps(self, mps: int, *, slack: float = 0.0) -> None:
        """Refuse Messages calls with 429/20429 once a moving one-second window holds `mps`
        accepted messages from the same sender (From), as Twilio's REST API answers a client
        over its rate. `slack`: an accepted message leaves the window `slack` seconds early,
        forgiving the milliseconds between a sender's clock and the arrival here (see
        tests/fakes/telegram_api.py `enforce_limits`); Twilio itself queues a burst over the
        MPS rather than refusing it, so the real limit is softer still."""
        self.mps, self.mps_slack = mps, slack

    def fail_next_content(self, status: int, code: int | None = None, *, times: int = 1) -> None:
        """Answer the next `times` Content API calls (list or create) with this error."""
        self._content_failures += [Failure(status, code if code is not None else status)] * times

    def delete_content(self, sid: str) -> None:
        """As deleting the resource in the console: gone from the list, a send naming it 400/21655."""
        self.contents.pop(sid)
        self.deleted_contents.add(sid)

    # What a test reads

    def shown(self, sent: "MessageRequest") -> dict[str, Any] | None:
        """The interactive message a send of a resource created here shows, its variables filled:
        {"type": "twilio/quick-reply", "body": …, "buttons": [(title, id), …]} (a list picker also
        has "button"); None for a text or a template made elsewhere."""
        content = self.contents.get(sent.content_sid or "")
        if content is None:
            return None
        [(kind, types)] = content["types"].items()
        fill = _filler({**content.get("variables", {}), **sent.content_variables})
        rows = types.get("actions") or types.get("items") or []
        shown: dict[str, Any] = {
            "type": kind,
            "body": fill(types["body"]),
            "buttons": [(fill(row.get("title") or row.get("item") or ""), fill(row["id"])) for row in rows],
        }
        if "button" in types:
            shown["button"] = fill(types["button"])
        return shown

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
        if request.path == "/v1/Content":
            return await self._content(request)
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
        if len(params.get("Body", "")) > BODY_LIMIT:  # Twilio refuses, it never truncates
            self.requests.append(MessageRequest(params, 400))
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit")
        if (refused := self._refuse_content(params)) is not None:
            return refused
        if self.faults is not None and (kind := self.faults.draw()):
            return await self._inject(self.faults, kind, params)
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
        if self.mps is not None and self._over_mps(params.get("From", "")):
            self.too_many += 1
            self.requests.append(MessageRequest(params, 429))
            return _error(429, 20429, "Too Many Requests")
        sid = self.planned_sids.pop(0) if self.planned_sids else f"SM{next(_sids):032x}"
        self.requests.append(MessageRequest(params, 201, sid))
        return web.json_response(_message(self.account_sid, sid, params), status=201)

    def _over_mps(self, sender: str) -> bool:
        """Counts this message in, unless the sender's window is full (then it is not accepted)."""
        assert self.mps is not None
        now = time.monotonic()
        window = self._accepted_from.setdefault(sender, deque())
        while window and window[0] <= now - (1.0 - self.mps_slack):
            window.popleft()
        if len(window) >= self.mps:
            return True
        window.append(now)
        self.arrivals.append((now, sender))
        return False

    async def _inject(self, faults: FaultWindow, kind: str, params: dict[str, str]) -> web.Response:
        to, body = params.get("To", ""), params.get("Body", "")
        if kind != TIMEOUT:
            faults.record(kind, to, body)
            self.requests.append(MessageRequest(params, int(kind)))
            return _error(int(kind), 20000 + int(kind), f"injected fault {kind}")
        written = faults.written()
        faults.record(kind, to, body, written)
        sid = f"SM{next(_sids):032x}" if written else None  # created: the client has it
        self.requests.append(MessageRequest(params, 201 if written else 0, sid))
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=faults.hold)
        except TimeoutError:
            pass
        return _error(504, 20504, "injected timeout")

    async def _content(self, request: web.Request) -> web.Response:
        """content.twilio.com/v1/Content: list (GET) and create (POST, a JSON body)."""
        if request.headers.get("Authorization") != _basic(self.account_sid, self.auth_token):
            return _error(401, 20003, "Authenticate")
        body = await request.text()
        if self._content_failures:
            failure = self._content_failures.pop(0)
            self.content_requests.append(ContentRequest(request.method, body, failure.status))
            return _error(failure.status, failure.code, f"scripted error {failure.code}")
        if request.method == "GET":
            self.content_requests.append(ContentRequest("GET", "", 200))
            contents = list(self.contents.values())
            meta = {"page": 0, "page_size": len(contents), "key": "contents", "next_page_url": None}
            return web.json_response({"contents": contents, "meta": meta})
        if request.method != "POST":
            return _error(405, 20004, f"the double serves GET and POST /v1/Content; got {request.method}")
        try:
            definition = json.loads(body)
        except ValueError:
            # What the SDK's async client sends for a JSON endpoint (twilio-python #932).
            self.content_requests.append(ContentRequest("POST", body, 400))
            return _error(400, 20001, "Request input may be invalid: the body is not JSON")
        problem = _content_problem(definition)
        if problem:
            self.content_requests.append(ContentRequest("POST", body, 400))
            return _error(400, 20001, problem)
        sid = f"HX{next(_sids):032x}"
        content = {
            "sid": sid,
            "account_sid": self.account_sid,
            "friendly_name": definition["friendly_name"],
            "language": definition["language"],
            "variables": definition.get("variables", {}),
            "types": definition["types"],
            "url": f"{self.base_url}/v1/Content/{sid}",
            "date_created": "2026-11-24T09:00:00Z",
            "date_updated": "2026-11-24T09:00:00Z",
        }
        self.contents[sid] = content
        self.content_requests.append(ContentRequest("POST", body, 201, sid))
        return web.json_response(content, status=201)

    def _refuse_content(self, params: dict[str, str]) -> web.Response | None:
        """A send of a resource created here: every variable filled, within the type's limits."""
        if params.get("ContentSid") in self.deleted_contents:
            self.requests.append(MessageRequest(params, 400))
            return _error(400, 21655, "The ContentSid is Invalid")
        content = self.contents.get(params.get("ContentSid", ""))
        if content is None:
            return None
        if params.get("To") in self.closed_windows:
            self.requests.append(MessageRequest(params, 400))
            return _error(400, 63016, "outside the allowed window (session content)")
        try:
            given = json.loads(params.get("ContentVariables") or "{}")
        except ValueError:
            given = None
        problem = "ContentVariables is not a JSON object" if not isinstance(given, dict) else None
        if given is not None and problem is None:
            problem = _variables_problem(content, {**content.get("variables", {}), **given}, given)
        if problem:
            self.requests.append(MessageRequest(params, 400))
            return _error(400, 21656, f"The ContentVariables Parameter is invalid: {problem}")
        return None


BODY_LIMIT = 1600  # characters in one Body (https://www.twilio.com/docs/errors/21617)


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


@dataclass(frozen=True)
class ContentRequest:
    method: str
    body: str
    status: int
    sid: str | None = None

    @property
    def definition(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}


_VARIABLE = re.compile(r"{{\s*([A-Za-z0-9_]+)\s*}}")
_LIMITS = {
    "twilio/quick-reply": {"body": 1024, "title": 20, "id": 200},
    "twilio/list-picker": {"body": 1024, "button": 20, "item": 24, "id": 200},
}


def _filler(values: dict[str, str]):  # noqa: ANN202
    return lambda text: _VARIABLE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)


def _content_problem(definition: Any) -> str | None:  # noqa: ANN401
    if not isinstance(definition, dict) or not definition.get("friendly_name") or not definition.get("language"):
        return "friendly_name and language are required"
    types = definition.get("types")
    if not isinstance(types, dict) or len(types) != 1:
        return "one content type is expected"
    [(kind, fields)] = types.items()
    if kind not in _LIMITS:
        return f"the double knows {sorted(_LIMITS)}, not {kind}"
    rows = fields.get("actions") if kind == "twilio/quick-reply" else fields.get("items")
    if not fields.get("body") or not isinstance(rows, list) or not 1 <= len(rows) <= 10:
        return "a body and 1 to 10 buttons are required"
    if kind == "twilio/list-picker" and not fields.get("button"):
        return "a list picker needs its button"
    used = {m.group(1) for m in _VARIABLE.finditer(json.dumps(fields, ensure_ascii=False))}
    missing = used - set(definition.get("variables") or {})
    return f"no sample for variables {sorted(missing)}" if missing else None


def _variables_problem(content: dict[str, Any], values: dict[str, str], given: dict[str, Any]) -> str | None:
    if any(not isinstance(v, str) or not v for v in given.values()):
        return "a variable is empty or not a string"
    [(kind, fields)] = content["types"].items()
    fill, limits = _filler(values), _LIMITS[kind]
    checked = [("body", fields["body"])]
    if "button" in fields:
        checked.append(("button", fields["button"]))
    for row in fields.get("actions") or fields.get("items") or []:
        checked += [(name, value) for name, value in row.items() if name in limits]
    for name, template in checked:
        value = fill(template)
        if _VARIABLE.search(value):
            return f"{name} has an unfilled variable"
        if len(value) > limits[name]:
            return f"{name} is over {limits[name]} characters"
    return None
