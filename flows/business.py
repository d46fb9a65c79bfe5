"""Telegram Business: the bot answering inside the practitioner's own account.

Pure: what a message in one of her chats is to the desk, where a message to a client of such a
chat may go right now, and her Telegram opening hours as working hours. The shell is
bot/telegram/business.py; the facts come from storage/business.py.

Telegram lets a business bot write in a chat only within 24 hours of the client's last message
there. Inside that window the conversation runs in her chat; outside it a message goes through
the client's own chat with the bot once they opened it (the deep link offered at the end of
intake), and otherwise waits for the client to write again: a closed window is never an error.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.catalogue import Hours
from flows.effects import Say
from flows.model import Priority
from flows.practice.parse import parse

WINDOW = timedelta(hours=24)
WEEK_MINUTES = 7 * 24 * 60


def address(owner_id: int, chat_id: int) -> str:
    """A business client's address: her account and the client's chat in it. Her account is part
    of it because two of her accounts may both talk to the same person (the chat id is theirs)."""
    return f"{owner_id}:{chat_id}"


def chat_of(business_address: str) -> int:
    return int(business_address.rsplit(":", 1)[1])


def owner_of(business_address: str) -> int:
    return int(business_address.split(":", 1)[0])


# --- a message in one of her chats ---------------------------------------------------------


class Seen(StrEnum):
    CLIENT = "client"  # a client wrote: the flows answer, as in the bot chat
    HERS = "hers"  # she wrote herself: the bot steps back in this chat
    QUIET = "quiet"  # the client wrote while she has the chat: counts for the window, unanswered
    IGNORED = "ignored"  # not for the flows at all (see `seen`)


def is_command(text: str) -> bool:
    """One of her commands (or /start, /help): never run from a chat the client reads."""
    command = parse(text)
    return command is not None and command.known


def seen(
    *,
    connected: bool,
    owner_id: int,
    sender_id: int | None,
    private: bool,
    echo: bool,
    offline: bool,
    text: str,
    paused: bool,
) -> Seen:
    """What a business message is. Ignored: an unknown or switched-off connection (processing
    stops the moment she disconnects), a chat that is not one person's, the bot's own messages
    coming back (`sender_business_bot`), Telegram's away and greeting messages
    (`is_from_offline`: sent in her name, not typed by her), and commands, whoever typed them."""
    if not connected or not private or sender_id is None or echo or offline or is_command(text):
        return Seen.IGNORED
    if sender_id == owner_id:
        return Seen.HERS
    return Seen.QUIET if paused else Seen.CLIENT


def pause_end(now: datetime, hours: float) -> datetime | None:
    """How long her own message keeps the bot out of the chat; None: until /resume."""
    return now + timedelta(hours=hours) if hours > 0 else None


def is_paused(paused_at: datetime | None, paused_until: datetime | None, now: datetime) -> bool:
    return paused_at is not None and (paused_until is None or paused_until > now)


# --- where a message to a business client goes -----------------------------------------------


class Way(StrEnum):
    BUSINESS = "business"  # in her chat, with business_connection_id
    BOT_CHAT = "bot_chat"  # in the client's own chat with the bot
    WAIT = "wait"  # nowhere yet: waits for the client to write (or to open the bot chat)


class Window(StrEnum):
    """What the dashboard shows for a business client."""

    OPEN = "open"
    CLOSED = "closed"
    PAUSED = "paused"  # she took the chat over
    OFF = "off"  # the bot is disconnected from her account (or may not reply)


@dataclass(frozen=True)
class ChatFacts:
    chat_id: int
    connection_id: str | None  # her enabled connection that may reply; None when there is none
    last_client_at: datetime | None
    paused: bool
    bot_chat: int | None = None  # the client's chat with the bot, once they opened it


@dataclass(frozen=True)
class Route:
    way: Way
    chat_id: int | None = None
    connection_id: str | None = None
    reason: str = ""


def window_open(last_client_at: datetime | None, now: datetime) -> bool:
    return last_client_at is not None and now - last_client_at < WINDOW


def window(facts: ChatFacts, now: datetime) -> Window:
    if facts.connection_id is None:
        return Window.OFF
    if facts.paused:
        return Window.PAUSED
    return Window.OPEN if window_open(facts.last_client_at, now) else Window.CLOSED


WAIT_REASONS = {
    Window.OFF: "Telegram Business: the bot is not connected to her account (or may not reply)",
    Window.PAUSED: "Telegram Business: she is answering in this chat herself",
    Window.CLOSED: "Telegram Business: the client last wrote over 24 h ago",
}


def route(facts: ChatFacts, now: datetime) -> Route:
    """Her chat while Telegram allows it and she has not taken it over; else the bot chat; else
    wait (never a failure: the row goes out when the client writes or opens the bot chat)."""
    state = window(facts, now)
    if state is Window.OPEN:
        return Route(Way.BUSINESS, facts.chat_id, facts.connection_id)
    if facts.bot_chat is not None:
        return Route(Way.BOT_CHAT, facts.bot_chat)
    return Route(Way.WAIT, reason=f"{WAIT_REASONS[state]}; waits until they write again or open the bot chat")


def link_offer(url: str) -> Say:
    """After intake in her chat: one tap opens the bot chat, where updates reach the client
    whatever the 24-hour window says."""
    return Say("business-link", {"url": url}, priority=Priority.REPLY)


# --- her opening hours from Telegram ---------------------------------------------------------


@dataclass(frozen=True)
class OpeningHours(Hours):
    """Working hours as Telegram's business_opening_hours gives them: intervals in minutes from
    Monday 00:00 in `zone` (a closing minute may run past Sunday into the next week). `start`,
    `end` and `weekdays` describe the first interval, for the off-hours text; `timezone` stays
    the practice's (call slots are laid out in it)."""

    intervals: tuple[tuple[int, int], ...] = field(default=())
    zone: str = "UTC"

    def _week_minute(self, now: datetime) -> tuple[datetime, int]:
        local = now.astimezone(ZoneInfo(self.zone))
        monday = datetime.combine((local - timedelta(days=local.weekday())).date(), time(0), tzinfo=local.tzinfo)
        return monday, local.weekday() * 1440 + local.hour * 60 + local.minute

    def is_open(self, now: datetime) -> bool:
        _, minute = self._week_minute(now)
        return any(a <= m < b for a, b in self.intervals for m in (minute, minute + WEEK_MINUTES))

    def next_opening(self, now: datetime) -> datetime:
        if self.is_open(now) or not self.intervals:
            return now
        monday, minute = self._week_minute(now)
        ahead = min((a - minute) % WEEK_MINUTES or WEEK_MINUTES for a, _ in self.intervals)
        return monday + timedelta(minutes=minute + ahead)


def opening_hours(stored: object, base: Hours) -> Hours | None:
    """Hours from the stored {"time_zone_name", "opening_hours": [[open, close], …]}; None when
    there is nothing usable (no intervals, an unknown zone)."""
    if not isinstance(stored, dict):
        return None
    zone = stored.get("time_zone_name")
    raw = stored.get("opening_hours")
    if not isinstance(zone, str) or not isinstance(raw, list):
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    intervals = tuple(
        sorted(
            (int(a), int(b))
            for a, b in (pair for pair in raw if isinstance(pair, (list, tuple)) and len(pair) == 2)
            if 0 <= int(a) < int(b) <= WEEK_MINUTES + 1440
        )
    )
    if not intervals:
        return None
    first_open, first_close = intervals[0]
    return OpeningHours(
        weekdays=frozenset(a // 1440 % 7 for a, _ in intervals),
        start=_clock(first_open),
        end=_clock(first_close),
        timezone=base.timezone,
        intervals=intervals,
        zone=zone,
    )


def _clock(week_minute: int) -> time:
    day_minute = week_minute % 1440
    return time(day_minute // 60, day_minute % 60)
