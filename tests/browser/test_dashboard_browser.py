"""The dashboard in a real browser: Debian's chromium driven by Playwright against the real app,
started with uvicorn (`python main.py`) on a free port with its own SQLite file and no tokens.

She logs in, a client sends an emergency through the web chat API, the row appears on the board
without a reload, she opens the client's card and replies, and the reply reaches the client's web
chat; she changes her working hours on the settings page. Screenshots (board, card, statistics,
settings; also at 390 px wide) go to test-artifacts/browser/.
"""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
PASSWORD = "browser-test-password"
# Readiness waits only (a server start, a poll cycle, the outbox relay): never asserted as timings.
PATIENCE_S = 30

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is missing at /usr/bin/chromium (.ci/run installs it with apt-get)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_app(tmp_path: Path, **env: str) -> Iterator[str]:
    """`python main.py` on a free port with its own SQLite file and no tokens; its base URL."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'priem.db'}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = (tmp_path / "server.log").open("wb")
    # cwd is the temp dir, so a developer's .env is never read.
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")], cwd=tmp_path, env=environment, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the app did not start:\n{(tmp_path / 'server.log').read_text()}")
        time.sleep(0.1)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_app(tmp_path, DASHBOARD_PASSWORD=PASSWORD) as base:
        yield base


def chat_messages(base: str, key: str) -> list[dict]:
    response = httpx.get(f"{base}/chat/api/messages", params={"client_key": key})
    assert response.status_code == 200
    return response.json()["messages"]


def no_horizontal_scroll(page: "sync_api.Page") -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_login_live_board_card_reply_and_statistics(server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
        context.set_default_timeout(PATIENCE_S * 1000)
        page = context.new_page()

        page.goto(f"{server}/desk")
        assert "/login" in page.url  # nothing without a login
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/desk")
        page.locator("#queue .empty").wait_for()  # the first poll answered: the queue is empty
        page.evaluate("window.__samePage = true")  # gone if the page reloads

        key = uuid.uuid4().hex
        sent = httpx.post(
            f"{server}/chat/api/messages",
            json={"client_key": key, "name": "Вера", "text": "SOS! Срочно, помогите", "message_id": "m-1"},
        )
        assert sent.status_code == 200
        row = page.locator("#queue .qrow.emergency", has_text="Вера")
        row.wait_for()
        assert page.evaluate("window.__samePage") is True  # it arrived without a reload
        assert "Экстренные" in (page.text_content("#queue .qgroup.emergency h3") or "")
        page.locator("#alerts .alert-emergency", has_text="Вера").wait_for()

        # Her command box: typed, Enter, the answer under it; a mistake says what was expected;
        # ↑ brings the last command back.
        page.fill("#command-input", "/queue")
        page.press("#command-input", "Enter")
        page.locator("#command-output", has_text="Вера").wait_for()
        assert "error" not in (page.get_attribute("#command-output", "class") or "")
        page.fill("#command-input", "/done")
        page.press("#command-input", "Enter")
        page.locator("#command-output.error").wait_for()
        page.fill("#command-input", "")
        page.press("#command-input", "ArrowUp")
        assert page.input_value("#command-input") == "/done"
        page.screenshot(path=ARTIFACTS / "board.png", full_page=True)

        row.locator("a.client-link").click()
        page.wait_for_url(re.compile(r"/desk/clients/\d+$"))
        assert "SOS! Срочно, помогите" in page.inner_text("#history")
        reply = "Вера, я вижу ваш запрос и отвечу сегодня."
        page.fill("#reply-form textarea", reply)
        page.click("#reply-form button[type=submit]")
        page.locator(".flash", has_text="Отправлено клиенту Вера").wait_for()

        deadline = time.monotonic() + PATIENCE_S
        while not any(reply in m["text"] for m in chat_messages(server, key)):
            assert time.monotonic() < deadline, "the reply never reached the client's web chat"
            time.sleep(0.2)
        page.reload()  # the card shows the reply in the history now
        assert reply in page.inner_text("#history")
        page.screenshot(path=ARTIFACTS / "card.png", full_page=True)

        page.click("nav >> text=Статистика")
        page.wait_for_url(f"{server}/desk/stats")
        page.locator("#heatmap td.heat4").first.wait_for()
        page.screenshot(path=ARTIFACTS / "stats.png", full_page=True)

        # Settings: a refused form keeps what she typed and says why; a good one is saved.
        page.click("nav >> text=Настройки")
        page.wait_for_url(f"{server}/desk/settings")
        page.fill("#hours-end", "09:00")
        page.click("#hours-form button[type=submit]:not([name])")
        page.locator("#hours-end-error", has_text="Конец должен быть позже начала").wait_for()
        page.fill("#hours-end", "21:00")
        page.click("#hours-form button[type=submit]:not([name])")
        page.locator(".flash", has_text="Сохранено").wait_for()
        assert page.input_value("#hours-end") == "21:00"
        page.screenshot(path=ARTIFACTS / "settings.png", full_page=True)

        # A phone: 390 px wide, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        for name, path in (
            ("board", "/desk"),
            ("card", None),
            ("stats", "/desk/stats"),
            ("settings", "/desk/settings"),
            ("settings-services", "/desk/settings/services"),
        ):
            if path is None:
                page.goto(f"{server}/desk")
                page.locator("#queue a.client-link").first.click()
                page.wait_for_url(re.compile(r"/desk/clients/\d+$"))
            else:
                page.goto(f"{server}{path}")
            if name == "board":
                page.locator("#queue .qrow.emergency").wait_for()
            if name == "settings-services":
                page.click("#service-planned_reading summary")  # a service's form, opened
            assert no_horizontal_scroll(page), f"the {name} page is wider than a 390 px phone"
            page.screenshot(path=ARTIFACTS / f"{name}-390px.png", full_page=True)
        browser.close()
    for name in (
        "board",
        "card",
        "stats",
        "settings",
        "board-390px",
        "card-390px",
        "stats-390px",
        "settings-390px",
        "settings-services-390px",
    ):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 0
