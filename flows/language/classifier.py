"""The intent classifier: multinomial naive Bayes over lemmas, word pairs and character n-grams.

Why not scikit-learn: importing its TfidfVectorizer and LogisticRegression costs 122 MB of RSS and
1.6 s on this machine, against a budget of 40 MB and 1 s for the whole language layer; and on our
examples a logistic regression over the same features scored no better on the held-out part
(80% vs 75% alone; the keyword rules in front of it carry the rest). Naive Bayes over a few
thousand sparse counts trains in pure Python in tens of milliseconds at start-up, keeps no
artefact to regenerate, and its features come from well-kept libraries (pymorphy3 lemmas,
character n-grams that survive typos the way Rasa's CountVectorsFeaturizer's do).

Confidence is the posterior of the best intent with the per-feature log-likelihood tempered
(`TEMPER`): raw naive-Bayes posteriors are near 0 or 1 for any text of a few words.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flows.language.lemmas import Lemmatizer
from flows.language.normalize import collapse, from_latin, has_latin, layout_swapped, words

OTHER = "other"  # the label of content: questions, stories, anything no intent covers
ALPHA = 0.3
KNOWN_SHARE = 0.4  # of a text's features the examples must have seen for the classifier to guess  # additive smoothing, chosen on the training part only (bench/understanding.py)
TEMPER = 8.0  # per-feature log-likelihood scale before the softmax
_NGRAMS = (2, 3, 4)
_MAX_WORDS = 60  # a story's tail adds nothing to what it asks for


@dataclass(frozen=True)
class Guess:
    label: str
    confidence: float


def variants(text: str) -> list[str]:
    """The text as typed, read back from Latin transliteration, and on the other keyboard layout."""
    found = [text]
    if has_latin(text):
        found.append(from_latin(text))
    found.append(layout_swapped(text))
    return found


class Features:
    """A text as a bag of features: lemmas, lemma pairs, n-grams of letters within each lemma."""

    def __init__(self, lemmatizer: Lemmatizer) -> None:
        self.lemmatizer = lemmatizer

    def __call__(self, text: str) -> list[str]:
        out: list[str] = []
        seen: set[tuple[str, ...]] = set()
        for variant in variants(text):
            lemmas = tuple(collapse(w) for w in self.lemmatizer.lemmas(words(variant)[:_MAX_WORDS]))
            if lemmas in seen:
                continue
            seen.add(lemmas)
            for lemma in lemmas:
                out.append("w:" + lemma)
                padded = f"<{lemma}>"
                for n in _NGRAMS:
                    out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
            out.extend(f"b:{a}_{b}" for a, b in zip(lemmas, lemmas[1:], strict=False))
        return out or ["<empty>"]


class NaiveBayes:
    def __init__(self, features: Features, alpha: float = ALPHA) -> None:
        self.features = features
        self.alpha = alpha
        self._log_prior: dict[str, float] = {}
        self._log_likelihood: dict[str, dict[str, float]] = {}
        self._log_unseen: dict[str, float] = {}
        self._vocabulary: frozenset[str] = frozenset()

    def train(self, texts: Sequence[str], labels: Sequence[str]) -> NaiveBayes:
        counts: dict[str, Counter[str]] = {}
        for text, label in zip(texts, labels, strict=True):
            counts.setdefault(label, Counter()).update(self.features(text))
        self._vocabulary = frozenset().union(*counts.values())
        size = len(self._vocabulary)
        total = len(labels)
        for label, bag in counts.items():
            self._log_prior[label] = math.log(sum(1 for x in labels if x == label) / total)
            denominator = math.log(sum(bag.values()) + self.alpha * size)
            self._log_likelihood[label] = {f: math.log(n + self.alpha) - denominator for f, n in bag.items()}
            self._log_unseen[label] = math.log(self.alpha) - denominator
        return self

    @property
    def labels(self) -> list[str]:
        return list(self._log_prior)

    def rank(self, text: str) -> list[Guess]:
        """Every label with its confidence, best first; confidences sum to 1."""
        features = self.features(text)
        known = [f for f in features if f in self._vocabulary]
        if len(known) < KNOWN_SHARE * len(features):
            # Mostly never seen (binary, another alphabet, a rare word): content, not a guess.
            return [Guess(OTHER, 1.0)]
        scores = {}
        for label, prior in self._log_prior.items():
            table, unseen = self._log_likelihood[label], self._log_unseen[label]
            loglik = sum(table.get(f, unseen) for f in known)
            scores[label] = prior + TEMPER * loglik / max(len(known), 1)
        top = max(scores.values())
        weights = {label: math.exp(s - top) for label, s in scores.items()}
        norm = sum(weights.values())
        return sorted((Guess(label, w / norm) for label, w in weights.items()), key=lambda g: -g.confidence)


def train(lemmatizer: Lemmatizer, examples: Iterable[tuple[str, str]]) -> NaiveBayes:
    pairs = list(examples)
    return NaiveBayes(Features(lemmatizer)).train([t for t, _ in pairs], [label for _, label in pairs])
