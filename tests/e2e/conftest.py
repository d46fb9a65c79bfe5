"""The Telegram app fixtures (defined beside the channel's own tests) for every e2e module."""

from tests.e2e.test_telegram import delivery, mode, tg_app, tg_http, user  # noqa: F401
