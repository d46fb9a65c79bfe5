"""A Bot API double: a real HTTP server on 127.0.0.1 that aiogram's own session talks to.

It implements the methods priem uses, records every call, serves getUpdates from a queue
(long polling included), and can be told to answer the next calls with 429 or 5xx. With
`enforce_limits` it also acts as Telegram's flood control does for sendMessage: more than
`overall` messages in any one second, or `per_chat` to one chat, get 429 with retry_after
(`per_bot=True`: those windows per bot token, as Telegram keeps them for many bots).
`inject_faults` fails a share of sends for a while: 5xx, 429, timeouts (tests/fakes/faults.py).
"""

import asyncio
import itertools
import json
import socket
import time
from collections import Counter, defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.faults import TIMEOUT, FaultWindow

TOKEN = "123456:TEST-token-for-the-double"
JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "prices"})
INT_FIELDS = frozenset({"chat_id", "offset", "timeout", "limit", "message_id", "cache_time", "user_id"})
BOOL_FIELDS = frozenset({"ok"})
FAULTY_METHODS = frozenset({"sendMessage", "sendInvoice"})  # what inject_faults may fail
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "priem", "username": "priem_test_bot"}
GIFT_KINDS = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")
_NO_GIFTS = dict.fromkeys(GIFT_KINDS, False)  # getChat's required accepted_gift_types


