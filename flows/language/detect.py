"""The language to answer in: from the text's script and words, then the client's profile.

Only "ru" and "en" have texts (locales/). Cyrillic means Russian. Latin means English unless it
reads as transliterated Russian («gde moi rasklad»). One Latin token
that every language uses («sos», «ok», «hi») decides nothing: the profile language, or Russian.
"""

from __future__ import annotations

import re

from flows.language.normalize import words

# Commands and addresses are Latin whatever language the client speaks.
_NOT_LANGUAGE = re.compile(r"/\w+(?:@\w+)?|https?://\S+|www\.\S+|\S+@\S+")
_RU_HINTS = frozenset({"ru", "uk", "be", "kk"})
# Latin words every alphabet's user types: they tell nothing of the language.
_NEUTRAL = frozenset({"sos", "ok", "okay", "okey", "hi", "hey", "lol", "thx", "pls", "plz", "wow", "vip", "tarot", "taro"})
# Common words of transliterated Russian: such Latin text is answered in Russian.
_RU_LATIN = frozenset({
    "gde", "moi", "moy", "moj", "hochu", "khochu", "rasklad", "srochno", "pomogite", "spasibo", "privet",
    "zdravstvuyte", "zdravstvuite", "kogda", "skolko", "stoit", "mne", "menya", "ya", "vy", "eto", "chto",
    "kak", "net", "da", "pozhaluysta", "pozhalujsta", "ochen", "nuzhen", "nuzhno", "vopros", "otmena",
})


def detect_language(text: str, hint: str | None = None) -> str:
    """Reply language, "ru" or "en"."""
    sample = _NOT_LANGUAGE.sub(" ", text) if isinstance(text, str) else ""
    tokens = [w for w in words(sample) if any(ch.isalpha() for ch in w)]
    if any("а" <= ch <= "я" for w in tokens for ch in w):
        return "ru"
    latin = [w for w in tokens if w not in _NEUTRAL and any("a" <= ch <= "z" for ch in w)]
    if latin:
        russian = sum(w in _RU_LATIN for w in latin)
        return "ru" if russian * 2 >= len(latin) else "en"
    return _from_hint(hint)


def _from_hint(hint: str | None) -> str:
    if not hint or not hint.strip():
        return "ru"
    base = re.split(r"[-_]", hint.strip().casefold(), maxsplit=1)[0]
    return "ru" if base in _RU_HINTS else "en"
