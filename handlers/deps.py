"""FastAPI dependencies: the wired objects live on app.state, built once in main.build().

On the dashboard (/desk…) the desk and the shell are those of the practitioner the session logs
in (bot/platform/tenants.py): every page, API call and command of hers is scoped to her data only.
"""

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from bot.desk import Desk
from bot.platform.tenants import Tenant
from bot.practice import Practice


async def _dashboard_tenant(request: Request) -> Tenant | None:
    if not request.url.path.startswith("/desk"):
        return None
    from handlers.dashboard.auth import current  # the dashboard builds on these dependencies

    session = await current(request)
    platform = getattr(request.app.state, "platform", None)
    if session is None or platform is None or session.practitioner_id == platform.default_id:
        return None  # no session: the route's own login check refuses the request
    tenant = await platform.tenant(session.practitioner_id)
    if tenant is None:  # her row is gone: never fall back to #1's data
        raise HTTPException(status_code=403, detail="no such practitioner")
    return tenant


async def get_desk(request: Request) -> Desk:
    tenant = await _dashboard_tenant(request)
    return tenant.desk if tenant is not None else request.app.state.desk


async def get_practice(request: Request) -> Practice:
    tenant = await _dashboard_tenant(request)
    return tenant.practice if tenant is not None else request.app.state.practice


async def get_templates(request: Request) -> Jinja2Templates:
    return request.app.state.templates


DeskDep = Annotated[Desk, Depends(get_desk)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
PracticeDep = Annotated[Practice, Depends(get_practice)]