class _BotAPIError(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    status: int  # what the double answered
    bot: str = ""  # the token it was called with (several bots: tests/platform)
    at: float = 0.0  # time.monotonic() when the request arrived (bench/practitioners.py)


@dataclass
class Failure:
    method: str
    status: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: longer than the client's timeout = a timeout


class TelegramBotAPI:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.tokens = {token}  # more bots on one server: add their tokens (tests/platform)
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(5000)
        self._failures: list[Failure] = []
        self._arrived = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.latency = 0.0  # seconds before each sendMessage is answered: a network round trip
        self.limits: tuple[int, int] | None = None
        self.per_bot = False  # enforce_limits per bot token (else one window for all bots)
        self.slack = 0.0  # seconds of transit jitter enforce_limits forgives (see there)
        self.arrivals: list[tuple[float, int]] = []  # (monotonic time, chat id) of accepted sends, when enforcing
        self.too_many = 0  # 429s answered by enforce_limits
        self.refused_by: Counter[str] = Counter()  # those 429s by the limit hit: "overall" / "chat"
        self.in_flight = 0  # sendMessage requests received and not yet answered
        self._accepted_by_bot: defaultdict[str, deque[float]] = defaultdict(deque)
        self._accepted_per_chat: defaultdict[tuple[str, int], deque[float]] = defaultdict(deque)
        self.refunded: set[str] = set()  # telegram_payment_charge_ids given back
        self.chats: dict[int, dict[str, Any]] = {}  # getChat answers by chat id (ChatFullInfo fields)
        self.faults: FaultWindow | None = None  # set by inject_faults

    # What a test arranges

    def push(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; gives it the next update_id unless it has one."""
        stored = {"update_id": next(self._update_ids), **update}
        self._updates.append(stored)
        self._arrived.set()
        return stored

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def fail_next(
        self,
        method: str,
        status: int,
        description: str = "",
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        parameters = {"retry_after": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self._failures.append(
                Failure(method, status, description or f"error {status}", parameters, delay)
            )

    def inject_faults(self, *, seconds: float, rate: float = 0.3, seed: int = 9, hold: float = 35.0) -> FaultWindow:
        """From now on, for `seconds`: a `rate` share of sends fail, seeded, as a 500/502/503, a
        429 with parameters.retry_after, or a timeout (held `hold` s, past the client's timeout;
        the message written first or not, as the window decides and records)."""
        self.faults = FaultWindow(seconds=seconds, rate=rate, seed=seed, hold=hold)
        return self.faults

    def enforce_limits(
        self, overall: int = 30, per_chat: int = 1, *, slack: float = 0.0, per_bot: bool = False
    ) -> None:
        """Answer sendMessage with 429 once a moving one-second window holds `overall`
        accepted messages, or `per_chat` to the same chat.

        `slack`: a message leaves its chat's window `slack` seconds early. A sender counts a
        send when it starts it, the double when the request arrives; the two differ by
        milliseconds that vary (a new connection, a busy event loop). At 1 msg/s per chat a
        sender has no room below the limit, and Telegram's is soft ("short bursts are
        tolerated"): a strict window at the arrival end would refuse sends spaced right. The
        overall window stays strict: a sender keeps its own margin below it (28 of 30).

        `per_bot`: each bot token has windows of its own (Telegram's limits are per bot), so
        one bot's fan-out at the limit leaves another bot's sends untouched."""
        self.limits = (overall, per_chat)
        self.slack = slack
        self.per_bot = per_bot

    # What a test reads

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """sendMessage calls that succeeded, optionally for one chat."""
        return [
            c.params
            for c in self.called("sendMessage")
            if c.status == 200 and (chat_id is None or c.params["chat_id"] == chat_id)
        ]

    # The server

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._closing.set()
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        token = request.match_info["token"]
        if token not in self.tokens:
            return self._error(method, {}, 401, "Unauthorized")
        params = _params(await request.post())
        if self.faults is not None and method in FAULTY_METHODS and (kind := self.faults.draw()):
            return await self._inject(self.faults, kind, method, params)
        failure = next((f for f in self._failures if f.method == method), None)
        if failure is not None:
            self._failures.remove(failure)
            if failure.delay:
                await self._sleep(failure.delay)
            return self._error(
                method, params, failure.status, failure.description, failure.parameters
            )
        if method == "sendMessage" and self.limits is not None and self._flooded(params["chat_id"], token):
            self.too_many += 1
            return self._error(
                method, params, 429, "Too Many Requests: retry after 1", {"retry_after": 1}, bot=token, at=arrived
            )
        if method == "sendMessage" and self.latency:
            self.in_flight += 1
            try:
                await self._sleep(self.latency)
            finally:
                self.in_flight -= 1
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return self._error(method, params, 404, "Not Found: method not found")
        try:
            result = await handler(params)
        except _BotAPIError as error:
            return self._error(method, params, error.status, error.description, bot=token, at=arrived)
        self.calls.append(Call(method, params, 200, token, arrived))
        return web.json_response({"ok": True, "result": result})

    async def _inject(self, faults: FaultWindow, kind: str, method: str, params: dict[str, Any]) -> web.Response:
        chat, text = str(params.get("chat_id")), str(params.get("text", ""))
        if kind != TIMEOUT:
            faults.record(kind, chat, text)
            retry = {"retry_after": faults.retry_after()} if kind == "429" else None
            return self._error(method, params, int(kind), f"injected fault {kind}", retry)
        written = faults.written()
        faults.record(kind, chat, text, written)
        if written:  # the chat has it; only the answer is lost
            await getattr(self, f"_{method}")(params)
        self.calls.append(Call(method, params, 200 if written else 0))
        await self._sleep(faults.hold)
        return web.json_response({"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504)

    def _error(
        self,
        method: str,
        params: dict[str, Any],
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        *,
        bot: str = "",
        at: float = 0.0,
    ) -> web.Response:
        self.calls.append(Call(method, params, status, bot, at))
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    def _flooded(self, chat_id: int, bot: str = "") -> bool:
        """Counts this message in, unless it would exceed a limit (then it is not accepted)."""
        assert self.limits is not None
        overall, per_chat = self.limits
        now = time.monotonic()
        key = bot if self.per_bot else ""
        accepted = self._accepted_by_bot[key]
        chat = self._accepted_per_chat[(key, chat_id)]
        for window, span in ((accepted, 1.0), (chat, 1.0 - self.slack)):
            while window and window[0] <= now - span:
                window.popleft()
        if len(accepted) >= overall or len(chat) >= per_chat:
            self.refused_by["overall" if len(accepted) >= overall else "chat"] += 1
            return True
        accepted.append(now)
        chat.append(now)
        self.arrivals.append((now, chat_id))
        return False

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        except TimeoutError:
            pass

    # Bot API methods

    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("text", "").strip():
            raise _BotAPIError(400, "Bad Request: message text is empty")
        if _utf16_length(params["text"]) > TEXT_LIMIT:
            raise _BotAPIError(400, "Bad Request: message is too long")
        message = {
            "message_id": next(self._message_ids),
            "date": 1_790_000_000,
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": BOT_USER,
            "text": params["text"],
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        if "business_connection_id" in params:  # sent on behalf of her account (Telegram Business)
            message["business_connection_id"] = params["business_connection_id"]
        return message

    async def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params["chat_id"]
        if chat_id not in self.chats:
            raise _BotAPIError(400, "Bad Request: chat not found")
        required = {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": _NO_GIFTS}
        return {"id": chat_id, "type": "private", **required, **self.chats[chat_id]}

    # Payments (Bot API: payments, Telegram Stars)

    async def _sendInvoice(self, params: dict[str, Any]) -> dict[str, Any]:
        invoice = {
            "title": params["title"],
            "description": params["description"],
            "start_parameter": "",
            "currency": params["currency"],
            "total_amount": sum(int(p["amount"]) for p in params["prices"]),
        }
        return {
            "message_id": next(self._message_ids),
            "date": 1_790_000_000,
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": BOT_USER,
            "invoice": invoice,
        }

    async def _answerPreCheckoutQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _refundStarPayment(self, params: dict[str, Any]) -> bool:
        charge = params["telegram_payment_charge_id"]
        if charge in self.refunded:
            raise _BotAPIError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        self.refunded.add(charge)
        return True

    async def _setWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = params
        return True

    async def _deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        if offset is not None:  # confirms everything before it, as Telegram does
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and params.get("timeout"):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=params["timeout"])
            except TimeoutError:
                pass
        limit = params.get("limit") or 100
        return self._updates[:limit]


def _params(form: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in form.items():
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in INT_FIELDS:
            params[key] = int(value)
        elif key in BOOL_FIELDS:
            params[key] = value == "true"
        else:
            params[key] = value
    return params


TEXT_LIMIT = 4096  # a sendMessage text, counted as Telegram counts: in UTF-16 code units


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
