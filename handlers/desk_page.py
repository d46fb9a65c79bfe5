"""The practitioner's minimal local page: the queue and the alerts (the dashboard grows from it)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot.board import desk_state
from handlers.deps import DeskDep, TemplatesDep

router = APIRouter(tags=["practitioner"])


@router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
async def desk_page(request: Request, templates: TemplatesDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "desk.html")


@router.get("/desk/api/state")
async def state(desk: DeskDep) -> dict[str, Any]:
    async with desk.uow() as uow:
        return await desk_state(uow, desk.catalogue, desk.texts, desk.clock())
