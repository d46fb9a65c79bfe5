"""Idle memory of the service: RSS after start-up and one served request, against two baselines
started the same way: a bare FastAPI app, and a bare app that also imports aiogram, SQLAlchemy
and twilio (shared/PERF.md: the target is ≤ 1.25 × that second baseline).

    /tmp/v/bin/python -m bench.idle_rss
"""

import asyncio
import tempfile

import aiohttp

from bench.ingest import AUTH_TOKEN, PUBLIC, ROOT, SECRET, start
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

BASELINE = ROOT / "bench" / "imports_app.py"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def measure(target: str, env: dict[str, str]) -> float:
    server = await start(target, env, 1, pin=False)
    try:
        async with aiohttp.ClientSession() as session, session.get(server.base + "/healthz") as response:
            await response.read()
        await asyncio.sleep(2)
        return rss_mb(server.process.pid)
    finally:
        server.stop()


async def main() -> None:
    api = TelegramBotAPI()
    await api.start()
    base_env = {"PYTHONPATH": str(ROOT), "DASHBOARD_PASSWORD": "bench-password", "LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory() as tmp:
        local = {**base_env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/a.db"}
        channels = {
            **base_env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/b.db", "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_SERVER": api.base_url, "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "PUBLIC_BASE_URL": PUBLIC, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886", "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        }
        whatsapp_only = {
            **base_env, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/c.db", "PUBLIC_BASE_URL": PUBLIC,
            **{k: v for k, v in channels.items() if k.startswith("TWILIO_")},
        }
        bare = await measure("bench.bare:app", base_env)
        imports = await measure("bench.imports_app:app", base_env)
        service_local = await measure("bench.app:create", local)
        service_whatsapp = await measure("bench.app:create", whatsapp_only)
        service_channels = await measure("bench.app:create", channels)
    await api.stop()
    print("| process (uvicorn, 1 worker, after one request) | RSS MB | ÷ imports baseline |")
    print("|---|---|---|")
    for name, value in [("bare FastAPI", bare), ("bare + import aiogram, SQLAlchemy, aiosqlite, twilio", imports),
                        ("priem, no channels (SQLite)", service_local),
                        ("priem, WhatsApp only (SQLite): no aiogram imported", service_whatsapp),
                        ("priem, Telegram webhook + WhatsApp (SQLite)", service_channels)]:
        print(f"| {name} | {value:.0f} | {value / imports:.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
