"""(6) Many practitioners on one deployment (issue 12): ingest, one's fan-out, another's alert.

    /tmp/v/bin/python -m bench.practitioners [--practitioners 100] [--clients 1000] [--busy 10000]
                                             [--emergencies 50] [--workers 2] [--seconds 10]

On a fresh PostgreSQL database (BENCH_POSTGRES_URL), with the rate buckets in Redis
(BENCH_REDIS_URL, flushed):
- setup: #1 (the env-configured practitioner, no clients) and `--practitioners` practitioner rows
  added through storage/platform.py PractitionerStore, as `main.py practitioner add` adds them:
  each with her own bot token, slug (webhook path /webhook/telegram/<slug>), webhook secret and
  Telegram account (her alerts); `--clients` queued Telegram clients each (bench/seed.py); one
  more, "busy", with `--busy` queued clients: her first request is done and one push sweep
  (bot/pushes.py) queues her `--busy` queue updates at bulk priority before the service starts.
- the service is the real app (`bench.app:create`) under uvicorn with `--workers` processes,
  webhook mode, default rates (28 msg/s per bot, 1 msg/s per chat), against the Bot API double
  in this process, which enforces 30 msg/s and 1 msg/s per chat **per bot token** (429 with
  retry_after; 50 ms per-chat slack and 20 ms per send, as bench/fanout.py).
(a) ingest (background work off, as bench/ingest.py): Telegram updates POSTed round-robin to the
    practitioners' /webhook/telegram/<slug> with each one's secret, against the bare endpoint
    (bench/bare.py, the same paths, the secret from a dict) in the same run: saturation with 16
    connections, then 200 and 1,000 req/s open loop (latency from the scheduled send time).
    The stored updates are counted and deleted before (b).
(b) fan-out (background work on): the busy practitioner's queue updates drained through her
    bot: achieved rate between her first and last accepted send ÷ 30 (and ÷ the relay's 28);
    the most in any 1 s; 429s; her clients never reached (lost) or reached twice (duplicated);
    her outbox rows not `sent`.
(c) during (b): `--emergencies` new clients, each of another practitioner (round-robin), write
    «СРОЧНО!!! … (E007)» to her bot's webhook, spread over the time the fan-out should take
    (from 2 s after its first send). Latency from just before the POST to the arrival at the
    double of her alert (a sendMessage on her bot token to her own chat carrying the tag), and
    of the client's first reply. Only emergencies whose alert arrived while the busy bot's
    updates were still going out are counted. Target: alert p99 ≤ 1 s.
"""

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import delete, func, select

from bench import seed
from bench.alert_latency import update as emergency_update
from bench.fanout import LIMIT, RATE_ENV, SLACK, peak_per_second
from bench.ingest import PUBLIC, ROOT, drop_postgres_database, new_postgres_database, start
from bench.load import Request, Result, closed_loop, open_loop
from bot.settings import Settings
from storage.engine import make_engine, session_factory, upgrade
from storage.models import InboxUpdate, OutboxItem
from storage.platform import PractitionerStore
from storage.uow import UnitOfWork, ensure_practitioner
from tests.fakes.telegram_api import TOKEN, Call, TelegramBotAPI

SERVICE = "planned_reading"
RELAY_RATE = 28  # the default TELEGRAM_RATE_PER_SECOND: how long the fan-out should take
# Chat ids, apart per role: the busy one's clients, the others' clients (a million each), the
# emergencies' new clients, the ingest load, and each practitioner's own account.
BUSY_CHATS = 1_000_000
CLIENT_CHATS = 10_000_000
EMERGENCY_CHATS = 5_000_000
INGEST_CHATS = 3_000_000
OWN_CHATS = 7_000
BUSY_OWN_CHAT = 6_999
EMERGENCY_UPDATES = 900_000_000  # bench/alert_latency.py update(): its update_id for the n-th


@dataclass(frozen=True)
class Practitioner:
    id: int
    slug: str
    token: str
    secret: str
    own_chat: int

    @property
    def path(self) -> str:
        return f"/webhook/telegram/{self.slug}"


@dataclass
class Platform:
    url: str
    practitioners: list[Practitioner]  # the ordinary ones
    busy: Practitioner
    queued: int  # the busy one's updates the sweep queued
    seed_seconds: float
    sweep_seconds: float


