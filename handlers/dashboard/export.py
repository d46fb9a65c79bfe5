"""GET /desk/clients/{id}/export.json: everything kept about one client, for her (or for the client,
who asked), behind the dashboard login like every /desk page. `/export CLIENT` answers with this link."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from handlers.dashboard.auth import PageSession
from handlers.deps import PracticeDep
from handlers.limits import RowId

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get("/desk/clients/{client_id}/export.json")
async def export(client_id: RowId, session: PageSession, practice: PracticeDep) -> JSONResponse:
    async with practice.uow() as uow:
        found = await uow.privacy.export(client_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such client")
    return JSONResponse(
        {"exported_at": practice.clock().isoformat(), **found},
        headers={
            "Content-Disposition": f'attachment; filename="client-{client_id}.json"',
            "Cache-Control": "no-store",  # personal data: never kept by a browser or a proxy
        },
    )
