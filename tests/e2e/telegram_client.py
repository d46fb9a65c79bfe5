"""A Telegram client as the Bot API would report it: updates in, the bot's sendMessage calls out.

Updates reach the app the way Telegram delivers them: POSTed to the webhook with the secret
header, or served by the Bot API double's getUpdates. Each step then runs the inbox worker
and the outbox relay once, so a test reads the replies deterministically.
"""

import itertools
from typing import Any, Protocol

import httpx
from fastapi import FastAPI

from tests.fakes.telegram_api import TelegramBotAPI

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DATE = 1_790_000_000
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)


class Delivery(Protocol):
    async def deliver(self, update: dict[str, Any]) -> None: ...


class WebhookDelivery:
    def __init__(self, http: httpx.AsyncClient, secret: str) -> None:
        self.http = http
        self.secret = secret

    async def deliver(self, update: dict[str, Any]) -> None:
        response = await self.http.post(
            "/webhook/telegram", json=update, headers={SECRET_HEADER: self.secret}
        )
        assert response.status_code == 200, response.text
        assert response.content == b""


class PollingDelivery:
    def __init__(self, api: TelegramBotAPI, app: FastAPI) -> None:
        self.api = api
        self.app = app

    async def deliver(self, update: dict[str, Any]) -> None:
        self.api.push(update)
        await self.app.state.telegram.poller.poll_once(timeout=0)


class TelegramUser:
    def __init__(
        self,
        app: FastAPI,
        api: TelegramBotAPI,
        delivery: Delivery,
        chat_id: int,
        first_name: str,
        last_name: str | None = None,
        language_code: str = "ru",
    ) -> None:
        self.app, self.api, self.delivery = app, api, delivery
        self.chat_id = chat_id
        self.user = {
            "id": chat_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if last_name:
            self.user["last_name"] = last_name
        self.name = first_name
        self.seen = 0

    # Updates

    def message(self, text: str | None = None, **content: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": next(_message_ids),
            "date": DATE,
            "chat": {"id": self.chat_id, "type": "private", "first_name": self.name},
            "from": self.user,
            **content,
        }
        if text is not None:
            body["text"] = text
        return {"update_id": self.api.next_update_id(), "message": body}

    def edit(
        self, original: dict[str, Any], text: str, edit_date: int = DATE + 60
    ) -> dict[str, Any]:
        body = {**original["message"], "text": text, "edit_date": edit_date}
        return {"update_id": self.api.next_update_id(), "edited_message": body}

    def tap(self, payload: str) -> dict[str, Any]:
        """A tap on the newest bot message's button carrying this payload."""
        shown = next(m for m in reversed(self.api.sent(self.chat_id)) if "reply_markup" in m)
        labels = [b for row in shown["reply_markup"]["inline_keyboard"] for b in row]
        assert any(b["callback_data"] == payload for b in labels), labels
        message = {
            "message_id": 900 + len(self.api.sent(self.chat_id)),
            "date": DATE,
            "chat": {"id": self.chat_id, "type": "private"},
            "from": {"id": 123456, "is_bot": True, "first_name": "priem"},
            "text": shown["text"],
            "reply_markup": shown["reply_markup"],
        }
        callback = {
            "id": f"cq{next(_callback_ids)}",
            "from": self.user,
            "chat_instance": "ci",
            "message": message,
            "data": payload,
        }
        return {"update_id": self.api.next_update_id(), "callback_query": callback}

    # Conversation

    async def send(self, update: dict[str, Any]) -> None:
        await self.delivery.deliver(update)
        await self.app.state.telegram.inbox.process_pending()
        await self.app.state.relay.drain()

    def replies(self) -> list[str]:
        """Texts the bot sent to this chat since the last call."""
        sent = self.api.sent(self.chat_id)
        new, self.seen = sent[self.seen :], len(sent)
        return [m["text"] for m in new]

    async def ask(self, text: str) -> str:
        await self.send(self.message(text))
        return "\n---\n".join(self.replies())

    async def press(self, payload: str) -> str:
        await self.send(self.tap(payload))
        return "\n---\n".join(self.replies())
