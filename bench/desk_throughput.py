"""Desk throughput: inbound messages fully processed (stored, the desk run, the reply enqueued) per
second, one process, SQLite, in one event loop.

    .venv/bin/python -m bench.desk_throughput [--clients 500] [--messages 2000] [--profile out.prof]

The real app (`main.build`, Telegram in webhook mode against the Bot API double in this process,
answering at once) with nothing in the background. Phase 1 (baseline, same run): the updates
are POSTed to /webhook/telegram through the ASGI transport and stored — ingest alone. Phase 2:
the Telegram inbox feeds them to the desk (aiogram's dispatcher, the conversation, the reply
composed into the outbox) until none is pending; timed from the first to the last settled
update. Each client writes «Здравствуйте», picks a format, accepts the terms, sends questions:
the everyday mix, every message answered. Reported: messages/s of each phase, the desk's share of
the ingest rate, the ratio to the target (shared/PERF.md: ≥ 300 messages/s), and the rows
written (every update answered, none set aside).
"""

import argparse
import asyncio
import cProfile
import itertools
import os
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.seed import machine
from bot.settings import Settings
from main import build
from storage.models import InboxUpdate, Message, OutboxItem
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

SECRET = "bench-secret"
TARGET = 300.0
SCRIPT = ["Здравствуйте", "Хочу плановый расклад", "Да, согласна", "Что меня ждёт в работе?", "Как с мамой?"]


def updates(clients: int, messages: int) -> list[dict]:
    """`messages` updates from `clients` new clients, interleaved as they would arrive."""
    ids = itertools.count(1)
    per_client = max(1, messages // clients)
    out = []
    for step in range(per_client):
        for n in range(clients):
            chat = 10_000 + n
            text = SCRIPT[step] if step < len(SCRIPT) else f"Вопрос {step}: что будет дальше?"
            out.append(
                {
                    "update_id": next(ids),
                    "message": {
                        "message_id": step + 1,
                        "date": 1_790_000_000,
                        "chat": {"id": chat, "type": "private", "first_name": f"Клиент{n}"},
                        "from": {"id": chat, "is_bot": False, "first_name": f"Клиент{n}", "language_code": "ru"},
                        "text": text,
                    },
                }
            )
    return out[:messages]


async def count(app, model) -> int:  # noqa: ANN001
    async with app.state.desk.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def run(clients: int, messages: int, profile: Path | None) -> None:
    api = TelegramBotAPI()
    await api.start()
    workdir = Path(tempfile.mkdtemp(prefix="priem-desk-bench-"))
    os.environ.setdefault("TELEGRAM_RATE_PER_SECOND", "28")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{workdir / 'priem.db'}",
        telegram_bot_token=TOKEN,
        telegram_api_server=api.base_url,
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        public_base_url="https://desk.example.com",
        practitioner_telegram_ids="777",
    )
    app = build(settings, run_background=False)
    batch = updates(clients, messages)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                started = time.perf_counter()
                for update in batch:
                    response = await http.post("/webhook/telegram", json=update, headers=headers)
                    assert response.status_code == 200, response.text
                ingest = time.perf_counter() - started
            inbox = app.state.telegram.inbox
            profiler = cProfile.Profile() if profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            settled = 0
            while True:
                done = await inbox.process_pending()
                settled += done
                if not done:
                    break
            desk = time.perf_counter() - started
            if profiler:
                profiler.disable()
                profiler.dump_stats(str(profile))
            inbound = await count(app, Message)
            outbox = await count(app, OutboxItem)
            stored = await count(app, InboxUpdate)
    finally:
        await api.stop()
    ingest_rate, desk_rate = len(batch) / ingest, settled / desk
    print(f"machine: {machine()}")
    print(f"{len(batch)} updates from {clients} new clients, SQLite, one process")
    print(f"baseline, ingest only (POST → stored):   {ingest_rate:8.1f} updates/s")
    print(f"desk (stored → flow → reply enqueued):    {desk_rate:8.1f} messages/s "
          f"({desk / settled * 1000:.1f} ms each; {desk_rate / ingest_rate:.1%} of ingest; "
          f"{desk_rate / TARGET:.2f}× the {TARGET:.0f}/s target)")
    print(f"settled {settled}; history rows {inbound} (in + out), outbox rows {outbox}, inbox rows {stored}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the desk phase here")
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.messages, args.profile))


if __name__ == "__main__":
    main()
