"""An open-loop and a closed-loop HTTP load generator (aiohttp on uvloop), with the request
bodies of the two webhook paths. Latency is counted from each request's *scheduled* send time,
so queueing in the client or the server counts (no coordinated omission)."""

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

Request = tuple[str, bytes, dict[str, str]]  # path, body, headers

_ids = itertools.count(1_000_000 * (int(time.time()) % 1000))


def telegram_request(secret: str) -> Callable[[], Request]:
    def make() -> Request:
        n = next(_ids)
        chat = 10_000 + n % 500
        update = {
            "update_id": n,
            "message": {
                "message_id": n,
                "from": {"id": chat, "is_bot": False, "first_name": "Анна", "last_name": "К", "language_code": "ru",
                         "username": f"anna{chat}"},
                "chat": {"id": chat, "first_name": "Анна", "last_name": "К", "username": f"anna{chat}",
                         "type": "private"},
                "date": 1795000000,
                "text": "Здравствуйте! Хочу плановый расклад на отношения, когда можно? Спасибо заранее.",
            },
        }
        body = json.dumps(update, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret}
        return "/webhook/telegram", body, headers

    return make


def twilio_request(auth_token: str, public_base_url: str) -> Callable[[], Request]:
    validator = RequestValidator(auth_token)
    url = public_base_url + "/webhook/twilio"

    def make() -> Request:
        n = next(_ids)
        form = {
            "MessageSid": f"SM{n:032d}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:+7999{n % 500:07d}",
            "To": "whatsapp:+14155238886",
            "Body": "Здравствуйте! Хочу плановый расклад на отношения, когда можно?",
            "NumMedia": "0",
            "ProfileName": "Анна",
        }
        signature = validator.compute_signature(url, form)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        return "/webhook/twilio", urlencode(form).encode(), headers

    return make


@dataclass
class Result:
    offered: float | None  # req/s; None for closed loop
    sent: int
    ok: int
    errors: int
    seconds: float
    latencies: list[float]  # seconds

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000  # ms


async def _one(session: aiohttp.ClientSession, base: str, request: Request) -> bool:
    path, body, headers = request
    try:
        async with session.post(base + path, data=body, headers=headers) as response:
            await response.read()
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):  # an overloaded server: counted as an error
        return False


async def open_loop(
    base: str, make: Callable[[], Request], rate: float, seconds: float, connections: int = 32
) -> Result:
    total = int(rate * seconds)
    requests = [make() for _ in range(total)]  # built (and signed) before the clock starts
    latencies: list[float] = []
    ok = errors = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()

        async def fire(i: int) -> None:
            nonlocal ok, errors
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if await _one(session, base, requests[i]):
                ok += 1
                latencies.append(time.perf_counter() - scheduled)
            else:
                errors += 1

        await asyncio.gather(*(fire(i) for i in range(total)))
        elapsed = max(time.perf_counter() - start, seconds)
    return Result(rate, total, ok, errors, elapsed, latencies)


async def closed_loop(base: str, make: Callable[[], Request], concurrency: int, seconds: float) -> Result:
    latencies: list[float] = []
    ok = errors = sent = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        end = start + seconds

        async def worker() -> None:
            nonlocal ok, errors, sent
            while time.perf_counter() < end:
                request = make()
                t = time.perf_counter()
                sent += 1
                if await _one(session, base, request):
                    ok += 1
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Result(None, sent, ok, errors, elapsed, latencies)
