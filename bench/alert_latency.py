"""(3) Emergency alert latency while a queue-update fan-out is in flight, and without one.

    /tmp/v/bin/python -m bench.alert_latency [--clients 10000] [--emergencies 50] [--setups sqlite:1]

For each setup (database : uvicorn workers; PostgreSQL with more than one worker shares its
rate buckets in Redis) two runs on fresh databases holding the same N queued clients
(bench/fanout.py seeds them):
- baseline: nothing else to send; the emergencies come 1.5 s apart;
- fan-out: the first request is done and the push sweep has queued N queue updates at bulk
  priority before the service starts; the emergencies are spread over the time the fan-out
  should take at 28 msg/s, beginning 2 s after its first send.
The service is the real app (`bench.app:create`, background work on: inbox worker, relay,
scheduler) in webhook mode, with the default rates (28 msg/s, 1 msg/s per chat), against the
Bot API double in this process enforcing 30 msg/s and 1 msg/s per chat (20 ms per send).
Each emergency is a new client's first message, «СРОЧНО!!! …», POSTed to /webhook/telegram.

Latency: from just before the POST to the arrival at the double of the practitioner's alert
(the sendMessage to her chat whose excerpt carries the emergency's tag); also the client's
own first reply. p99 of 50 samples is their maximum. Only emergencies whose alert arrived while
bulk updates were still going out count as "during fan-out". Target: alert p99 ≤ 1 s during
the fan-out.
"""

import argparse
import asyncio
import json
import os
import tempfile
import time
from dataclasses import dataclass, field

import aiohttp

from bench import seed
from bench.fanout import FIRST_CHAT, LIMIT, RATE_ENV, SLACK, queue_update
from bench.ingest import PUBLIC, ROOT, SECRET, drop_postgres_database, new_postgres_database, start
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

HER = 7000
FIRST_EMERGENCY = 5_000_000
RELAY_RATE = 28  # the default TELEGRAM_RATE_PER_SECOND: how long the fan-out should take


class TimedBotAPI(TelegramBotAPI):
    """The double, also noting when each accepted sendMessage arrived, with its text."""

    def __init__(self) -> None:
        super().__init__()
        self.timed: list[tuple[float, int, str]] = []  # (arrival, chat id, text)
        self._arrived_at: dict[int, float] = {}

    def _flooded(self, chat_id: int, bot: str = "") -> bool:
        flooded = super()._flooded(chat_id, bot)
        if not flooded:
            self._arrived_at[chat_id] = self.arrivals[-1][0]
        return flooded

    async def _sendMessage(self, params: dict) -> dict:  # type: ignore[type-arg]
        chat = params["chat_id"]
        self.timed.append((self._arrived_at.pop(chat, time.monotonic()), chat, params["text"]))
        return await super()._sendMessage(params)


@dataclass
class Sample:
    tag: str
    chat: int
    posted: float
    status: int = 0
    alert: float | None = None
    reply: float | None = None
    bulk_before: int = 0  # bulk updates accepted before the alert arrived


@dataclass
class Outcome:
    label: str
    samples: list[Sample] = field(default_factory=list)
    bulk_sent: int = 0
    too_many: int = 0
    clients: int = 0

    def during(self) -> list[Sample]:
        if not self.clients:
            return self.samples
        return [s for s in self.samples if s.alert is not None and 0 < s.bulk_before < self.clients]


