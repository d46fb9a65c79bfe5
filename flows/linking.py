"""One person on Telegram and WhatsApp stays one client: a shared phone number, or a link code.

Pure: the clock and the secret come in as arguments. A link code is the client's id plus an
HMAC over (client id, ten-minute bucket), so it is checked without a table: valid for the bucket
it was made in and the next three (30–40 minutes), recognised as "expired" for a day after that.
Eight base-32 characters are 40 bits: guessing someone's code inside its half hour (to take over
their history) is out of reach at chat speed, and the flood limit slows any attempt further.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.effects import Say
from flows.model import ClientView, Inbound, Priority
from flows.triage import clean

BUCKET_SECONDS = 600
VALID_BUCKETS = 4  # this one and the three before it: at least 30 minutes
EXPIRED_BUCKETS = 144  # a day of older buckets: "expired", not "wrong"
MINUTES = (VALID_BUCKETS - 1) * BUCKET_SECONDS // 60  # what the client is promised
MAC_LENGTH = 8
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread
# Read back as typed: O for 0, I and L for 1.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})

# The whole message asks for a code: «код», "link", "/link", «связать».
ASK_WORDS = frozenset({"код", "/код", "link", "/link", "code", "/code", "связать", "привязать"})
_CODE = re.compile(
    rf"^\s*(?:(?:код|code|link|/link)\s*[:#]?\s*)?(\d{{1,12}})\s*[-–—_ ]\s*([0-9a-z]{{{MAC_LENGTH}}})\s*[.!]?\s*$",
    re.IGNORECASE,
)


class Check(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    WRONG = "wrong"


@dataclass(frozen=True)
class LinkPhone:
    """The client shared their own verified number: join the client who writes from it on
    WhatsApp, else keep it on this client so that such a client joins later."""

    phone: str  # digits only, as clients.phone holds them
    joined: Say
    kept: Say
    already: Say


@dataclass(frozen=True)
class MergeWith:
    """A valid code of another client: both become one (the older survives, storage decides)."""

    client_id: int
    merged: Say
    gone: Say  # no such client (any more): erased, or of another practitioner


LinkEffect = LinkPhone | MergeWith | Say


def digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def _bucket(now: datetime) -> int:
    return int(now.timestamp()) // BUCKET_SECONDS


def _mac(secret: bytes, client_id: int, bucket: int) -> str:
    return _short_mac(secret, f"priem-link:{client_id}:{bucket}")


def _short_mac(secret: bytes, message: str) -> str:
    raw = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    number = int.from_bytes(raw[:5], "big")  # 40 bits: 8 characters of 5 bits
    return "".join(ALPHABET[(number >> shift) & 31] for shift in range(35, -1, -5))


def code_for(secret: bytes, client_id: int, now: datetime) -> str:
    return f"{client_id}-{_mac(secret, client_id, _bucket(now))}"


def check(secret: bytes, client_id: int, mac: str, now: datetime) -> Check:
    given = mac.upper().translate(_READ_AS)
    current = _bucket(now)
    for age in range(VALID_BUCKETS + EXPIRED_BUCKETS):
        if hmac.compare_digest(given, _mac(secret, client_id, current - age)):
            return Check.VALID if age < VALID_BUCKETS else Check.EXPIRED
    return Check.WRONG


def parse_code(text: str) -> tuple[int, str] | None:
    found = _CODE.match(text)
    return (int(found[1]), found[2]) if found else None


def asks_for_code(text: str) -> bool:
    return clean(text).strip(" .!?").lower() in ASK_WORDS


# A deep link's token (`t.me/<bot>?start=b42-7K3QX9MB`), offered in her Telegram Business chat at
# the end of intake: the client taps it and their chat with the bot joins them. Made like a link
# code, but bound to the Telegram chat it was offered to (only that person's Start counts, so a
# forwarded link joins nobody) and valid for days, since a tap may come much later.
START_DAYS = 7
_START = re.compile(rf"^b(\d{{1,12}})-([0-9A-Za-z]{{{MAC_LENGTH}}})$")


def _start_mac(secret: bytes, client_id: int, chat_id: str, day: int) -> str:
    return _short_mac(secret, f"priem-start:{client_id}:{chat_id}:{day}")


def start_token(secret: bytes, client_id: int, chat_id: str, now: datetime) -> str:
    return f"b{client_id}-{_start_mac(secret, client_id, chat_id, int(now.timestamp()) // 86400)}"


def check_start(secret: bytes, client_id: int, chat_id: str, mac: str, now: datetime) -> Check:
    given, today = mac.upper(), int(now.timestamp()) // 86400
    for age in range(START_DAYS * 5):
        if hmac.compare_digest(given, _start_mac(secret, client_id, chat_id, today - age)):
            return Check.VALID if age < START_DAYS else Check.EXPIRED
    return Check.WRONG


def parse_start(payload: str) -> tuple[int, str] | None:
    found = _START.match(payload)
    return (int(found[1]), found[2]) if found else None


def _started(
    client: ClientView, msg: Inbound, token: tuple[int, str], now: datetime, secret: bytes
) -> tuple[LinkEffect, ...]:
    other, mac = token
    match check_start(secret, other, msg.sender_ref, mac, now):
        case Check.VALID if other == client.id:
            return (Say("business-linked", {"name": client.name}),)
        case Check.VALID:
            linked = Say("business-linked", {"name": client.name})
            return (MergeWith(other, merged=linked, gone=Say("business-link-wrong")),)
        case Check.EXPIRED:
            return (Say("business-link-expired"),)
    return (Say("business-link-wrong"),)


def decide(client: ClientView, msg: Inbound, now: datetime, secret: bytes) -> tuple[LinkEffect, ...] | None:
    """What a linking message does; None for every other message (the conversation's)."""
    if client.restricted:
        return None  # a restricted client gets the restriction's answer
    if msg.payload:
        started = parse_start(msg.payload)  # a deep link's /start payload; any other is a button
        return None if started is None else _started(client, msg, started, now, secret)
    if msg.contact_phone:
        phone = digits(msg.contact_phone)
        if not phone:
            return None
        return (
            LinkPhone(
                phone,
                joined=Say("linking-phone-joined", {"name": client.name}),
                kept=Say("linking-phone-kept", {"name": client.name}),
                already=Say("linking-already"),
            ),
        )
    if not msg.text or len(msg.text) > 60:
        return None
    if asks_for_code(msg.text):
        code = code_for(secret, client.id, now)
        return (Say("linking-code", {"code": code, "minutes": MINUTES}, priority=Priority.REPLY),)
    parsed = parse_code(msg.text)
    if parsed is None:
        return None
    other, mac = parsed
    match check(secret, other, mac, now):
        case Check.VALID if other == client.id:
            return (Say("linking-own-code"),)
        case Check.VALID:
            return (
                MergeWith(other, merged=Say("linking-merged", {"name": client.name}), gone=Say("linking-code-wrong")),
            )
        case Check.EXPIRED:
            return (Say("linking-code-expired", {"minutes": MINUTES}),)
    return (Say("linking-code-wrong"),)
