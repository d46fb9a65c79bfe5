"""Russian words to their dictionary form (pymorphy3): «расклада», «раскладом» → «расклад».

The OpenCorpora dictionary ships inside the pymorphy3-dicts-ru wheel, so nothing is downloaded.
A word is analysed once: the cache holds every word seen (bounded, clients repeat themselves).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pymorphy3

from flows.language.normalize import has_cyrillic


class Lemmatizer:
    def __init__(self, cache_size: int = 50_000) -> None:
        self._morph = pymorphy3.MorphAnalyzer(lang="ru")
        self.lemma = lru_cache(maxsize=cache_size)(self._lemma)

    def _lemma(self, word: str) -> str:
        if not has_cyrillic(word) or len(word) > 40 or not _named(word):
            return word
        return self._morph.parse(word)[0].normal_form.replace("ё", "е")

    def known(self, word: str) -> bool:
        """A dictionary word (not a guess from its ending): tells Russian from gibberish."""
        return _named(word) and self._morph.word_is_known(word)

    def lemmas(self, words: list[str]) -> list[str]:
        return [self.lemma(w) for w in words]

    def gender(self, name: str) -> str | None:
        """"masc" / "femn" for a first name pymorphy3 knows as one, else None."""
        name = name.strip().casefold()
        if not _named(name):
            return None
        for parse in self._morph.parse(name):
            if "Name" in parse.tag and parse.tag.gender in ("masc", "femn"):
                return str(parse.tag.gender)
        return None


def _named(word: str) -> bool:
    """pymorphy3 asks unicodedata.name() of every letter and raises on unassigned code points
    (a fuzzer found «𗀀A»); such a word is not Russian anyway, so it stays as typed."""
    return all(unicodedata.name(ch, "") for ch in word)
