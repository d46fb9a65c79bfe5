"""A client's time zone: stated in plain words («мой часовой пояс Екатеринбург», «UTC+5»,
«Asia/Yekaterinburg»), or implied by a phone number that maps to exactly one zone.

Kept deliberately small: whole-hour UTC offsets, IANA names, and the cities clients of a
Russian-speaking practice name most. Anything else gets the hint to write UTC±N.
"""

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

# City (any case, Russian or English) → IANA zone. Keys are matched as whole words.
CITIES = {
    "москва": "Europe/Moscow", "мск": "Europe/Moscow", "moscow": "Europe/Moscow",
    "петербург": "Europe/Moscow", "питер": "Europe/Moscow", "спб": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad", "kaliningrad": "Europe/Kaliningrad",
    "самара": "Europe/Samara", "samara": "Europe/Samara", "ижевск": "Europe/Samara",
    "екатеринбург": "Asia/Yekaterinburg", "екб": "Asia/Yekaterinburg", "yekaterinburg": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg", "пермь": "Asia/Yekaterinburg", "уфа": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk", "omsk": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk", "novosibirsk": "Asia/Novosibirsk",
    "красноярск": "Asia/Krasnoyarsk", "krasnoyarsk": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk", "irkutsk": "Asia/Irkutsk",
    "якутск": "Asia/Yakutsk", "yakutsk": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok", "хабаровск": "Asia/Vladivostok", "vladivostok": "Asia/Vladivostok",
    "магадан": "Asia/Magadan", "камчатка": "Asia/Kamchatka", "петропавловск-камчатский": "Asia/Kamchatka",
    "минск": "Europe/Minsk", "minsk": "Europe/Minsk",
    "киев": "Europe/Kyiv", "київ": "Europe/Kyiv", "kyiv": "Europe/Kyiv", "kiev": "Europe/Kyiv",
    "алматы": "Asia/Almaty", "almaty": "Asia/Almaty", "астана": "Asia/Almaty",
    "ташкент": "Asia/Tashkent", "tashkent": "Asia/Tashkent",
    "тбилиси": "Asia/Tbilisi", "tbilisi": "Asia/Tbilisi",
    "ереван": "Asia/Yerevan", "yerevan": "Asia/Yerevan",
    "баку": "Asia/Baku", "baku": "Asia/Baku",
    "берлин": "Europe/Berlin", "berlin": "Europe/Berlin",
    "варшава": "Europe/Warsaw", "warsaw": "Europe/Warsaw",
    "прага": "Europe/Prague", "prague": "Europe/Prague",
    "лондон": "Europe/London", "london": "Europe/London",
    "париж": "Europe/Paris", "paris": "Europe/Paris",
    "стамбул": "Europe/Istanbul", "istanbul": "Europe/Istanbul",
    "дубай": "Asia/Dubai", "dubai": "Asia/Dubai",
    "бангкок": "Asia/Bangkok", "пхукет": "Asia/Bangkok", "bangkok": "Asia/Bangkok",
    "бали": "Asia/Makassar", "bali": "Asia/Makassar",
    "нью-йорк": "America/New_York", "new york": "America/New_York",
}  # fmt: skip

_ZONE_WORDS = re.compile(r"часов\w*\s+пояс\w*|time\s*zone|timezone|по\s+времени", re.IGNORECASE)
_OFFSET = re.compile(r"\b(?:utc|gmt|мск|msk)\s*([+−-])\s*(\d{1,2})(?::00)?\b", re.IGNORECASE)
_IANA = re.compile(r"\b[A-Z][A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?\b")
_WORD = re.compile(r"[\w-]+(?:\s+york)?", re.IGNORECASE)


def stated_zone(text: str, *, loose: bool = False) -> str | None:
    """The IANA zone a client states, or None.

    `loose` (while picking a slot): a bare «Екатеринбург» or «UTC+5» counts. Otherwise the
    message must say it is about the time zone («часовой пояс», «time zone»), so that a city in
    a question list is never taken for one.
    """
    text = text.strip()
    if not text or len(text) > 120:
        return None
    if not loose and _ZONE_WORDS.search(text) is None:
        return None
    offset = _OFFSET.search(text)
    if offset is not None:
        hours = int(offset[2]) * (-1 if offset[1] in "-−" else 1)
        if offset.group(0).lower().startswith(("мск", "msk")):
            hours += 3  # Moscow is UTC+3 all year
        if not -12 <= hours <= 14:
            return None
        # Etc/GMT zones count the other way round: UTC+5 is Etc/GMT-5.
        return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    for name in _IANA.findall(text):
        if _valid(name):
            return name
    lowered = text.lower()
    for word in _WORD.findall(lowered):
        if word in CITIES:
            return CITIES[word]
        for city, zone in CITIES.items():
            # «по Екатеринбургу», «в Москве»: a case ending on a long enough name.
            if len(city) >= 5 and word.startswith(city[:-1]) and len(word) - len(city) <= 2:
                return zone
    return None


def phone_zone(number: str) -> str | None:
    """The zone of a phone number when its prefix names exactly one (a Yekaterinburg landline,
    a German mobile); None for a number that spans zones (a Russian mobile)."""
    try:
        parsed = phonenumbers.parse(number if number.startswith("+") else f"+{number}")
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(parsed) if z != phone_timezones.UNKNOWN_TIMEZONE]
    return zones[0] if len(zones) == 1 and _valid(zones[0]) else None


def _valid(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
