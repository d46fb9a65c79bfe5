"""Her settings forms: what a posted form says, checked by the document's pydantic models, and
what the page shows back (the values in force, or the ones she typed with each field's error).

A form whose values break a rule is never saved: the page comes back (422) with her input kept
and a message under each field that needs fixing, in her language.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from bot.overrides.document import CANNED, LANGUAGES, CallsDoc, HoursDoc, ServiceDoc, TextDoc, checked_text
from bot.overrides.effective import service_doc
from flows.catalogue import Calls, Hours, Service

HOURS_FIELDS = ("days", "start", "end")
CALLS_FIELDS = (
    "days",
    "times",
    "every_minutes",
    "minutes",
    "days_ahead_min",
    "days_ahead_max",
    "free_reschedule_hours",
    "offer",
)
SERVICE_FIELDS = tuple(ServiceDoc.model_fields)
PRICE_FIELDS = ("price_stars", "price_card")

# pydantic's own error types, as the catalog texts she reads (the params come from its ctx).
BUILTIN_ERRORS = {
    "missing": "set-err-required",
    "string_too_short": "set-err-required",
    "string_too_long": "set-err-too-long",
    "too_long": "set-err-too-many",
    "greater_than_equal": "set-err-min",
    "less_than_equal": "set-err-max",
    "int_parsing": "set-err-number",
    "int_from_float": "set-err-whole",
    "float_parsing": "set-err-number",
    "decimal_parsing": "set-err-number",
    "decimal_max_places": "set-err-decimals",
}

Errors = dict[str, str]  # field → the message shown under it
M = TypeVar("M", bound=BaseModel)
Say = Callable[..., str]  # handlers/dashboard/render.Words: a catalog id and params → her language


@dataclass
class Form:
    """A form as the page draws it: the values, and the errors when a post was refused."""

    values: dict[str, Any]
    errors: Errors = field(default_factory=dict)


def messages(error: ValidationError, say: Say) -> Errors:
    found: Errors = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "_"
        if name in found:
            continue  # one message per field: the first thing to fix
        ctx = {k: _plain(v) for k, v in (item.get("ctx") or {}).items()}
        kind = item["type"]
        text_id = kind if kind.startswith("set-err-") else BUILTIN_ERRORS.get(kind, "set-err-invalid")
        found[name] = say(text_id, **ctx)
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _number(value: Any) -> Any:
    """«3 000», «3000,50» as typed on a phone; an empty box is left for the model to refuse."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\s+", "", value).replace(",", ".")


def validated(model: type[M], raw: dict[str, Any], say: Say) -> tuple[M | None, Errors]:
    try:
        return model.model_validate(raw), {}
    except ValidationError as error:
        return None, messages(error, say)


# Working hours


def hours_values(hours: Hours) -> dict[str, Any]:
    return {
        "days": [day + 1 for day in sorted(hours.weekdays)],
        "start": hours.start.strftime("%H:%M"),
        "end": hours.end.strftime("%H:%M"),
    }


def hours_raw(form: Any) -> dict[str, Any]:
    return {"days": _days(form), "start": form.get("start") or "", "end": form.get("end") or ""}


def _days(form: Any) -> list[Any]:
    return [value for value in form.getlist("days") if str(value).strip()]


# Call slots


def calls_values(calls: Calls) -> dict[str, Any]:
    return {
        "days": [day + 1 for day in sorted(calls.weekdays)],
        "times": ", ".join(t.strftime("%H:%M") for t in calls.times),
        "every_minutes": calls.every_minutes,
        "minutes": calls.minutes,
        "days_ahead_min": calls.min_days,
        "days_ahead_max": calls.max_days,
        "free_reschedule_hours": _plain(calls.free_reschedule_hours),
        "offer": calls.offer,
    }


def calls_raw(form: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {name: _number(form.get(name) or "") for name in CALLS_FIELDS[2:]}
    raw["days"] = _days(form)
    raw["times"] = [t for t in re.split(r"[,;\s]+", str(form.get("times") or "")) if t]
    return raw


def typed(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """What she typed, to show back on a refused form."""
    values: dict[str, Any] = {name: str(form.get(name) or "") for name in names}
    if "days" in names:
        values["days"] = [int(day) for day in _days(form) if str(day).isdigit()]
    return values


# Services


def service_values(service: Service) -> dict[str, Any]:
    values = service_doc(service).model_dump()
    for name in ("wait_min_days", "wait_max_days"):
        values[name] = _plain(values[name])
    values["price_card"] = format(values["price_card"].normalize(), "f")  # 3000, 3000.5: as she would type it
    return values


def service_raw(form: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {name: form.get(name) or "" for name in SERVICE_FIELDS}
    for name in ("wait_min_days", "wait_max_days", *PRICE_FIELDS):
        raw[name] = _number(raw[name])
    for name in PRICE_FIELDS:
        raw[name] = raw[name] or "0"  # an empty price box: no invoice of that kind
    return raw


# Canned texts


def text_field(text_id: str, language: str) -> str:
    return f"{text_id}:{language}"


def texts_values(own: dict[str, TextDoc]) -> dict[str, Any]:
    return {
        text_field(text_id, language): getattr(own.get(text_id, TextDoc()), language)
        for text_id in CANNED
        for language in LANGUAGES
    }


def texts_checked(form: Any, say: Say) -> tuple[dict[str, TextDoc] | None, dict[str, Any], Errors]:
    """Her wording of each canned text, checked field by field: (texts, values, errors)."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    for text_id in CANNED:
        for language in LANGUAGES:
            name = text_field(text_id, language)
            text = str(form.get(name) or "").replace("\r\n", "\n").strip()
            values[name] = text
            try:
                checked_text(text_id, language, text)
            except PydanticCustomError as error:
                errors[name] = say(error.type, **(error.context or {}))
            if len(text) > 2000:
                errors.setdefault(name, say("set-err-too-long", max_length=2000))
    if errors:
        return None, values, errors
    own = {
        text_id: TextDoc(**{language: values[text_field(text_id, language)] for language in LANGUAGES})
        for text_id in CANNED
    }
    return {k: v for k, v in own.items() if v.ru or v.en}, values, {}


def hours_doc(form: Any, say: Say) -> tuple[HoursDoc | None, Errors]:
    return validated(HoursDoc, hours_raw(form), say)


def calls_doc(form: Any, say: Say) -> tuple[CallsDoc | None, Errors]:
    return validated(CallsDoc, calls_raw(form), say)


def service_form_doc(form: Any, say: Say) -> tuple[ServiceDoc | None, Errors]:
    return validated(ServiceDoc, service_raw(form), say)