def practitioner(n: int, pid: int, slug: str, own_chat: int) -> Practitioner:
    return Practitioner(pid, slug, f"{600_000 + n}:bench-token-{slug}", f"bench-secret-{slug}", own_chat)


async def set_up(url: str, count: int, clients: int, busy: int) -> Platform:
    if clients >= 1_000_000:
        raise SystemExit("--clients must stay below 1,000,000 (chat id ranges)")
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = seed.utc_now()
        started = time.perf_counter()
        await ensure_practitioner(sessions, "default", "Практик", now)  # #1, as main.build() makes her
        rows: list[Practitioner] = []
        async with sessions() as session:
            store = PractitionerStore(session)
            for n in range(count + 1):
                slug, own = ("busy", BUSY_OWN_CHAT) if n == count else (f"p{n:03d}", OWN_CHATS + n)
                made = practitioner(n, 0, slug, own)
                row = await store.add(
                    slug=slug,
                    name=f"Практик {slug}",
                    now=now,
                    telegram_token=made.token,
                    telegram_webhook_secret=made.secret,
                    accounts=[("telegram", str(own))],
                )
                rows.append(practitioner(n, row.id, slug, own))
            await session.commit()
        *others, hers = rows
        for n, p in enumerate(others):
            ids = await seed.clients(engine, p.id, clients, CLIENT_CHATS + n * 1_000_000, now)
            await seed.requests(engine, p.id, ids, SERVICE, now)
        ids = await seed.clients(engine, hers.id, busy + 1, BUSY_CHATS - 1, now)
        requests = await seed.requests(engine, hers.id, ids, SERVICE, now)
        seed_seconds = time.perf_counter() - started
        queued, sweep_seconds = await move_queue(sessions, hers.id, requests[0])
        return Platform(url, others, hers, queued, seed_seconds, sweep_seconds)
    finally:
        await engine.dispose()


async def move_queue(sessions, pid: int, first: int) -> tuple[int, float]:  # noqa: ANN001
    """Her first request done through storage/, then one push sweep: the queue updates (as
    bench/fanout.py)."""
    now = seed.utc_now()
    async with UnitOfWork(sessions, pid) as uow:
        request = await uow.requests.get(first)
        assert request is not None
        await uow.requests.change_stage(request, "done", now)
        await uow.commit()
    return await seed.timed_sweep(sessions, pid, Settings(_env_file=None))  # type: ignore[call-arg]


# (a) ingest


def spread(platform: Platform) -> Callable[[], Request]:
    """Telegram updates round-robin over the practitioners' paths, each with her secret."""
    counter = iter(range(10**12))

    def make() -> Request:
        n = next(counter)
        p = platform.practitioners[n % len(platform.practitioners)]
        chat = INGEST_CHATS + n % 500
        user = {"id": chat, "is_bot": False, "first_name": "Анна", "last_name": "К", "language_code": "ru"}
        body = {
            "update_id": 100_000_000 + n,
            "message": {
                "message_id": n + 1,
                "from": user,
                "chat": {"id": chat, "first_name": "Анна", "last_name": "К", "type": "private"},
                "date": 1795000000,
                "text": "Здравствуйте! Хочу плановый расклад на отношения, когда можно? Спасибо заранее.",
            },
        }
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": p.secret}
        return p.path, json.dumps(body, ensure_ascii=False).encode(), headers

    return make


@dataclass
class Ingest:
    label: str
    saturation: Result
    at200: Result
    at1000: Result
    stored: int | None = None


async def measure(base: str, platform: Platform, seconds: float) -> tuple[Result, Result, Result]:
    make = spread(platform)
    await closed_loop(base, make, 16, 1.5)  # warm-up: connections, caches, every tenant's first use
    saturation = await closed_loop(base, make, 16, seconds / 2)
    await asyncio.sleep(1)
    at200 = await open_loop(base, make, 200, seconds)
    await asyncio.sleep(1)
    at1000 = await open_loop(base, make, 1000, seconds / 2)
    return saturation, at200, at1000


async def inbox_rows(url: str, remove: bool) -> int:
    """The updates the webhooks stored; `remove`: deleted (bench only), so the service of (b)
    does not process the ingest load's thousands of strangers while the fan-out runs."""
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            stored = int(await session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)
            if remove:
                await session.execute(delete(InboxUpdate))
                await session.commit()
            return stored
    finally:
        await engine.dispose()


