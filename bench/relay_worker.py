"""One outbox relay process for bench/fanout.py, composed as main.py composes it.

    python -m bench.relay_worker DATABASE_URL BOT_API_BASE [REDIS_URL]

The real OutboxRelay with the real aiogram TelegramSender and main.send_rates() of the default
Settings (28 msg/s per bot, 1 msg/s per chat; the buckets in Redis when REDIS_URL is given, so
several processes share them), run with relay.run() as the service runs it. It stops once no
row is pending or sending, and prints one JSON line: how many rows it handed to its sender.
"""

import asyncio
import json
import os
import sys

from bot.desk import utc_now
from bot.outbox.delivery import Result
from bot.outbox.relay import OutboxRelay
from bot.settings import Settings
from bot.telegram.sender import TelegramSender, make_bot
from main import send_rates, settle_heap
from storage.engine import make_engine, session_factory
from storage.models import OutboxItem
from storage.uow import RelayUnitOfWork
from tests.fakes.telegram_api import TOKEN


class Counting:
    def __init__(self, sender: TelegramSender) -> None:
        self.sender, self.sent = sender, 0

    async def send(self, item: OutboxItem) -> Result:
        self.sent += 1
        return await self.sender.send(item)


async def main(url: str, api: str, redis_url: str | None) -> None:
    settings = Settings(_env_file=None, database_url=url, redis_url=redis_url)  # type: ignore[call-arg]
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    limits = send_rates(settings)
    bot = make_bot(TOKEN, api)
    sender = Counting(TelegramSender(bot))
    relay = OutboxRelay(sessions, {"telegram": sender}, utc_now, limits=limits)
    settle_heap()  # as main.py does once the app is built
    task = asyncio.create_task(relay.run())
    try:
        while True:
            await asyncio.sleep(0.25)
            async with RelayUnitOfWork(sessions) as uow:
                counts = await uow.outbox.counts()
            if not counts.get("pending") and not counts.get("sending"):
                break
            if task.done():
                task.result()  # the relay died: show why
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()
        await limits.close()
        await engine.dispose()
    rates = (settings.telegram_rate_per_second, settings.telegram_chat_rate_per_second)
    print(json.dumps({"pid": os.getpid(), "sent": sender.sent, "rates": rates}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None))
