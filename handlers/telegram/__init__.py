"""Telegram adapters: aiogram routers that turn updates into `Inbound`s for `desk.handle`,
and the webhook route that stores raw updates before anything else happens.

Routers are built fresh per Dispatcher (a Router attaches to one parent only), with the
catch-all messages router last. The Desk arrives as the Dispatcher's `desk` kwarg.
"""

from aiogram import Router

from handlers.telegram import buttons, commands, edits, messages


def build_router() -> Router:
    root = Router(name=__name__)
    root.include_routers(commands.router(), buttons.router(), edits.router(), messages.router())
    return root
