"""The local web chat: talk to the bot as a client without any tokens."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, StringConstraints

from flows.model import Channel, Inbound
from handlers.deps import DeskDep, TemplatesDep
from handlers.limits import MAX_ID, MAX_TEXT  # a runaway paste never fills the disk; ids are BIGINT

router = APIRouter(tags=["web chat"])

Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class ChatMessageIn(BaseModel):
    client_key: Key
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]  # stripped by the desk
    text: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    message_id: Key
    payload: Annotated[str | None, Field(max_length=64)] = None


class ChatButton(BaseModel):
    label: str
    payload: str


class ChatMessageOut(BaseModel):
    id: int
    direction: str
    text: str
    kind: str
    created_at: str
    buttons: list[ChatButton] = []


class ChatMessages(BaseModel):
    messages: list[ChatMessageOut]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def chat_page(request: Request, templates: TemplatesDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "chat.html")


@router.post("/chat/api/messages")
async def post_message(
    body: ChatMessageIn,
    desk: DeskDep,
    accept_language: Annotated[str | None, Header()] = None,
) -> dict[str, bool]:
    hint = (accept_language or "").split(",")[0].split(";")[0].strip() or None
    inbound = Inbound(
        channel=Channel.WEB,
        # The browser makes message ids up: unique per client, not across clients, so another
        # client's id must not pass for a repeat of this one's message (which would drop it).
        external_id=f"{body.client_key}:{body.message_id}",
        sender_ref=body.client_key,
        sender_name=body.name,
        text=body.text,
        received_at=desk.clock(),
        payload=body.payload,
        language_hint=hint,
    )
    handled = await desk.handle(inbound)
    return {"ok": True, "duplicate": handled.duplicate}


@router.get("/chat/api/messages")
async def get_messages(
    desk: DeskDep,
    client_key: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ChatMessages:
    async with desk.uow() as uow:
        client = await uow.clients.find_by_identity(Channel.WEB, client_key)
        rows = await uow.messages.visible(client.id, after) if client else []
    return ChatMessages(
        messages=[
            ChatMessageOut(
                id=m.id,
                direction=m.direction,
                text=m.text,
                kind=m.kind,
                created_at=m.created_at.isoformat(),
                buttons=[ChatButton(**b) for b in m.buttons or []],
            )
            for m in rows
        ]
    )