def update(chat: int, text: str, n: int) -> bytes:
    user = {"id": chat, "is_bot": False, "first_name": "Срочная", "last_name": str(n), "language_code": "ru"}
    body = {
        "update_id": 900_000_000 + n,
        "message": {
            "message_id": n + 1,
            "from": user,
            "chat": {**user, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
    del body["message"]["chat"]["is_bot"], body["message"]["chat"]["language_code"]
    return json.dumps(body, ensure_ascii=False).encode()


async def emergencies(
    base: str, api: TimedBotAPI, count: int, first_at: float, interval: float, clients: int
) -> list[Sample]:
    samples: list[Sample] = []
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        for n in range(count):
            delay = first_at + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tag = f"E{n:03d}"
            sample = Sample(tag, FIRST_EMERGENCY + n, time.monotonic())
            body = update(sample.chat, f"СРОЧНО!!! помогите, пожалуйста, очень плохо ({tag})", n)
            async with http.post(base + "/webhook/telegram", data=body, headers=headers) as response:
                sample.status = response.status
            samples.append(sample)
    matcher = Matcher(api, clients)
    deadline = time.monotonic() + 30  # polls; only an alert that never comes reaches it
    while time.monotonic() < deadline:
        matcher.update(samples)
        if all(s.alert is not None and s.reply is not None for s in samples):
            break
        await asyncio.sleep(0.1)
    return samples


class Matcher:
    """Reads the double's log incrementally (it runs in this event loop: no rescans)."""

    def __init__(self, api: TimedBotAPI, clients: int) -> None:
        self.api, self.clients = api, clients
        self.seen = 0
        self.bulk = 0

    def update(self, samples: list[Sample]) -> None:
        by_chat = {s.chat: s for s in samples}
        by_tag = {f"({s.tag})": s for s in samples}
        for arrived, chat, text in self.api.timed[self.seen :]:
            self.seen += 1
            if FIRST_CHAT <= chat < FIRST_CHAT + self.clients:
                self.bulk += 1
            elif chat == HER:
                found = next((s for tag, s in by_tag.items() if tag in text), None)
                if found is not None and found.alert is None:
                    found.alert, found.bulk_before = arrived, self.bulk
            elif chat in by_chat and by_chat[chat].reply is None:
                by_chat[chat].reply = arrived


async def one(database: str, workers: int, clients: int, count: int, fanout: bool) -> Outcome:
    outcome = Outcome("fan-out" if fanout else "baseline", clients=clients if fanout else 0)
    name = f"priem_alert_{os.getpid()}"
    api = TimedBotAPI()
    api.enforce_limits(overall=LIMIT, per_chat=1, slack=SLACK)
    api.latency = 0.02
    await api.start()
    redis_url = seed.REDIS_URL if database == "postgres" and workers > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        url = await new_postgres_database(name) if database == "postgres" else f"sqlite+aiosqlite:///{tmp}/alert.db"
        try:
            if redis_url:
                await seed.flush_redis(redis_url)
            await queue_update(url, clients, move=fanout)
            env = {
                "DATABASE_URL": url,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_SERVER": api.base_url,
                "TELEGRAM_MODE": "webhook",
                "TELEGRAM_WEBHOOK_SECRET": SECRET,
                "PUBLIC_BASE_URL": PUBLIC,
                "PRACTITIONER_TELEGRAM_IDS": str(HER),
                "DASHBOARD_PASSWORD": "bench-password",
                "LOG_LEVEL": "WARNING",
                "BENCH_BACKGROUND": "1",
                "PYTHONPATH": str(ROOT),
                **({"REDIS_URL": redis_url} if redis_url else {}),
            }
            server = await start("bench.app:create", env, workers, pin=False)
            try:
                if fanout:
                    while not api.arrivals:  # the relay has begun the fan-out
                        await asyncio.sleep(0.05)
                    first_at = api.arrivals[0][0] + 2.0
                    interval = max(1.5, (clients / RELAY_RATE - 10) / count)
                else:
                    first_at, interval = time.monotonic() + 3.0, 1.5  # after the start-up pushes (her digest)
                outcome.samples = await emergencies(server.base, api, count, first_at, interval, outcome.clients)
                outcome.bulk_sent = sum(1 for _, chat, _ in api.timed if FIRST_CHAT <= chat < FIRST_CHAT + clients)
                outcome.too_many = api.too_many
            finally:
                server.stop()
        finally:
            await api.stop()
            if database == "postgres":
                await drop_postgres_database(name)
    return outcome


def ms(values: list[float], p: float) -> str:
    return f"{1000 * seed.percentile(values, p):.0f}" if values else "—"


def row(database: str, workers: int, outcome: Outcome, baseline_p99: float | None) -> tuple[str, float | None]:
    used = outcome.during()
    alerts = [s.alert - s.posted for s in used if s.alert is not None]
    replies = [s.reply - s.posted for s in used if s.reply is not None]
    missing = sum(1 for s in outcome.samples if s.alert is None)
    p99 = seed.percentile(alerts, 99) if alerts else None
    ratio = f"{p99 / baseline_p99:.1f}×" if p99 and baseline_p99 else "—"
    bad = sum(1 for s in outcome.samples if s.status != 200)
    line = (
        f"| {database} | {workers} | {outcome.label} | {len(used)} of {len(outcome.samples)} | "
        f"{ms(alerts, 50)} / {ms(alerts, 99)} / {ms(alerts, 100)} | {ratio} | {ms(replies, 50)} / {ms(replies, 99)} | "
        f"{missing} | {bad} | {outcome.bulk_sent:,} | {outcome.too_many} |"
    )
    return line, p99


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--emergencies", type=int, default=50)
    parser.add_argument("--setups", default="sqlite:1", help="database:uvicorn workers, … (e.g. sqlite:1,postgres:1)")
    args = parser.parse_args()
    for name in RATE_ENV:
        os.environ.pop(name, None)  # the defaults are what is measured
    print(f"machine: {seed.machine()}")
    print(
        "| database | workers | run | emergencies counted | alert p50 / p99 / max ms | p99 ÷ baseline "
        "| client's reply p50 / p99 ms | alerts missing | POST not 200 | bulk sent | 429s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for setup in args.setups.split(","):
        database, workers = setup.split(":")
        baseline = await one(database, int(workers), args.clients, args.emergencies, fanout=False)
        line, p99 = row(database, int(workers), baseline, None)
        print(line, flush=True)
        loaded = await one(database, int(workers), args.clients, args.emergencies, fanout=True)
        print(row(database, int(workers), loaded, p99)[0], flush=True)
    print(f"machine after: {seed.machine()}")


if __name__ == "__main__":
    asyncio.run(main())
