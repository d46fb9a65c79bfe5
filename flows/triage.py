"""Emergency triage: does a message open with «срочно» / «экстренно» / SOS?

Only the opening counts (after greetings and a name), so a question that mentions urgency later
(«подскажите, это срочно?») stays on the planned path and a negation («не срочно», "not urgent")
never opens the emergency path: the first word is then the negation, not the trigger.

The word helpers here (`clean`, `fold_word`, `key`, `greeting_length`) are shared with
`flows.intents`, so triage and intent recognition read words the same way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# A greeting, a name and the trigger fit in far less; bounding the slice keeps any input cheap.
_HEAD = 200

# Casefolded Latin letters that look like Cyrillic ones (and back). Clients mix them when they
# switch keyboard layouts mid-word or when a phone autocorrects part of a word.
_LATIN_LOOKALIKES = "aceopxykmtbh"
_CYRILLIC_LOOKALIKES = "асеорхукмтвн"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
# Polish clients often type without diacritics; folding both spellings to ASCII matches either.
_POLISH = str.maketrans("ąćęłńóśźż", "acelnoszz")
# Stress marks, variation selectors, keycap enclosures, zero-width joiners, soft hyphens: none
# carry meaning for keywords but they split words or hide digits ("1️⃣").
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
_APOSTROPHES = re.compile(r"['’ʼ`´]")

_WORD = re.compile(r"[^\W\d_]+")
_REPEAT = re.compile(r"(.)\1+")
_DIGIT = re.compile(r"\d")
# "S.O.S" / "С.О.С" / "s-o-s" would otherwise be three one-letter words.
_SPELLED_SOS = re.compile(r"\b([sс])[.\-]\s?([oо0])[.\-]\s?([sс])\b", re.IGNORECASE)

# Matched against `key()` forms, i.e. with repeated letters collapsed: «экстренно» is «экстрено»
# here, which is also how the common single-н typo is spelt, and «сррочноооо» is «срочно».
_TRIGGER = re.compile(
    r"сро?чн(?:о|а|ый|ая|ое|ые|ую|ого|ой|ых|еньк[оа]|як)"  # срочно, срчно, срочна, срочный…
    r"|[эе]кстрен(?:о|а|ый|ая|ое|ые|ую|ого|ой|ых)"  # экстренно, экстрено, екстренно…
    r"|сос|sos|urgent(?:ly)?|urgency|emergency|piln(?:e|ie|a|y)"
)
# Words that may sit between a greeting and the trigger without being a name: «Привет, очень
# срочно!» is as urgent as «срочно». Negations are deliberately absent.
_INTENSIFIERS = frozenset({"очень", "very", "really", "bardzo", "прям", "прямо"})
# Capitalised openers that are not names, so «Привет! Вопрос срочный» is not read as
# «Привет, <Вопрос>! Срочный…».
_NOT_NAMES = frozenset(
    {"не", "ни", "нет", "вопрос", "это", "мне", "нужен", "нужно", "нужна", "у", "я", "есть",
     "not", "no", "nie", "it", "is", "this", "i", "need", "question", "to", "jest"}
) | _INTENSIFIERS

_GREETING_PHRASES = (
    "здравствуйте", "здравствуй", "здраствуйте", "здрасте", "здрасьте", "приветствую", "привет",
    "приветик", "хай", "доброе утро", "добрый день", "добрый вечер", "доброй ночи", "доброго дня",
    "доброго утра", "доброго вечера", "доброго времени суток", "hello", "hi", "hey", "hiya",
    "good morning", "good afternoon", "good evening", "dzień dobry", "dobry wieczór", "cześć",
    "witam", "witaj", "hej", "siema",
)


def clean(text: str) -> str:
    """NFKC plus removal of invisible and combining characters; keeps case and punctuation."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED_CATEGORIES)