def service_env(platform: Platform, api: TelegramBotAPI, background: bool) -> dict[str, str]:
    return {
        "DATABASE_URL": platform.url,
        "TELEGRAM_BOT_TOKEN": TOKEN,  # #1's bot: no clients, nothing to send
        "TELEGRAM_API_SERVER": api.base_url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": "bench-secret",
        "PUBLIC_BASE_URL": PUBLIC,
        "DASHBOARD_PASSWORD": "bench-password",
        "LOG_LEVEL": "WARNING",
        "BENCH_BACKGROUND": "1" if background else "0",
        "REDIS_URL": seed.REDIS_URL,
        "PYTHONPATH": str(ROOT),
    }


async def ingest(platform: Platform, api: TelegramBotAPI, workers: int, seconds: float) -> list[Ingest]:
    env = service_env(platform, api, background=False)
    secrets = {p.slug: p.secret for p in platform.practitioners}
    server = await start("bench.bare:app", {**env, "BARE_TELEGRAM_SECRETS": json.dumps(secrets)}, workers, pin=False)
    try:
        bare = Ingest("bare", *await measure(server.base, platform, seconds))
    finally:
        server.stop()
    launched = time.monotonic()
    server = await start("bench.app:create", env, workers, pin=False)
    print(f"priem up (background off, {workers} workers) in {time.monotonic() - launched:.1f} s", flush=True)
    try:
        priem = Ingest("priem", *await measure(server.base, platform, seconds))
    finally:
        server.stop()
    priem.stored = await inbox_rows(platform.url, remove=True)
    return [bare, priem]


def ingest_row(row: Ingest, bare: Ingest, workers: int) -> str:
    s, a, b = row.saturation, row.at200, row.at1000
    ok = s.ok + a.ok + b.ok
    stored = "—" if row.stored is None else f"{row.stored:,} of {ok:,} answered 200 (warm-up too)"
    return (
        f"| {row.label} | {workers} | {s.rate:,.0f} | {100 * s.rate / bare.saturation.rate:.1f}% "
        f"| {s.pct(50):.1f} / {s.pct(99):.1f} | {a.rate:.0f}, {a.pct(50):.1f} / {a.pct(99):.1f} "
        f"| {b.rate:.0f}, {b.pct(50):.1f} / {b.pct(99):.1f} | {s.errors + a.errors + b.errors} | {stored} |"
    )


# (b) + (c): the busy one's fan-out, the others' emergencies


@dataclass
class Sample:
    tag: str
    who: Practitioner
    chat: int
    posted: float
    update_id: int
    wall: float = field(default_factory=time.time)  # `posted` on the database's clock
    status: int = 0
    alert: float | None = None
    reply: float | None = None
    busy_before: int = 0  # the busy bot's updates accepted before her alert arrived
    stored: float | None = None  # seconds after the POST: her inbox row's received_at
    settled: float | None = None  # … its processed_at (her desk's answer and alert committed)


@dataclass
class Log:
    """The double's calls, read incrementally (it runs in this event loop)."""

    api: TelegramBotAPI
    busy: Practitioner
    clients: int
    samples: list[Sample] = field(default_factory=list)
    busy_sends: list[Call] = field(default_factory=list)
    seen: int = 0

    def update(self) -> None:
        tags = {f"({s.tag})": s for s in self.samples}
        chats = {(s.who.token, s.chat): s for s in self.samples}
        own = {(s.who.token, s.who.own_chat) for s in self.samples}
        for call in self.api.calls[self.seen :]:
            self.seen += 1
            if call.method != "sendMessage" or call.status != 200:
                continue
            chat = call.params["chat_id"]
            if call.bot == self.busy.token and BUSY_CHATS <= chat < BUSY_CHATS + self.clients:
                self.busy_sends.append(call)
            elif (call.bot, chat) in own:
                found = next((s for tag, s in tags.items() if tag in call.params["text"]), None)
                if found is not None and found.who.token == call.bot and found.alert is None:
                    found.alert = call.at
                    found.busy_before = sum(1 for c in self.busy_sends if c.at < call.at)
            elif (call.bot, chat) in chats and chats[(call.bot, chat)].reply is None:
                chats[(call.bot, chat)].reply = call.at


