"""Her settings pages (/desk/settings…): working hours and call slots, a pause, the canned
replies, the service catalogue.

What she saves is one validated document per practitioner over catalogue.toml's defaults
(bot/overrides/); the desk and her command shell see it on their next message, on every worker.
A pause goes through her command shell like /pause and /resume (bot/commands/pause.py), so the
clients in the queue are told exactly as when she types it.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bot.commands import pause as pause_command
from bot.overrides.document import CANNED, LANGUAGES, PracticeDocument
from bot.practice import CommandInput, Practice
from handlers.dashboard import settings_forms as forms
from handlers.dashboard.auth import DeskSession, Flash, PageSession, checked_form
from handlers.dashboard.render import Words, page
from handlers.deps import PracticeDep
from storage.practice_settings import PracticeSettingsRepo
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
router = APIRouter(tags=["dashboard"], include_in_schema=False)

NOTE_LIMIT = 200


def _document(practice: Practice, session: DeskSession) -> PracticeDocument:
    return practice.overrides.current(session.practitioner_id).document


def _render(
    request: Request, name: str, session: DeskSession, context: dict[str, Any], status_code: int = 200
) -> Response:
    weekdays = [(day, Words(request.app.state.practice)(f"dash-weekday-{day - 1}")) for day in range(1, 8)]
    return page(
        request,
        f"dashboard/settings/{name}.html",
        session,
        {"nav": "settings", "section": name, "weekdays": weekdays, **context},
        status_code=status_code,
    )


async def _save(
    practice: Practice, session: DeskSession, change: Callable[[PracticeDocument], PracticeDocument]
) -> None:
    """Read, change and store her document in one transaction (the row locked meanwhile), then
    let this worker's cache see it at once; the others see the new version on their next read."""
    for attempt in (1, 2):
        try:
            async with UnitOfWork(practice.sessions, session.practitioner_id) as uow:
                repo = PracticeSettingsRepo(uow.session, uow.practitioner_id)
                _, raw = await repo.load(for_update=True)
                try:
                    document = PracticeDocument.model_validate(raw)
                except ValidationError:
                    document = PracticeDocument()  # an unreadable old row: this save replaces it
                changed = PracticeDocument.model_validate(change(document).stored())
                await repo.save(changed.stored(), practice.clock())
                await uow.commit()
                await practice.overrides.refresh(uow.session, uow.practitioner_id)
                return
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("settings: a first save raced another; saving again over it")


def _saved(session: DeskSession, practice: Practice, anchor: str) -> Response:
    session.flash.append(Flash(Words(practice)("set-saved")))
    return RedirectResponse(anchor, status_code=303)


# Working hours and call slots


def _hours_page(
    request: Request,
    session: DeskSession,
    practice: Practice,
    hours: forms.Form | None = None,
    calls: forms.Form | None = None,
) -> Response:
    document = _document(practice, session)
    catalogue = practice.catalogue
    hours = hours or forms.Form(forms.hours_values(catalogue.hours))
    calls = calls or forms.Form(forms.calls_values(catalogue.calls))
    status = 422 if hours.errors or calls.errors else 200
    return _render(
        request,
        "hours",
        session,
        {
            "hours": hours,
            "calls": calls,
            "own_hours": document.hours is not None,
            "own_calls": document.calls is not None,
            "timezone": practice.timezone,
        },
        status,
    )


