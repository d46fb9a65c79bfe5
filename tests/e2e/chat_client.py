"""A client of the local web chat, speaking its JSON API the way chat.js does."""

import itertools
import uuid

import httpx
from fastapi import FastAPI

_counter = itertools.count(1)


class ChatClient:
    def __init__(self, http: httpx.AsyncClient, app: FastAPI, name: str) -> None:
        self.http = http
        self.app = app
        self.name = name
        self.key = uuid.uuid4().hex
        self.seen = 0

    async def say(self, text: str, payload: str | None = None, message_id: str | None = None) -> httpx.Response:
        response = await self.http.post(
            "/chat/api/messages",
            json={
                "client_key": self.key,
                "name": self.name,
                "text": text,
                "payload": payload,
                "message_id": message_id or f"web-{next(_counter)}-{uuid.uuid4().hex[:8]}",
            },
        )
        assert response.status_code == 200, response.text
        await self.app.state.relay.drain()
        return response

    async def replies(self) -> list[dict]:
        """Bot messages delivered since the last call."""
        response = await self.http.get("/chat/api/messages", params={"client_key": self.key, "after": self.seen})
        assert response.status_code == 200
        messages = response.json()["messages"]
        if messages:
            self.seen = messages[-1]["id"]
        return [m for m in messages if m["direction"] == "out"]

    async def ask(self, text: str, payload: str | None = None) -> str:
        await self.say(text, payload)
        return "\n---\n".join(m["text"] for m in await self.replies())