async def emergencies(base: str, log: Log, others: list[Practitioner], count: int, first_at: float, interval: float):  # noqa: ANN201
    async with aiohttp.ClientSession() as http:
        for n in range(count):
            delay = first_at + n * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            who = others[n % len(others)]
            sample = Sample(f"E{n:03d}", who, EMERGENCY_CHATS + n, time.monotonic(), EMERGENCY_UPDATES + n)
            body = emergency_update(sample.chat, f"СРОЧНО!!! помогите, пожалуйста, очень плохо ({sample.tag})", n)
            headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": who.secret}
            log.samples.append(sample)
            async with http.post(base + who.path, data=body, headers=headers) as response:
                sample.status = response.status


@dataclass
class Fanout:
    startup: float  # spawn → first busy send
    sends: list[Call]
    samples: list[Sample]
    too_many: Counter[str]  # 429s: "busy" / "others"
    not_sent: dict[str, int]
    seconds: float  # first → last busy send


async def fanout(platform: Platform, api: TelegramBotAPI, workers: int, count: int) -> Fanout:
    busy = platform.busy
    log = Log(api, busy, platform.queued)
    launched = time.monotonic()
    server = await start("bench.app:create", service_env(platform, api, background=True), workers, pin=False)
    print(f"priem up (background on, {workers} workers) in {time.monotonic() - launched:.1f} s", flush=True)
    try:
        cap = time.monotonic() + 120 + platform.queued / 10  # only a stuck relay reaches it
        while not log.busy_sends:
            if time.monotonic() > cap:
                raise RuntimeError("the busy practitioner's fan-out never started")
            await asyncio.sleep(0.05)
            log.update()
        first = log.busy_sends[0].at
        startup = first - launched
        interval = max(0.5, (platform.queued / RELAY_RATE - 10) / max(count, 1))
        sender = asyncio.create_task(
            emergencies(server.base, log, platform.practitioners, count, first + 2.0, interval)
        )
        idle_since = time.monotonic()
        reached = 0
        while True:
            await asyncio.sleep(0.25)
            log.update()
            if len(log.busy_sends) != reached:
                reached, idle_since = len(log.busy_sends), time.monotonic()
            alerts_in = sender.done() and all(s.alert is not None and s.reply is not None for s in log.samples)
            drained = reached >= platform.queued
            if drained and alerts_in:
                break
            if time.monotonic() > cap or (drained and time.monotonic() - idle_since > 30):
                break  # an alert or a send that never comes
            if not drained and time.monotonic() - idle_since > 60:
                break  # the fan-out stalled: reported as lost
        await sender
        await asyncio.sleep(2)  # a late duplicate still counts
        log.update()
    finally:
        server.stop()
    sends = sorted(log.busy_sends, key=lambda c: c.at)
    too_many = Counter(
        "busy" if c.bot == busy.token else "others" for c in api.calls if c.method == "sendMessage" and c.status == 429
    )
    return Fanout(
        startup=startup,
        sends=sends,
        samples=log.samples,
        too_many=too_many,
        not_sent=await outbox_left(platform.url, busy.id, log.samples),
        seconds=(sends[-1].at - sends[0].at) if len(sends) > 1 else 0.0,
    )


async def outbox_left(url: str, pid: int, samples: list[Sample]) -> dict[str, int]:
    """The busy one's outbox rows not `sent`; and each emergency's inbox times noted on its sample."""
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            by_update = {(s.who.id, str(s.update_id)): s for s in samples}
            inbox = await session.execute(
                select(InboxUpdate.practitioner_id, InboxUpdate.external_id, InboxUpdate.received_at,
                       InboxUpdate.processed_at).where(InboxUpdate.external_id.in_([k for _, k in by_update]))
            )  # fmt: skip
            for pid_of, external_id, received, processed in inbox:
                sample = by_update.get((pid_of, external_id))
                if sample is not None:
                    sample.stored = received.timestamp() - sample.wall
                    sample.settled = processed.timestamp() - sample.wall if processed else None
            rows = await session.execute(
                select(OutboxItem.state, func.count())
                .where(OutboxItem.practitioner_id == pid)
                .group_by(OutboxItem.state)
            )
            return {state: int(n) for state, n in rows if state != "sent"}
    finally:
        await engine.dispose()