@router.get("/desk/settings", response_class=HTMLResponse)
async def hours_page(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    return _hours_page(request, session, practice)


@router.post("/desk/settings/hours")
async def save_hours(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    form = await checked_form(request, session.csrf)
    if form.get("reset"):
        await _save(practice, session, lambda d: d.model_copy(update={"hours": None}))
        return _saved(session, practice, "/desk/settings#hours")
    hours, errors = forms.hours_doc(form, Words(practice))
    if hours is None:
        return _hours_page(request, session, practice, hours=forms.Form(forms.typed(form, forms.HOURS_FIELDS), errors))
    await _save(practice, session, lambda d: d.model_copy(update={"hours": hours}))
    return _saved(session, practice, "/desk/settings#hours")


@router.post("/desk/settings/calls")
async def save_calls(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    form = await checked_form(request, session.csrf)
    if form.get("reset"):
        await _save(practice, session, lambda d: d.model_copy(update={"calls": None}))
        return _saved(session, practice, "/desk/settings#calls")
    calls, errors = forms.calls_doc(form, Words(practice))
    if calls is None:
        return _hours_page(request, session, practice, calls=forms.Form(forms.typed(form, forms.CALLS_FIELDS), errors))
    await _save(practice, session, lambda d: d.model_copy(update={"calls": calls}))
    return _saved(session, practice, "/desk/settings#calls")


# A pause


def _local_input(moment: datetime | None, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


async def _pause_page(
    request: Request, session: DeskSession, practice: Practice, form: forms.Form | None = None
) -> Response:
    words = Words(practice)
    async with practice.uow() as uow:
        active = await uow.pauses.active(practice.clock())
    context = {
        "active": active,
        "since": words.when(active.starts_at) if active else "",
        "until": words.when(active.until) if active and active.until else "",
        "pause": form or forms.Form({"until": "", "note": ""}),
        "timezone": practice.timezone,
        "now_input": _local_input(practice.clock(), practice.timezone),
    }
    return _render(request, "pause", session, context, 422 if form and form.errors else 200)


@router.get("/desk/settings/pause", response_class=HTMLResponse)
async def pause_page(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    return await _pause_page(request, session, practice)


@router.post("/desk/settings/pause")
async def pause_action(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    form = await checked_form(request, session.csrf)
    words = Words(practice)
    action = form.get("action")
    if action == "end":
        result = await practice.run(CommandInput(channel="web", address="page", text="/resume", trusted=True))
    elif action == "start":
        typed = {"until": str(form.get("until") or "").strip(), "note": " ".join(str(form.get("note") or "").split())}
        errors: forms.Errors = {}
        until: datetime | None = None
        if typed["until"]:
            try:
                until = datetime.fromisoformat(typed["until"]).replace(tzinfo=ZoneInfo(practice.timezone))
            except ValueError:
                errors["until"] = words("set-err-when")
        if len(typed["note"]) > NOTE_LIMIT:
            errors["note"] = words("set-err-too-long", max_length=NOTE_LIMIT)
        if errors:
            return await _pause_page(request, session, practice, forms.Form(typed, errors))
        note = typed["note"]
        # The log shows what she would have typed; the decision gets the values themselves.
        logged = " ".join(part for part in ("/pause", f"until {until:%d.%m.%Y %H:%M}" if until else "", note) if part)
        result = await practice.run(
            CommandInput(channel="web", address="page", text=logged, trusted=True),
            decision=lambda env: pause_command.start(env, until, note),
        )
    else:
        raise HTTPException(status_code=400, detail="unknown action")
    session.flash.extend(Flash(reply.text, error=result.error) for reply in result.replies)
    return RedirectResponse("/desk/settings/pause", status_code=303)


# Canned replies


def _texts_page(request: Request, session: DeskSession, practice: Practice, form: forms.Form | None = None) -> Response:
    own = _document(practice, session).texts
    defaults = practice.overrides.base(practice.practitioner_id).texts
    rows = [
        {
            "id": text_id,
            "allowed": ", ".join("{" + name + "}" for name in sorted(CANNED[text_id][0])),
            "fields": [
                {
                    "name": forms.text_field(text_id, language),
                    "language": language,
                    "default": defaults.lookup(text_id, language),
                }
                for language in LANGUAGES
            ],
        }
        for text_id in CANNED
    ]
    form = form or forms.Form(forms.texts_values(own))
    return _render(request, "texts", session, {"rows": rows, "form": form}, 422 if form.errors else 200)


@router.get("/desk/settings/texts", response_class=HTMLResponse)
async def texts_page(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    return _texts_page(request, session, practice)


@router.post("/desk/settings/texts")
async def save_texts(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    form = await checked_form(request, session.csrf)
    texts, values, errors = forms.texts_checked(form, Words(practice))
    if texts is None:
        return _texts_page(request, session, practice, forms.Form(values, errors))
    await _save(practice, session, lambda d: d.model_copy(update={"texts": texts}))
    return _saved(session, practice, "/desk/settings/texts")


# The service catalogue


def _services_page(
    request: Request, session: DeskSession, practice: Practice, failed: tuple[str, forms.Form] | None = None
) -> Response:
    own = _document(practice, session).services
    services = [
        {
            "key": service.key,
            "name": service.name(practice.language),
            "intake": service.intake.value,
            "own": service.key in own,
            "form": failed[1] if failed and failed[0] == service.key else forms.Form(forms.service_values(service)),
        }
        for service in practice.catalogue.services
    ]
    return _render(request, "services", session, {"services": services}, 422 if failed else 200)


@router.get("/desk/settings/services", response_class=HTMLResponse)
async def services_page(request: Request, session: PageSession, practice: PracticeDep) -> Response:
    return _services_page(request, session, practice)


@router.post("/desk/settings/services/{key}")
async def save_service(request: Request, key: str, session: PageSession, practice: PracticeDep) -> Response:
    form = await checked_form(request, session.csrf)
    if practice.overrides.base(practice.practitioner_id).catalogue.get(key) is None:
        raise HTTPException(status_code=404, detail="no such service")  # the file decides which exist
    anchor = f"/desk/settings/services#service-{key}"

    def without(document: PracticeDocument) -> PracticeDocument:
        return document.model_copy(update={"services": {k: v for k, v in document.services.items() if k != key}})

    if form.get("reset"):
        await _save(practice, session, without)
        return _saved(session, practice, anchor)
    service, errors = forms.service_form_doc(form, Words(practice))
    if service is None:
        return _services_page(
            request, session, practice, (key, forms.Form(forms.typed(form, forms.SERVICE_FIELDS), errors))
        )
    await _save(practice, session, lambda d: d.model_copy(update={"services": {**d.services, key: service}}))
    return _saved(session, practice, anchor)
