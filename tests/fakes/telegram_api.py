"""A Bot API double: a real HTTP server on 127.0.0.1 that aiogram's own session talks to.

It implements the methods priem uses, records every call, serves getUpdates from a queue
(long polling included), and can be told to answer the next calls with 429 or 5xx. With
`enforce_limits` it also acts as Telegram's flood control does for sendMessage: more than
`overall` messages in any one second, or `per_chat` to one chat, get 429 with retry_after.
"""

import asyncio
import itertools
import json
import socket
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token-for-the-double"
JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "prices"})
INT_FIELDS = frozenset({"chat_id", "offset", "timeout", "limit", "message_id", "cache_time", "user_id"})
BOOL_FIELDS = frozenset({"ok"})
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "priem", "username": "priem_test_bot"}


class _BotAPIError(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status, self.description = status, description


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    status: int  # what the double answered


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
        self.too_many = 0  # 429s answered by enforce_limits
        self.in_flight = 0  # sendMessage requests received and not yet answered
        self._accepted: deque[float] = deque()
        self._accepted_per_chat: defaultdict[int, deque[float]] = defaultdict(deque)
        self.refunded: set[str] = set()  # telegram_payment_charge_ids given back

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

    def enforce_limits(self, overall: int = 30, per_chat: int = 1) -> None:
        """Answer sendMessage with 429 once a moving one-second window holds `overall`
        accepted messages, or `per_chat` to the same chat."""
        self.limits = (overall, per_chat)

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
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(method, {}, 401, "Unauthorized")
        params = _params(await request.post())
        failure = next((f for f in self._failures if f.method == method), None)
        if failure is not None:
            self._failures.remove(failure)
            if failure.delay:
                await self._sleep(failure.delay)
            return self._error(
                method, params, failure.status, failure.description, failure.parameters
            )
        if method == "sendMessage" and self.limits is not None and self._flooded(params["chat_id"]):
            self.too_many += 1
            return self._error(
                method, params, 429, "Too Many Requests: retry after 1", {"retry_after": 1}
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
            return self._error(method, params, error.status, error.description)
        self.calls.append(Call(method, params, 200))
        return web.json_response({"ok": True, "result": result})

    def _error(
        self,
        method: str,
        params: dict[str, Any],
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
    ) -> web.Response:
        self.calls.append(Call(method, params, status))
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    def _flooded(self, chat_id: int) -> bool:
        """Counts this message in, unless it would exceed a limit (then it is not accepted)."""
        assert self.limits is not None
        overall, per_chat = self.limits
        now = time.monotonic()
        chat = self._accepted_per_chat[chat_id]
        for window in (self._accepted, chat):
            while window and window[0] <= now - 1.0:
                window.popleft()
        if len(self._accepted) >= overall or len(chat) >= per_chat:
            return True
        self._accepted.append(now)
        chat.append(now)
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
        message = {
            "message_id": next(self._message_ids),
            "date": 1_790_000_000,
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": BOT_USER,
            "text": params["text"],
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

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