def fanout_row(platform: Platform, run: Fanout) -> str:
    chats = Counter(c.params["chat_id"] for c in run.sends)
    lost = sum(1 for n in range(platform.queued) if BUSY_CHATS + n not in chats)
    duplicated = sum(n - 1 for n in chats.values() if n > 1)
    rate = (len(run.sends) - 1) / run.seconds if run.seconds else 0.0
    return (
        f"| {platform.queued:,} | {platform.sweep_seconds:.1f} | {run.startup:.1f} | {run.seconds:.1f} | {rate:.1f} "
        f"| {100 * rate / LIMIT:.1f}% | {100 * rate / RELAY_RATE:.1f}% | {peak_per_second([c.at for c in run.sends])} "
        f"| {run.too_many['busy']} | {run.too_many['others']} | {lost} | {duplicated} | {run.not_sent or 0} |"
    )


def ms(values: list[float], p: float) -> str:
    return f"{1000 * seed.percentile(values, p):.0f}" if values else "—"


def alert_row(platform: Platform, run: Fanout) -> str:
    during = [s for s in run.samples if s.alert is not None and 0 < s.busy_before < platform.queued]
    alerts = [s.alert - s.posted for s in during if s.alert is not None]
    replies = [s.reply - s.posted for s in during if s.reply is not None]
    stored = [s.stored for s in during if s.stored is not None]
    settled = [s.settled for s in during if s.settled is not None]
    missing = sum(1 for s in run.samples if s.alert is None)
    bad = sum(1 for s in run.samples if s.status != 200)
    practitioners = len({s.who.slug for s in during})
    return (
        f"| {len(during)} of {len(run.samples)} | {practitioners} | {ms(alerts, 50)} / {ms(alerts, 99)} / "
        f"{ms(alerts, 100)} | {ms(replies, 50)} / {ms(replies, 99)} | {ms(stored, 50)} / {ms(stored, 100)} "
        f"| {ms(settled, 50)} / {ms(settled, 100)} | {missing} | {bad} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--practitioners", type=int, default=100)
    parser.add_argument("--clients", type=int, default=1000, help="queued clients of each practitioner")
    parser.add_argument("--busy", type=int, default=10_000, help="the busy practitioner's queued clients")
    parser.add_argument("--emergencies", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0, help="ingest: the 200 req/s load's length")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    for name in RATE_ENV:
        os.environ.pop(name, None)  # the defaults are what is measured
    print(f"machine: {seed.machine()}")
    print(
        f"{args.practitioners} practitioners × {args.clients:,} queued clients + one with {args.busy:,}; "
        f"{args.workers} workers, PostgreSQL, Redis buckets",
        flush=True,
    )
    api = TelegramBotAPI()
    api.enforce_limits(overall=LIMIT, per_chat=1, slack=SLACK, per_bot=True)
    api.latency = 0.02  # a round trip to the Bot API, roughly
    await api.start()
    name = f"priem_practitioners_{os.getpid()}"
    try:
        await seed.flush_redis(seed.REDIS_URL)
        url = await new_postgres_database(name)
        platform = await set_up(url, args.practitioners, args.clients, args.busy)
        api.tokens |= {p.token for p in [*platform.practitioners, platform.busy]}
        print(
            f"setup: {args.practitioners + 2} practitioner rows and "
            f"{args.practitioners * args.clients + args.busy + 1:,} queued clients in {platform.seed_seconds:.1f} s; "
            f"the sweep queued {platform.queued:,} updates in {platform.sweep_seconds:.1f} s",
            flush=True,
        )
        if not args.skip_ingest:
            rows = await ingest(platform, api, args.workers, args.seconds)
            print(
                "\n| what | workers | sat. req/s (c=16) | ÷ bare | sat. p50 / p99 ms "
                "| @200 req/s: achieved, p50 / p99 ms | @1000 req/s: achieved, p50 / p99 ms | errors | updates stored |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            for row in rows:
                print(ingest_row(row, rows[0], args.workers))
        run = await fanout(platform, api, args.workers, args.emergencies)
        print(
            "\n| busy's updates | sweep s | spawn → first send s | first → last send s | achieved msg/s | ÷ 30 limit "
            "| ÷ 28 setting | most in 1 s | 429s busy bot | 429s other bots | lost | duplicated | rows not sent |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        print(fanout_row(platform, run))
        print(
            "\n| emergencies counted (during fan-out) | practitioners | alert p50 / p99 / max ms "
            "| client's reply p50 / p99 ms | stored p50 / max ms | settled p50 / max ms "
            "| alerts missing | POST not 200 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        print(alert_row(platform, run))
        print(f"\nmachine after: {seed.machine()}")
    finally:
        await api.stop()
        await drop_postgres_database(name)


if __name__ == "__main__":
    asyncio.run(main())
