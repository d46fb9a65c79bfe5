"""Errors a person reads: an HTML page in her language with a way back, wherever a browser asked
for a page. APIs (JSON routes, webhooks) keep their JSON answers."""

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from handlers.dashboard.render import Words

# What a failed page says, by status; a detail a route raises may have a sentence of its own.
MESSAGES = {404: "dash-error-404", 403: "dash-error-403", 405: "dash-error-404"}
DETAILS = {"no such client": "dash-error-no-client"}
MACHINE_PATHS = ("/desk/api/", "/chat/api/", "/webhook/", "/platform/api/")


def wants_page(request: Request) -> bool:
    path = request.url.path
    return "text/html" in request.headers.get("accept", "") and not path.startswith(MACHINE_PATHS)


async def page_or_json(request: Request, error: HTTPException) -> Response:
    practice = getattr(request.app.state, "practice", None)
    if not wants_page(request) or practice is None or error.status_code < 400 or error.status_code == 401:
        return await http_exception_handler(request, error)
    words = Words(practice)
    text_id = DETAILS.get(str(error.detail)) or MESSAGES.get(error.status_code, "dash-error-other")
    back = "/desk" if request.url.path.startswith(("/desk", "/platform", "/login")) else "/"
    return request.app.state.templates.TemplateResponse(
        request,
        "dashboard/error.html",
        {
            "t": words,
            "lang": words.language,
            "csrf": "",
            "flash": [],
            "logged_in": False,
            "message": words(text_id, status=error.status_code),
            "back": back,
        },
        status_code=error.status_code,
        headers=getattr(error, "headers", None),
    )
