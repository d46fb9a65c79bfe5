"""Builders shared by the tests: a controllable clock, the real catalogue, inbound messages."""

import functools
import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.catalogue_file import load_catalogue
from bot.texts import Texts
from flows.calls import bookable
from flows.catalogue import Catalogue
from flows.context import Context
from flows.language.understanding import Understander, trained
from flows.model import Channel, ClientView, Inbound, Kind

ROOT = Path(__file__).resolve().parent.parent
# A Tuesday, 12:00 in Moscow: inside the default working hours.
WORKING_TIME = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


class FakeClock:
    def __init__(self, now: datetime = WORKING_TIME) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def catalogue() -> Catalogue:
    return load_catalogue(ROOT / "catalogue.toml", "Europe/Moscow")


def context(now: datetime = WORKING_TIME, **queue_lengths: int) -> Context:
    """The practice at `now`, every call slot of the booking window still free."""
    shop = catalogue()
    free_slots = tuple(bookable(shop.calls, shop.hours.timezone, now))
    return Context(
        now=now, catalogue=shop, understander=understander(), queue_lengths=dict(queue_lengths), free_slots=free_slots
    )


@functools.cache
def understander() -> Understander:
    """The service's understander, as main.py builds it: every example, the bot's typed labels."""
    return trained().with_labels(Texts(ROOT / "locales").typed_labels())


def inbound(
    text: str = "",
    *,
    payload: str | None = None,
    kind: Kind = Kind.TEXT,
    now: datetime = WORKING_TIME,
    channel: Channel = Channel.WEB,
) -> Inbound:
    return Inbound(
        channel=channel,
        external_id=f"m{next(_ids)}",
        sender_ref="client-1",
        sender_name="Анна",
        text=text,
        received_at=now,
        kind=kind,
        payload=payload,
    )


def client(**changes: object) -> ClientView:
    base = ClientView(id=1, name="Анна", language="ru")
    return replace(base, **changes)  # type: ignore[arg-type]
