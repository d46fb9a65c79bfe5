"""Letters as clients type them, brought to one comparable form.

Clients write in any case, without «ё», with stretched letters («срочноооо»), with Latin letters
that look Cyrillic, on the wrong keyboard layout («ghbdtn» for «привет»), or in Latin
transliteration («gde moi rasklad»). Everything here is a pure function of the text.
"""

from __future__ import annotations

import re
import unicodedata

import cyrtranslit

# Casefolded Latin letters that look like Cyrillic ones (and back). Clients mix them when they
# switch keyboard layouts mid-word or when a phone autocorrects part of a word.
_LATIN_LOOKALIKES = "aceopxykmtbh"
_CYRILLIC_LOOKALIKES = "асеорхукмтвн"
LATIN_LOOKALIKES = frozenset(_LATIN_LOOKALIKES)
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
# Polish clients often type without diacritics; folding both spellings to ASCII matches either.
_POLISH = str.maketrans("ąćęłńóśźż", "acelnoszz")
# Stress marks, variation selectors, keycap enclosures, zero-width joiners, soft hyphens: none
# carry meaning for keywords but they split words or hide digits ("1️⃣").
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_REPEAT = re.compile(r"(.)\1+")
WORD = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")

# The same physical keys on the US QWERTY and the Russian ЙЦУКЕН layouts: «ghbdtn» is «привет»
# typed with the wrong layout on, «ыщы» is "sos".
_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюё"
_LAYOUT_TO_RU = str.maketrans(_QWERTY, _JCUKEN)
_LAYOUT_TO_EN = str.maketrans(_JCUKEN, _QWERTY)
# A run of the Latin layout's keys holding at least one letter: «cgfcb,j» is «спасибо», "..." stays.
_LATIN_WORD = re.compile(r"[a-z\[\];',.`]*[a-z][a-z\[\];',.`]*")


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
        if latin <= LATIN_LOOKALIKES:
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


def words(text: str) -> list[str]:
    """The folded words of a text, in order (punctuation, emoji and case gone)."""
    return [fold_word(w) for w in WORD.findall(clean(text))]


def has_cyrillic(text: str) -> bool:
    return any("а" <= ch <= "я" or ch == "ё" for ch in text.casefold())


def has_latin(text: str) -> bool:
    return any("a" <= ch <= "z" for ch in text.casefold())


def from_latin(text: str) -> str:
    """Latin transliteration read back as Russian: «gde moi rasklad» → «где мои расклад»."""
    return cyrtranslit.to_cyrillic(text.casefold(), "ru")


def layout_swapped(text: str) -> str:
    """The text as it was meant when typed on the other keyboard layout.

    Only whole runs of one layout are swapped, so «ghbdtn» becomes «привет» and «руддщ» "hello";
    digits, spaces and emoji stay as they are.
    """
    lowered = text.casefold()
    if has_cyrillic(lowered) and not has_latin(lowered):
        return lowered.translate(_LAYOUT_TO_EN)
    return _LATIN_WORD.sub(lambda m: m.group().translate(_LAYOUT_TO_RU), lowered)
