"""Loads catalogue.toml into the flows' Catalogue, with errors that name the bad entry."""

import tomllib
from datetime import time
from pathlib import Path

from flows.catalogue import Calls, Catalogue, Hours, Intake, Service


class CatalogueError(ValueError):
    pass


def _time(value: str, where: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise CatalogueError(f"{where}: expected HH:MM, got {value!r}") from error


def _whole(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
    return value


def _service(raw: dict, index: int) -> Service:
    where = f"[[service]] #{index}"
    try:
        key = str(raw["key"])
        low, high = raw.get("promise_days", [0, 0])
        return Service(
            key=key,
            names={str(k): str(v) for k, v in raw["name"].items()},
            terms={str(k): str(v) for k, v in raw.get("terms", {}).items()},
            intake=Intake(raw["intake"]),
            promise_min_days=float(low),
            promise_max_days=float(high),
            price=str(raw.get("price", "")),
            price_stars=_whole(raw.get("price_stars", 0), "price_stars"),
            price_amount=_whole(raw.get("price_amount", 0), "price_amount"),
            price_currency=str(raw.get("price_currency", "")).upper(),
        )
    except KeyError as error:
        raise CatalogueError(f"{where}: missing {error.args[0]!r}") from error
    except (ValueError, TypeError, AttributeError) as error:  # a wrong type: `name = "x"`, `promise_days = 3`
        raise CatalogueError(f"{where}: {error}") from error


def load_catalogue(path: Path, timezone: str) -> Catalogue:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(f"{path}: {error}") from error
    return parse_catalogue(text, timezone, str(path))


def parse_catalogue(text: str, timezone: str, where: str = "catalogue") -> Catalogue:
    """A catalogue.toml's text; also a practitioner's own catalogue stored on her row
    (`main.py practitioner add --catalogue`, bot/platform/tenants.py)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{where}: {error}") from error
    items = raw.get("service", [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CatalogueError(f"{where}: services are [[service]] tables")
    services = tuple(_service(item, i) for i, item in enumerate(items, start=1))
    if not services:
        raise CatalogueError(f"{where}: no [[service]] entries")
    if len({s.key for s in services}) != len(services):
        raise CatalogueError(f"{where}: service keys must be unique")
    hours_raw = raw.get("hours", {})
    try:
        weekdays = frozenset(int(d) - 1 for d in hours_raw.get("days", [1, 2, 3, 4, 5]))
    except (TypeError, ValueError, AttributeError) as error:
        raise CatalogueError(f"[hours] days: {error}") from error
    if not weekdays <= frozenset(range(7)):
        raise CatalogueError("[hours] days are 1 (Monday) … 7 (Sunday)")
    hours = Hours(
        weekdays=weekdays,
        start=_time(hours_raw.get("start", "10:00"), "[hours] start"),
        end=_time(hours_raw.get("end", "19:00"), "[hours] end"),
        timezone=timezone,
    )
    limits = raw.get("limits", {})
    try:
        offhours_every = float(limits.get("offhours_notice_every_hours", 12))
    except (TypeError, ValueError) as error:
        raise CatalogueError(f"[limits] offhours_notice_every_hours: {error}") from error
    return Catalogue(
        services=services,
        hours=hours,
        calls=_calls(raw.get("calls", {}), hours),
        **_flood(limits),
        offhours_notice_every_hours=offhours_every,
    )


def _flood(limits: dict) -> dict[str, float]:
    """`flood_messages` in `flood_minutes`; the older `flood_messages_per_minute` still works
    (a one-minute window). Both keys at once would be ambiguous: refused."""
    if "flood_messages_per_minute" in limits and "flood_messages" in limits:
        raise CatalogueError("[limits]: use flood_messages + flood_minutes, not flood_messages_per_minute too")
    try:
        if "flood_messages" in limits:
            messages, minutes = int(limits["flood_messages"]), float(limits.get("flood_minutes", 1))
        else:
            messages, minutes = int(limits.get("flood_messages_per_minute", 12)), 1.0
    except (TypeError, ValueError) as error:
        raise CatalogueError(f"[limits]: {error}") from error
    if messages < 1 or minutes <= 0:
        raise CatalogueError("[limits]: flood_messages must be at least 1 and flood_minutes above 0")
    return {"flood_messages": messages, "flood_minutes": minutes}


def _calls(raw: dict, hours: Hours) -> Calls:
    """`[calls]`; days and hours default to `[hours]`, everything else to flows' Calls()."""
    where = "[calls]"
    defaults = Calls()
    try:
        weekdays = (
            frozenset(int(d) - 1 for d in raw["days"]) if "days" in raw else hours.weekdays
        )
        calls = Calls(
            minutes=int(raw.get("minutes", defaults.minutes)),
            times=tuple(sorted(_time(t, f"{where} times") for t in raw.get("times", []))),
            every_minutes=int(raw.get("every_minutes", defaults.every_minutes)),
            weekdays=weekdays,
            start=_time(raw["start"], f"{where} start") if "start" in raw else hours.start,
            end=_time(raw["end"], f"{where} end") if "end" in raw else hours.end,
            min_days=int(raw.get("days_ahead", [defaults.min_days, defaults.max_days])[0]),
            max_days=int(raw.get("days_ahead", [defaults.min_days, defaults.max_days])[1]),
            free_reschedule_hours=float(raw.get("free_reschedule_hours", defaults.free_reschedule_hours)),
            grace_minutes=int(raw.get("no_show_grace_minutes", defaults.grace_minutes)),
            offer=int(raw.get("offer", defaults.offer)),
        )
    except (TypeError, ValueError, IndexError) as error:
        raise CatalogueError(f"{where}: {error}") from error
    if calls.minutes <= 0 or calls.every_minutes <= 0 or calls.offer <= 0:
        raise CatalogueError(f"{where}: minutes, every_minutes and offer must be positive")
    if not 0 <= calls.min_days <= calls.max_days:
        raise CatalogueError(f"{where}: days_ahead must be [min, max] with 0 <= min <= max")
    if not calls.weekdays <= frozenset(range(7)):
        raise CatalogueError(f"{where}: days are 1 (Monday) … 7 (Sunday)")
    return calls
