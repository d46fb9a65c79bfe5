"""One scheduler-and-relay worker process, for tests/integration/test_postgres_push_workers.py.

    python -m tests.integration.push_worker DATABASE_URL PRACTITIONER_ID SINK_URL REDIS_URL INSTANT[,INSTANT…]

As the service runs them: the push sweep (bot/pushes.py) queues what is due and wakes the
outbox relay, which sends it to a recording HTTP sink; the send-rate bucket lives in Redis.
The clock is set to each ISO instant in turn. At each one the process waits at the sink's
barrier for the other process, sweeps twice (the second finds what a lost race left), waits
until no outbox row is pending or sending, and meets the other at the barrier again.
Prints one JSON line: how many pushes this process queued and how many rows it sent.
"""

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path

import aiohttp

from bot.desk import Destination
from bot.outbox.delivery import Delivered, Result, RetryLater
from bot.outbox.ratelimit import ChannelRate, RateLimits
from bot.outbox.relay import OutboxRelay
from bot.pushes import Pushes
from bot.texts import Texts
from storage.engine import make_engine, session_factory
from storage.models import OutboxItem
from storage.uow import RelayUnitOfWork
from tests.factories import FakeClock, catalogue

ROOT = Path(__file__).resolve().parents[2]
HER = Destination("telegram", "999")


class RecordingSender:
    def __init__(self, http: aiohttp.ClientSession, sink: str) -> None:
        self.http, self.sink, self.sent = http, sink, 0

    async def send(self, item: OutboxItem) -> Result:
        self.sent += 1
        body = {"pid": os.getpid(), "destination": item.destination, "key": item.idempotency_key}
        async with self.http.post(self.sink + "/send", json=body) as response:
            if response.status != 200:
                return RetryLater(error=f"sink {response.status}", after_seconds=0.05)
            return Delivered(external_id=str((await response.json())["id"]))


async def barrier(http: aiohttp.ClientSession, sink: str, name: str) -> None:
    async with http.post(sink + "/barrier", json={"pid": os.getpid(), "name": name}) as response:
        if response.status != 200:
            raise RuntimeError(f"the other process never reached barrier {name}")


async def drained(sessions) -> None:  # noqa: ANN001
    while True:
        async with RelayUnitOfWork(sessions) as uow:
            counts = await uow.outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return
        await asyncio.sleep(0.05)


async def main(url: str, practitioner: int, sink: str, redis_url: str | None, instants: list[datetime]) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    clock = FakeClock(instants[0])
    limits = RateLimits({"telegram": ChannelRate(overall=1000)}, redis_url)
    queued = 0
    try:
        async with aiohttp.ClientSession() as http:
            sender = RecordingSender(http, sink)
            relay = OutboxRelay(sessions, {"telegram": sender}, clock, limits=limits)
            pushes = Pushes(
                sessions=sessions,
                practitioner_id=practitioner,
                catalogue=catalogue(),
                texts=Texts(ROOT / "locales"),
                timezone="Europe/Moscow",
                clock=clock,
                practitioner_destinations=(HER,),
                digest_hour=None,
                on_enqueued=relay.wake,
            )
            task = asyncio.create_task(relay.run(idle_seconds=0.1))
            try:
                for instant in instants:
                    clock.now = instant
                    await barrier(http, sink, f"sweep {instant.isoformat()}")
                    queued += await pushes.sweep()
                    queued += await pushes.sweep()
                    await drained(sessions)
                    await barrier(http, sink, f"sent {instant.isoformat()}")
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    finally:
        await limits.close()
        await engine.dispose()
    print(json.dumps({"queued": queued, "sent": sender.sent}), flush=True)


if __name__ == "__main__":
    url, practitioner, sink, redis, instants = sys.argv[1:6]
    asyncio.run(
        main(url, int(practitioner), sink, redis or None, [datetime.fromisoformat(i) for i in instants.split(",")])
    )
