"""The client card (/desk/clients/{id}): the whole history across channels, the requests with
their payments (handlers/dashboard/payment_view.py), the restriction state, and her actions on them.

Every action is a command line run through the practitioner shell (bot/practice.py), exactly as if
she had typed it in her Telegram chat: `/reply 12 text`, `/paid 12`, `/done 12 https://…`,
`/restrict 12 3d reason`, `/reschedule 12 03.12 15:00`. The shell's answer is shown as the flash.
"""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.practice import CommandInput
from bot.telegram.business_sender import client_windows
from flows.business import WINDOW, ChatFacts, Window, window
from flows.catalogue import Intake
from handlers.dashboard.auth import Flash, PageSession, checked_form
from handlers.dashboard.payment_view import payment_row, status_of
from handlers.dashboard.render import Words, page
from handlers.deps import PracticeDep
from handlers.limits import MAX_TEXT, RowId
from storage.dashboard import DashboardRepo
from storage.models import Client
from storage.models import Request as ServiceRequest

router = APIRouter(tags=["dashboard"], include_in_schema=False)

OPEN = ("submitted", "queued", "in_work")
ACTIONS = ("reply", "paid", "done", "restrict", "unrestrict", "reschedule")


def client_ref(client: Client, requests: list[ServiceRequest]) -> str | None:
    """How a command names this client unambiguously: the number of one of their requests
    (`/reply 12` reaches the client of request 12), else @username or phone; None if only a
    name is left, which another client may share."""
    open_ids = [r.id for r in requests if r.stage in OPEN]
    if open_ids or requests:
        return str((open_ids or [r.id for r in requests])[-1])
    if client.username:
        return f"@{client.username}"
    if client.phone:
        return f"+{client.phone}"
    return None


def business_window(chat: ChatFacts | None, now: datetime, words: Words) -> dict[str, Any] | None:
    """The 24-hour window of her Telegram Business chat with the client, for the card's chip."""
    if chat is None:
        return None
    state = window(chat, now)
    until = chat.last_client_at + WINDOW if state is Window.OPEN and chat.last_client_at else None
    return {"state": state.value, "until": words.when(until) if until else "", "bot_chat": chat.bot_chat is not None}


def one_line(value: Any, limit: int = 200) -> str:
    """A form field that goes into a command line: no newlines, no runaway length."""
    return " ".join(str(value or "").split())[:limit]


@router.get("/desk/clients/{client_id}", response_class=HTMLResponse)
async def card(request: Request, client_id: RowId, session: PageSession, practice: PracticeDep) -> Response:
    words = Words(practice)
    now = practice.clock()
    async with practice.uow() as uow:
        repo = DashboardRepo(uow.session, uow.practitioner_id)
        client = await repo.client(client_id)
        if client is None:
            raise HTTPException(status_code=404, detail="no such client")
        identities = await uow.clients.identities(client.id)
        restriction = await uow.clients.active_restriction(client.id, now)
        requests = await uow.requests.for_client(client.id)
        questions = await uow.requests.questions([r.id for r in requests])
        positions = {r.id: await uow.requests.position(r) for r in requests}
        history = await uow.messages.history(client.id)
        chat = (await client_windows(uow, [client.id], now)).get(client.id)  # her Telegram Business chat
        payments = await repo.payments_of_requests([r.id for r in requests])
    rows = [
        {
            "id": r.id,
            "service": words.service(r.service),
            "stage": r.stage,
            "stage_name": words.stage(r.stage),
            "open": r.stage in OPEN,
            "paid": r.payment_state == "paid",
            "payment_status": status_of(r.payment_state, payments.get(r.id, [])),
            "payments": [payment_row(p, words) for p in payments.get(r.id, [])],
            "emergency": r.is_emergency,
            "position": positions.get(r.id),
            "created": words.when(r.created_at),
            "deadline": words.when(r.deadline_at),
            "overdue": bool(r.deadline_at and r.done_at is None and r.deadline_at < now),
            "done": words.when(r.done_at),
            "link": r.result_link,
            "questions": questions.get(r.id, []),
            # A call can be moved; a reading or an emergency has no time to move.
            "is_call": (service := practice.catalogue.get(r.service)) is not None and service.intake is Intake.CALL,
        }
        for r in reversed(requests)  # newest first: what she acts on is at the top
    ]
    messages = [
        {
            "id": m.id,
            "incoming": m.direction == "in",
            "channel": m.channel,
            "kind": m.kind,
            "text": m.text,
            "media": m.media_ref,
            "when": words.when(m.created_at),
            "delivered": m.direction == "in" or m.delivered_at is not None,
        }
        for m in history
    ]
    return page(
        request,
        "dashboard/client.html",
        session,
        {
            "client": client,
            "identities": identities,
            "restriction": restriction,
            "restricted_until": words.when(restriction.until) if restriction else "",
            "requests": rows,
            "messages": messages,
            "ref": client_ref(client, requests),
            "business": business_window(chat, now, words),
            "nav": "board",
        },
    )


def command_text(
    action: str, ref: str | None, form: Any, request_ids: set[int], unpaid: frozenset[int] = frozenset()
) -> str:
    """The command line for a card action; a ValueError when the form does not make one. «Готово»
    on a request not paid yet needs her to tick that she means it (a slip of the mouse would tell
    the client their result is ready before they paid)."""
    if action in ("paid", "done", "reschedule"):
        try:
            number = int(str(form.get("request_id", "")))
        except ValueError as error:
            raise ValueError("dash-act-no-request") from error
        if number not in request_ids:
            raise ValueError("dash-act-no-request")
        if action == "paid":
            return f"/paid {number}"
        if action == "done":
            if number in unpaid and not form.get("unpaid_ok"):
                raise ValueError("dash-act-done-unpaid")
            return f"/done {number} {one_line(form.get('link'), 2000)}".rstrip()
        return f"/reschedule {number} {one_line(form.get('when'))}".rstrip()
    if ref is None:
        raise ValueError("dash-act-no-ref")
    if action == "reply":
        text = str(form.get("text") or "").strip()
        if len(text) > MAX_TEXT:  # refused, never cut: she sees the limit and nothing half-sent
            raise ValueError("dash-act-long-reply")
        if not text:
            raise ValueError("dash-act-empty-reply")
        return f"/reply {ref} {text}"
    if action == "restrict":
        parts = ("/restrict", ref, one_line(form.get("duration"), 40), one_line(form.get("reason")))
        return " ".join(part for part in parts if part)
    return f"/unrestrict {ref}"


@router.post("/desk/clients/{client_id}/act")
async def act(request: Request, client_id: RowId, session: PageSession, practice: PracticeDep) -> Response:
    form = await checked_form(request, session.csrf)
    action = str(form.get("action") or "")
    if action not in ACTIONS:
        raise HTTPException(status_code=400, detail="unknown action")
    async with practice.uow() as uow:
        client = await DashboardRepo(uow.session, uow.practitioner_id).client(client_id)
        if client is None:
            raise HTTPException(status_code=404, detail="no such client")
        requests = await uow.requests.for_client(client.id)
    back = RedirectResponse(f"/desk/clients/{client_id}#actions", status_code=303)
    try:
        unpaid = frozenset(r.id for r in requests if r.payment_state != "paid")
        text = command_text(action, client_ref(client, requests), form, {r.id for r in requests}, unpaid)
    except ValueError as problem:
        session.flash.append(Flash(Words(practice)(str(problem)), error=True))
        return back
    result = await practice.run(CommandInput(channel="web", address="page", text=text, trusted=True))
    session.flash.extend(Flash(reply.text, error=result.error) for reply in result.replies)
    return back
