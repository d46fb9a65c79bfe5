"""The bot's routers, built fresh per Dispatcher (a Router attaches to one parent only), with
the catch-all messages router last. The Desk arrives as the Dispatcher's `desk` kwarg.
"""


from aiogram import Router

from handlers.telegram import business, buttons, commands, edits, messages, payments


def build_router(*, with_payments: bool = False, with_business: bool = False) -> Router:
    """`with_payments` adds the payments router, and with it `pre_checkout_query` to the update
    types asked of Telegram; without payment settings the bot asks for exactly what it did.
    `with_business` (TELEGRAM_BUSINESS) adds the business_* updates the same way."""
    root = Router(name="handlers.telegram")
    if with_payments:
        root.include_router(payments.router())  # before the catch-all: a payment is a message too
    if with_business:
        root.include_router(business.router())  # before buttons: taps in her chats are hers to route
    root.include_routers(commands.router(), buttons.router(), edits.router(), messages.router())
    return root
