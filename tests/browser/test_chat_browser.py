"""The web chat in a real browser at night: Debian's chromium driven by Playwright against the real
app (`python main.py`), whose catalogue puts her working hours away from the current time.

A newcomer says hello outside her hours: one answer arrives, the night notice inside it, and the
menu's buttons stay under it (a separate notice after the answer used to push them away).
Tapping a button goes on with the conversation. Screenshot: test-artifacts/browser/chat-night.png.
"""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_dashboard_browser import ARTIFACTS, CHROMIUM, PATIENCE_S, running_app

ROOT = Path(__file__).resolve().parents[2]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is missing at /usr/bin/chromium (.ci/run installs it with apt-get)"
)


def closed_hours() -> tuple[str, str]:
    """An hour of work that does not hold the present moment (her zone: Europe/Moscow)."""
    hour = datetime.now(ZoneInfo("Europe/Moscow")).hour
    return ("01:00", "02:00") if hour >= 12 else ("20:00", "21:00")


@pytest.fixture
def night_server(tmp_path: Path) -> Iterator[str]:
    start, end = closed_hours()
    shipped = (ROOT / "catalogue.toml").read_text(encoding="utf-8")
    catalogue = tmp_path / "catalogue.toml"
    catalogue.write_text(
        shipped.replace('start = "10:00"\nend = "20:00"', f'start = "{start}"\nend = "{end}"', 1), encoding="utf-8"
    )
    assert f'start = "{start}"' in catalogue.read_text(encoding="utf-8")
    with running_app(tmp_path, CATALOGUE_PATH=str(catalogue)) as base:
        yield base


def test_at_night_the_answer_keeps_its_buttons(night_server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 390, "height": 800}, locale="ru-RU")
        context.set_default_timeout(PATIENCE_S * 1000)
        page = context.new_page()
        refused: list[str] = []  # what the Content-Security-Policy blocked, if anything
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

        page.goto(night_server)
        page.fill("#name-input", "Вера")
        page.click("#name-form button[type=submit]")
        page.fill("#text-input", "Здравствуйте")
        page.click("#send-btn")

        answer = page.locator(".bubble.bot").first
        answer.wait_for()
        page.locator(".chips .chip").first.wait_for()
        text = answer.inner_text()
        assert "Вера" in text and "нерабочее время" in text, "the night notice is inside the one answer"
        assert page.locator(".bubble.bot").count() == 1
        chips = page.locator(".chips .chip").all_inner_texts()
        assert any("Плановый расклад" in chip for chip in chips), chips
        page.screenshot(path=ARTIFACTS / "chat-night.png", full_page=True)

        page.locator(".chips .chip", has_text="Плановый расклад").first.click()
        page.locator(".bubble.bot").nth(1).wait_for()
        assert "условия" in page.locator(".bubble.bot").nth(1).inner_text().lower()
        assert page.locator(".chips .chip").count() >= 2, "the terms' buttons under the terms"
        assert refused == [], "the page needs nothing its CSP refuses"
        browser.close()
