"""A deployment without a Telegram bot never loads aiogram: importing it costs ~130 MB of the
idle service's ~250 (shared/PERF.md, bench/README.md idle RSS), which a web-chat or WhatsApp
practice should not pay. Checked in a fresh interpreter, since this test process has aiogram."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, json, sys
import httpx
from bot.settings import Settings
from main import build

async def main() -> None:
    app = build(Settings(_env_file=None, database_url=sys.argv[1]), run_background=True)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            sent = await http.post(
                "/chat/api/messages", json={"client_key": "k", "name": "Анна", "text": "срочно", "message_id": "m1"}
            )
            for _ in range(300):  # the relay delivers in the background: a generous cap, not a timing claim
                history = (await http.get("/chat/api/messages", params={"client_key": "k"})).json()["messages"]
                if any(m["direction"] == "out" for m in history):
                    break
                await asyncio.sleep(0.05)
            board = await http.get("/login")
    loaded = sorted(m for m in sys.modules if m == "aiogram" or m.startswith("aiogram."))
    print(json.dumps({"sent": sent.status_code, "history": [m["direction"] for m in history],
                      "login": board.status_code, "aiogram": loaded[:3]}))

asyncio.run(main())
"""


def test_a_practice_without_telegram_answers_without_importing_aiogram(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DASHBOARD_PASSWORD": "secret-password"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite+aiosqlite:///{tmp_path}/desk.db"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["sent"] == 200 and seen["history"][:2] == ["in", "out"] and seen["login"] == 200
    assert seen["aiogram"] == []
