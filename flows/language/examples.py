"""The labelled examples the classifier learns from (examples.md), and their fixed split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXAMPLES = Path(__file__).with_name("examples.md")
HELD_OUT_EVERY = 4  # the 4th, 8th, 12th… example of each intent is never trained on


@dataclass(frozen=True)
class Example:
    intent: str
    text: str
    held_out: bool


def load(path: Path = EXAMPLES) -> list[Example]:
    examples: list[Example] = []
    intent: str | None = None
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            intent, count = line[3:].strip(), 0
        elif line.startswith("- ") and intent is not None:
            count += 1
            examples.append(Example(intent, line[2:].strip(), count % HELD_OUT_EVERY == 0))
    return examples


def training(examples: list[Example]) -> list[Example]:
    return [e for e in examples if not e.held_out]


def held_out(examples: list[Example]) -> list[Example]:
    return [e for e in examples if e.held_out]
