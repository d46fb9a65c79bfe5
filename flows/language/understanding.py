"""One entry point for what a client's message says: `Understander.understand(text)`.

In order, each step trusted more than the next:
1. commands, menu numbers and the bot's own button labels typed as text (rapidfuzz, typos
   allowed) count as taps: confidence 1;
2. triage (flows/triage.py): a message that opens with «срочно» is an emergency; one that
   mentions it later carries `Urgency.MENTIONED` whatever else it says;
3. the keyword rules of flows/intents.py, on the text as typed, read back from Latin
   transliteration, and on the other keyboard layout: confidence `RULE_CONFIDENCE`;
4. the classifier trained on examples.md (flows/language/classifier.py), with its confidence;
   below `SURE` the conversation asks, offering its two best guesses.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from rapidfuzz import fuzz, process

from flows.intents import Intent, Recognised, recognise
from flows.language import examples as example_file
from flows.language.classifier import NaiveBayes, train, variants
from flows.language.lemmas import Lemmatizer
from flows.language.normalize import clean, words
from flows.triage import Urgency, negated, urgency

RULE_CONFIDENCE = 0.95
CLASSIFIED_LENGTH = 400  # longer texts are stories and question lists: only rules and triage read them
SURE_EMERGENCY = 0.75  # the classifier alone (no urgency word) asks «is it urgent?» only above this
SURE = 0.5  # below: «did you mean…» with the two best guesses as buttons
LABEL_SCORE = 88  # rapidfuzz ratio (0–100) for a typed button label: «Где мой запрс» is the button
_LABEL_MAX_LEN = 60
# Classifier labels that are not Intent values.
_LABELS = {"book": Intent.SERVICE, "other": Intent.NONE}


def _intent(label: str) -> Intent:
    return _LABELS.get(label) or Intent(label)


class Understander:
    def __init__(
        self,
        lemmatizer: Lemmatizer,
        classifier: NaiveBayes,
        labels: Mapping[str, Intent] | None = None,
    ) -> None:
        self.lemmatizer = lemmatizer
        self.classifier = classifier
        # The bot's own button labels (every language) → what tapping them means.
        self._labels = {self._label_key(text): intent for text, intent in (labels or {}).items()}
        self._label_keys = list(self._labels)

    @staticmethod
    def _label_key(text: str) -> str:
        return " ".join(words(text))

    def with_labels(self, labels: Mapping[str, Intent]) -> Understander:
        return Understander(self.lemmatizer, self.classifier, labels)

    def understand(self, text: str) -> Recognised:
        """What one message says; never raises. NONE with confidence 1 for empty or non-text."""
        if not isinstance(text, str) or not clean(text).strip():
            return Recognised(Intent.NONE)
        found = [u for u in map(urgency, variants(text)) if u is not None]
        urgent = Urgency.OPENS if Urgency.OPENS in found else (found[0] if found else None)
        if urgent is Urgency.OPENS:
            return Recognised(Intent.EMERGENCY, urgency=urgent)
        ruled = self._ruled(text)
        if ruled is not None:
            return replace(ruled, urgency=urgent)
        label = self._typed_label(text)
        if label is not None:
            return Recognised(label, urgency=urgent)
        if len(text) > CLASSIFIED_LENGTH:
            return Recognised(Intent.NONE, urgency=urgent)  # a story or a paste: content
        guesses = self.classifier.rank(text)
        best, rest = guesses[0], [g for g in guesses[1:] if _intent(g.label) is not _intent(guesses[0].label)]
        alternatives = tuple(dict.fromkeys(_intent(g.label) for g in rest[:2]))
        if _intent(best.label) is Intent.EMERGENCY and urgent is None:
            if best.confidence < SURE_EMERGENCY or negated(text):
                best = rest[0]  # a story that only sounds troubled: its next reading
            else:
                # No urgency word at all: the classifier alone never opens the emergency path;
                # it asks (MENTIONED), so a real emergency is never filed silently either.
                urgent = Urgency.MENTIONED
        return Recognised(
            _intent(best.label), confidence=best.confidence, alternatives=alternatives, urgency=urgent, guessed=True
        )

    def _ruled(self, text: str) -> Recognised | None:
        for i, variant in enumerate(variants(text)):
            found = recognise(variant)
            if found.intent is not Intent.NONE:
                if i == 0 and (found.menu_index is not None or text.lstrip().startswith("/")):
                    return found  # a number or a command is a tap
                return replace(found, confidence=RULE_CONFIDENCE if i == 0 else RULE_CONFIDENCE - 0.05)
            if i == 0 and text.lstrip().startswith("/"):
                return found  # an unknown command: nothing to guess
        return None

    def _typed_label(self, text: str) -> Intent | None:
        if not self._label_keys or len(text) > _LABEL_MAX_LEN:
            return None
        found = process.extractOne(self._label_key(text), self._label_keys, scorer=fuzz.ratio,
                                   score_cutoff=LABEL_SCORE)
        return self._labels[found[0]] if found else None


@functools.cache
def trained(path: Path = example_file.EXAMPLES, held_out_too: bool = True) -> Understander:
    """The understander trained on the examples (all of them for the service; the bench trains on
    the training part only). Cached per process: training the same file twice gives the same model."""
    examples = example_file.load(path)
    used = examples if held_out_too else example_file.training(examples)
    lemmatizer = Lemmatizer()
    return Understander(lemmatizer, train(lemmatizer, ((e.text, e.intent) for e in used)))

