"""Telegram Business as the Bot API reports it: her account connected to the bot, and a client
writing to her account. The updates go through the webhook and the real aiogram Dispatcher; the
bot's messages in her chat are the double's sendMessage calls carrying business_connection_id.
"""

import itertools
from typing import Any

from fastapi import FastAPI

from tests.e2e.telegram_client import DATE, Delivery
from tests.fakes.telegram_api import BOT_USER, TelegramBotAPI

CONNECTION = "BIZ-conn-1"
_message_ids = itertools.count(70_000)
_callback_ids = itertools.count(1)


def her_user(her_id: int) -> dict[str, Any]:
    return {"id": her_id, "is_bot": False, "first_name": "Марина", "language_code": "ru"}


def connection_update(
    api: TelegramBotAPI, her_id: int, *, enabled: bool = True, can_reply: bool = True, connection: str = CONNECTION
) -> dict[str, Any]:
    return {
        "update_id": api.next_update_id(),
        "business_connection": {
            "id": connection,
            "user": her_user(her_id),
            "user_chat_id": her_id,
            "date": DATE,
            "is_enabled": enabled,
            "rights": {"can_reply": can_reply, "can_read_messages": True},
        },
    }


class BusinessChat:
    """One client's chat with her account."""

    def __init__(
        self, app: FastAPI, api: TelegramBotAPI, delivery: Delivery, her_id: int, chat_id: int, first_name: str
    ) -> None:
        self.app, self.api, self.delivery = app, api, delivery
        self.her_id, self.chat_id, self.name = her_id, chat_id, first_name
        self.user = {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}
        self.seen = 0
        self.connection = CONNECTION  # her account's connection to the bot (another bot: another id)

    # Updates

    def message(
        self, text: str, *, sender: dict[str, Any] | None = None, connection: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "message_id": next(_message_ids),
            "date": DATE,
            "chat": {"id": self.chat_id, "type": "private", "first_name": self.name},
            "from": sender or self.user,
            "business_connection_id": connection or self.connection,
            "text": text,
            **extra,
        }
        return {"update_id": self.api.next_update_id(), "business_message": body}

    def hers(self, text: str, **extra: Any) -> dict[str, Any]:
        """A message from her account in this chat: typed by her, or (with extra flags) not."""
        return self.message(text, sender=her_user(self.her_id), **extra)

    def echo(self, text: str) -> dict[str, Any]:
        """The bot's own message in her chat, as Telegram reports it back."""
        return self.hers(text, sender_business_bot=BOT_USER)

    def away(self, text: str) -> dict[str, Any]:
        """Telegram's away or greeting message, sent in her name while she is offline."""
        return self.hers(text, is_from_offline=True)

    def edit(self, original: dict[str, Any], text: str) -> dict[str, Any]:
        body = {**original["business_message"], "text": text, "edit_date": DATE + 60}
        return {"update_id": self.api.next_update_id(), "edited_business_message": body}

    def tap(self, payload: str) -> dict[str, Any]:
        """The client taps a button under the newest bot message in this chat."""
        shown = next(m for m in reversed(self.api.sent(self.chat_id)) if "reply_markup" in m)
        assert shown.get("business_connection_id") == self.connection
        data = [b["callback_data"] for row in shown["reply_markup"]["inline_keyboard"] for b in row]
        assert payload in data, data
        message = {
            "message_id": next(_message_ids),
            "date": DATE,
            "chat": {"id": self.chat_id, "type": "private", "first_name": self.name},
            "from": her_user(self.her_id),
            "sender_business_bot": BOT_USER,
            "business_connection_id": self.connection,
            "text": shown["text"],
            "reply_markup": shown["reply_markup"],
        }
        callback = {"id": f"bcq{next(_callback_ids)}", "from": self.user, "chat_instance": "bci", "message": message}
        return {"update_id": self.api.next_update_id(), "callback_query": {**callback, "data": payload}}

    # Conversation

    async def send(self, update: dict[str, Any]) -> None:
        await self.delivery.deliver(update)
        await self.app.state.telegram.inbox.process_pending()
        await self.app.state.relay.drain()

    def sent_here(self) -> list[dict[str, Any]]:
        """Every message that reached this person: in her chat or in their own bot chat."""
        return self.api.sent(self.chat_id)

    def replies(self) -> list[str]:
        """Texts the bot sent in her chat with this client since the last call."""
        sent = self.sent_here()
        new, self.seen = sent[self.seen :], len(sent)
        assert all(m.get("business_connection_id") == self.connection for m in new), new
        return [m["text"] for m in new]

    async def ask(self, text: str) -> str:
        await self.send(self.message(text))
        return "\n---\n".join(self.replies())

    async def press(self, payload: str) -> str:
        await self.send(self.tap(payload))
        return "\n---\n".join(self.replies())
