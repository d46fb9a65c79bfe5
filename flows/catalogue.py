"""The practitioner's service catalogue and working hours, as the flows see them.

The values come from a file she edits (catalogue.toml); bot/catalogue_file.py loads it.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Intake(StrEnum):
    """How a format collects what the practitioner needs."""

    QUESTIONS = "questions"  # a list of questions over several messages
    ONE_QUESTION = "one_question"  # exactly one question
    CALL = "call"  # a wished date/time for a call
    SITUATION = "situation"  # emergency: the situation, alerted at once
    HANDOFF = "handoff"  # individual work agreed with the practitioner herself


@dataclass(frozen=True)
class Service:
    key: str
    names: dict[str, str]  # language -> name
    terms: dict[str, str]  # language -> short rules accepted before the first booking
    intake: Intake
    promise_min_days: float
    promise_max_days: float
    price: str = ""  # as the texts show it, e.g. "3 000 ₽"
    # What an invoice asks (bot/payments/); 0 = no invoice, the practitioner confirms by /paid.
    price_stars: int = 0  # Telegram Stars
    price_amount: int = 0  # card payments, in the currency's minor units (kopecks, cents)
    price_currency: str = ""  # ISO 4217, e.g. "RUB"

    def name(self, language: str) -> str:
        return self.names.get(language) or next(iter(self.names.values()))

    def terms_text(self, language: str) -> str:
        return self.terms.get(language) or next(iter(self.terms.values()), "")


@dataclass(frozen=True)
class Hours:
    """Working hours in the practitioner's time zone; weekdays 0 = Monday."""

    weekdays: frozenset[int] = frozenset(range(5))
    start: time = time(10, 0)
    end: time = time(19, 0)
    timezone: str = "Europe/Moscow"

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone))
        return local.weekday() in self.weekdays and self.start <= local.time() < self.end

    def next_opening(self, now: datetime) -> datetime:
        """The next moment the practitioner is at work (now itself if she is)."""
        if self.is_open(now):
            return now
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            opening = datetime.combine(day, self.start, tzinfo=zone)
            if day.weekday() in self.weekdays and opening > local:
                return opening
        return now  # no working days configured: nothing better to promise


@dataclass(frozen=True)
class Calls:
    """Bookable call slots, in the practitioner's time zone (catalogue.toml `[calls]`).

    Slots start at `times` on every working day, or, when `times` is empty, every `every_minutes`
    from `start` for as long as a whole call still ends by `end`.
    """

    minutes: int = 60  # length of one call
    times: tuple[time, ...] = ()
    every_minutes: int = 90
    weekdays: frozenset[int] = frozenset(range(5))  # 0 = Monday
    start: time = time(10, 0)
    end: time = time(19, 0)
    min_days: int = 7  # clients book 1–3 weeks ahead (seed: "за 1–3 недели")
    max_days: int = 21
    free_reschedule_hours: float = 24.0  # a move later than this before the call is not free
    grace_minutes: int = 15  # seed 002: no client 15 minutes after the start → counted as held
    offer: int = 6  # slot buttons shown at a time


@dataclass(frozen=True)
class Catalogue:
    services: tuple[Service, ...]
    hours: Hours = field(default_factory=Hours)
    calls: Calls = field(default_factory=Calls)
    # A flood: more than `flood_messages` inbound messages within `flood_minutes`.
    flood_messages: int = 12
    flood_minutes: float = 1.0
    offhours_notice_every_hours: float = 12.0

    @property
    def flood_messages_per_minute(self) -> int:
        """The older name of the limit (one-minute window); kept for readers of the old key."""
        return self.flood_messages

    def get(self, key: str | None) -> Service | None:
        return next((s for s in self.services if s.key == key), None)

    def by_index(self, index: int) -> Service | None:
        return self.services[index - 1] if 1 <= index <= len(self.services) else None

    def emergency(self) -> Service | None:
        return next((s for s in self.services if s.intake is Intake.SITUATION), None)
