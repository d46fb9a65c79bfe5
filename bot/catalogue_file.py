"""Loads catalogue.toml into the flows' Catalogue, with errors that name the bad entry."""

import tomllib
from datetime import time
from pathlib import Path

from flows.catalogue import Catalogue, Hours, Intake, Service


class CatalogueError(ValueError):
    pass


def _time(value: str, where: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError) as error:
        raise CatalogueError(f"{where}: expected HH:MM, got {value!r}") from error


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
        )
    except KeyError as error:
        raise CatalogueError(f"{where}: missing {error.args[0]!r}") from error
    except ValueError as error:
        raise CatalogueError(f"{where}: {error}") from error


def load_catalogue(path: Path, timezone: str) -> Catalogue:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise CatalogueError(f"{path}: {error}") from error
    services = tuple(_service(item, i) for i, item in enumerate(raw.get("service", []), start=1))
    if not services:
        raise CatalogueError(f"{path}: no [[service]] entries")
    if len({s.key for s in services}) != len(services):
        raise CatalogueError(f"{path}: service keys must be unique")
    hours_raw = raw.get("hours", {})
    hours = Hours(
        weekdays=frozenset(int(d) - 1 for d in hours_raw.get("days", [1, 2, 3, 4, 5])),
        start=_time(hours_raw.get("start", "10:00"), "[hours] start"),
        end=_time(hours_raw.get("end", "19:00"), "[hours] end"),
        timezone=timezone,
    )
    limits = raw.get("limits", {})
    return Catalogue(
        services=services,
        hours=hours,
        flood_messages_per_minute=int(limits.get("flood_messages_per_minute", 12)),
        offhours_notice_every_hours=float(limits.get("offhours_notice_every_hours", 12)),
    )