def fold_word(word: str) -> str:
    """Casefold a single word, ё→е, Polish diacritics off, look-alikes to the word's own script."""
    w = _APOSTROPHES.sub("", word).casefold().replace("ё", "е").translate(_POLISH)
    latin = {c for c in w if "a" <= c <= "z"}
    cyrillic = {c for c in w if "а" <= c <= "я"}
    if latin and cyrillic:
        # The script that has letters with no look-alike is the one the client meant.
        if latin <= set(_LATIN_LOOKALIKES):
            w = w.translate(_TO_CYRILLIC)
        elif cyrillic <= set(_CYRILLIC_LOOKALIKES):
            w = w.translate(_TO_LATIN)
    return w


def collapse(word: str) -> str:
    """Stretched letters («срочноооо», "heyyy") and doubled typos («сррочно») become one."""
    return _REPEAT.sub(r"\1", word)


def key(word: str) -> str:
    """The comparison form of a word: folded and collapsed."""
    return collapse(fold_word(word))


def _phrase_keys(phrase: str) -> tuple[str, ...]:
    return tuple(key(w) for w in _WORD.findall(clean(phrase)))


GREETINGS: frozenset[tuple[str, ...]] = frozenset(_phrase_keys(p) for p in _GREETING_PHRASES)
_GREETING_SIZES = sorted({len(g) for g in GREETINGS}, reverse=True)


def greeting_length(keys: Sequence[str], start: int = 0) -> int:
    """How many words from `start` are greetings («Здравствуйте, добрый день!» is three)."""
    i = start
    while True:
        fits = (n for n in _GREETING_SIZES if i + n <= len(keys))
        size = next((n for n in fits if tuple(keys[i : i + n]) in GREETINGS), 0)
        if not size:
            return i - start
        i += size


def is_emergency(text: str) -> bool:
    """True when the message opens, after greetings/a name/punctuation, with an urgency word."""
    if not isinstance(text, str) or not text:
        return False
    head = _SPELLED_SOS.sub(r"\1\2\3", clean(text[:_HEAD]))
    matches = list(_WORD.finditer(head))
    if matches and len(text) > _HEAD and matches[-1].end() == len(head):
        matches.pop()  # cut off by the slice: «сос|на» must not read as «сос»
    if not matches:
        return False
    raw = [m.group() for m in matches]
    keys = [key(w) for w in raw]
    # gaps[i] is what precedes word i; gaps[i + 1] is what follows it.
    gaps = [head[(matches[i - 1].end() if i else 0) : m.start()] for i, m in enumerate(matches)]
    gaps.append(head[matches[-1].end() :])
    n = len(keys)

    def trigger(i: int) -> bool:
        # A digit before the word means the message opens with something else ("2 вопроса…").
        return i < n and not _DIGIT.search(gaps[i]) and bool(_TRIGGER.fullmatch(keys[i]))

    def urgent_at(i: int) -> bool:
        if i < n and keys[i] in _INTENSIFIERS and trigger(i + 1):
            return True
        return trigger(i)

    def name_run(i: int, size: int, *, comma_needed: bool) -> bool:
        words = range(i, i + size)
        if i + size > n or any(keys[j] in _NOT_NAMES or len(keys[j]) < 2 for j in words):
            return False
        punctuated = any(c in gaps[i + size] for c in ",!")
        capitalised = all(raw[j][0].isupper() for j in words)
        return punctuated if comma_needed else (punctuated or capitalised)

    i = 0
    # «Анна, добрый день! Срочно…» / «Анна Сергеевна, срочно…»: an address before the greeting.
    for size in (1, 2):
        if name_run(0, size, comma_needed=True) and (
            greeting_length(keys, size) or urgent_at(size)
        ):
            i = size
            break
    i += greeting_length(keys, i)
    if urgent_at(i):
        return True
    greeted = i > 0
    return greeted and any(
        name_run(i, size, comma_needed=False) and urgent_at(i + size) for size in (1, 2)
    )
