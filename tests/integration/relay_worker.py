"""One outbox relay worker process, for tests/integration/test_postgres_workers.py.

    python -m tests.integration.relay_worker DATABASE_URL SINK_URL [REDIS_URL]

Its own engine and OutboxRelay, sending channel "rec" rows to a recording HTTP sink, until no
row is pending or sending any more. Prints how many rows this process handed to its sender.
"""

import asyncio
import os
import sys

import aiohttp

from bot.desk import utc_now
from bot.outbox.delivery import Delivered, Result, RetryLater
from bot.outbox.ratelimit import ChannelRate, RateLimits
from bot.outbox.relay import OutboxRelay
from storage.engine import make_engine, session_factory
from storage.models import OutboxItem
from storage.uow import RelayUnitOfWork

CHANNEL = "rec"


class RecordingSender:
    def __init__(self, http: aiohttp.ClientSession, sink: str) -> None:
        self.http, self.sink = http, sink

    async def send(self, item: OutboxItem) -> Result:
        body = {"pid": os.getpid(), "destination": item.destination, "text": item.text}
        async with self.http.post(self.sink, json=body) as response:
            if response.status != 200:
                return RetryLater(error=f"sink {response.status}", after_seconds=0.05)
            return Delivered(external_id=str((await response.json())["id"]))


async def main(url: str, sink: str, redis_url: str | None) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    # The overall rate lives in Redis when given: both processes draw from one bucket.
    limits = RateLimits({CHANNEL: ChannelRate(overall=1000)}, redis_url)
    sent = 0
    try:
        async with aiohttp.ClientSession() as http:
            relay = OutboxRelay(sessions, {CHANNEL: RecordingSender(http, sink)}, utc_now, batch=20, limits=limits)
            while True:
                sent += await relay.drain()
                async with RelayUnitOfWork(sessions) as uow:
                    counts = await uow.outbox.counts()
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.01)  # the other process holds the rest of the chats' heads
    finally:
        await limits.close()
        await engine.dispose()
    print(sent, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None))
