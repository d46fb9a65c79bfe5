"""A Stripe API double: a real HTTP server on 127.0.0.1 that the official `stripe` library talks
to (STRIPE_API_BASE). It creates Checkout Sessions and records every call with its form."""

import itertools
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web

API_KEY = "sk_test_priem_double"
WEBHOOK_SECRET = "whsec_priem_test_secret"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str | None
    api_key: str = API_KEY  # whose account was called (several practitioners: tests/platform)


class StripeAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.keys = {API_KEY}  # more Stripe accounts on one double: add their secret keys
        self.sessions: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._create_session)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _create_session(self, request: web.Request) -> web.Response:
        api_key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if api_key not in self.keys:
            return web.json_response({"error": {"type": "invalid_request_error", "message": "bad key"}}, status=401)
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.calls.append(Call("POST", request.path, form, request.headers.get("Idempotency-Key"), api_key))
        session_id = f"cs_test_{next(self._ids):04d}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
            "client_reference_id": form.get("client_reference_id"),
            "currency": form.get("line_items[0][price_data][currency]"),
            "amount_total": int(form.get("line_items[0][price_data][unit_amount]", "0")),
            "payment_status": "unpaid",
            "status": "open",
            "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
        }
        self.sessions[session_id] = session
        return web.json_response(session)
