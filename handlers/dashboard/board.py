"""The live queue board (/desk) and its JSON API, moved here from handlers/desk_page.py.

The page polls /desk/api/state every few seconds (web/static/desk.js): a new emergency shows up
without a reload. Actions go through the practitioner's command shell, like her Telegram chat.
"""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bot.board import desk_state
from bot.practice import CommandInput
from bot.telegram.business_sender import window_states
from handlers.dashboard.auth import ApiPostSession, ApiSession, PageSession
from handlers.dashboard.payment_view import payment_json, status_of
from handlers.dashboard.render import page
from handlers.deps import DeskDep, PracticeDep
from handlers.limits import MAX_TEXT
from storage.dashboard import DashboardRepo

router = APIRouter(tags=["practitioner"])

# The words desk.js draws with: from the catalogs, handed over in the page as JSON.
JS_WORDS = (
    "alert-emergency alert-link_problem alert-human alert-flood alert-restricted channel-telegram channel-whatsapp "
    "channel-web less-minute minutes hours days just-now ago left-hours left-minutes overdue from-payment "
    "request paid unpaid questions waits emergencies no-alerts queue-empty all-delivered undelivered-waiting_window "
    "undelivered-failed undelivered-uncertain undelivered-undelivered to-you updated offline open-card "
    "pay-unpaid pay-held pay-invoiced pay-stars pay-card pay-stripe pay-manual pay-refunded"
    " alert-forget"
    " channel-tg_business window-open window-closed window-paused window-off"
    " alert-deadline12 alert-deadline2 alert-breach alert-noshow alert-digest"
).split()


@router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
async def desk_page(request: Request, session: PageSession) -> HTMLResponse:
    practice = request.app.state.practice
    # Raw templates ("{n} мин"): desk.js fills the placeholders itself.
    labels = {key: practice.texts.lookup(f"dash-js-{key}", practice.language) for key in JS_WORDS}
    # `</` cannot end the script block early: every `<` in the JSON is escaped.
    labels_json = json.dumps(labels, ensure_ascii=False).replace("<", "\\u003c")
    return page(request, "dashboard/board.html", session, {"labels_json": labels_json, "nav": "board"})


@router.get("/desk/api/state", responses={401: {"description": "not logged in (/login)"}})
async def state(desk: DeskDep, session: ApiSession) -> dict[str, Any]:
    async with desk.uow() as uow:
        board = await desk_state(uow, desk.catalogue, desk.texts, desk.clock())
        repo = DashboardRepo(uow.session, uow.practitioner_id)
        of_request = await repo.clients_of_requests([row["request_id"] for row in board["queue"]])
        of_alert = await repo.clients_of_alerts([row["id"] for row in board["alerts"]])
        payments = await repo.payments_of_requests([row["request_id"] for row in board["queue"]])
        windows = await window_states(uow, set(of_request.values()), desk.clock())  # Telegram Business clients
    for row in board["queue"]:
        row["client_id"] = of_request.get(row["request_id"])
        mine = payments.get(row["request_id"], [])
        row["payment_status"] = status_of(row["payment"], mine)
        row["payments"] = [payment_json(p) for p in mine]
        row["window"] = windows.get(row["client_id"])
    for row in board["alerts"]:
        row["client_id"] = of_alert.get(row["id"])
    return board


class CommandIn(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class CommandReplyOut(BaseModel):
    text: str
    buttons: list[dict[str, str]] = []


class CommandOut(BaseModel):
    error: bool
    replies: list[CommandReplyOut]


@router.post(
    "/desk/api/command",
    responses={401: {"description": "not logged in (/login)"}, 403: {"description": "missing or wrong X-CSRF-Token"}},
)
async def command(body: CommandIn, practice: PracticeDep, session: ApiPostSession) -> CommandOut:
    """Her commands from the page: the same shell and answers as in her Telegram chat."""
    result = await practice.run(CommandInput(channel="web", address="page", text=body.text, trusted=True))
    return CommandOut(
        error=result.error,
        replies=[CommandReplyOut(text=r.text, buttons=list(r.buttons)) for r in result.replies],
    )
