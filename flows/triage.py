"""Emergency triage: does a message open with «срочно» / «экстренно» / SOS?

Only the opening counts (after greetings and a name), so a question that mentions urgency later
(«подскажите, это срочно?») stays on the planned path and a negation («не срочно», "not urgent")
never opens the emergency path: the first word is then the negation, not the trigger.

The same words later in a message, not negated («помогите, это срочно», «у меня экстренная
ситуация»), are `Urgency.MENTIONED`: the conversation asks once, with buttons, whether it is an
emergency. Words are read by flows/language/normalize.py, as intent recognition reads them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from flows.language.normalize import clean, key

# A greeting, a name and the trigger fit in far less; bounding the slice keeps any input cheap.
_HEAD = 200

_WORD = re.compile(r"[^\W\d_]+")
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
_INTENSIFIERS = frozenset({"очень", "very", "really", "bardzo", "прям", "прямо",
                           # a plea before the word: «ПОМОГИТЕ СРОЧНО», «пожалуйста, срочно»
                           "помогите", "помоги", "пожалуйста", "please", "pomocy", "prosze", "help"})
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
    "witam", "witaj", "hej", "siema", "алло", "ау",
)
# A word just before the trigger (or two before: «не очень срочно») that takes it back.
_NEGATIONS = frozenset({"не", "ни", "нет", "ничего", "без", "not", "no", "nothing", "nie", "nic", "bez",
                        "isnt", "its not", "non"})
_FORMAT_NOUNS = ("расклад", "созвон", "консультац", "звон", "reading", "call", "session", "rozklad", "konsultac")
_MENTION_WORDS = 60  # a story's urgency is in its first lines; the rest is never scanned


class Urgency(StrEnum):
    OPENS = "opens"  # the message opens with the word: the emergency path at once
    MENTIONED = "mentioned"  # the word later, not negated: ask once whether it is an emergency


def urgency(text: str) -> Urgency | None:
    """How urgent a message says it is: opens with the word, mentions it later, or neither."""
    if is_emergency(text):
        return Urgency.OPENS
    if not isinstance(text, str):
        return None
    keys = [key(w) for w in _WORD.findall(clean(_SPELLED_SOS.sub(r"\1\2\3", text[: _HEAD * 10])))][:_MENTION_WORDS]
    for i, word in enumerate(keys):
        if not _TRIGGER.fullmatch(word) or _NEGATIONS.intersection(keys[max(0, i - 2) : i]):
            continue
        if i + 1 < len(keys) and keys[i + 1].startswith(_FORMAT_NOUNS):
            continue  # «экстренный расклад» names a format (flows/intents.py picks it), not a plea
        return Urgency.MENTIONED
    return None


def negated(text: str) -> bool:
    """The message takes an urgency word back: «не срочно», «несрочно», "not urgent"."""
    if not isinstance(text, str):
        return False
    keys = [key(w) for w in _WORD.findall(clean(text[: _HEAD * 10]))][:_MENTION_WORDS]
    return any(
        (_TRIGGER.fullmatch(w) and _NEGATIONS.intersection(keys[max(0, i - 2) : i]))
        or (w.startswith("не") and _TRIGGER.fullmatch(w[2:]))
        for i, w in enumerate(keys)
    )


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
