"""The language layer measured: accuracy on the held-out examples it never trained on, and its cost.

Trains the understander on the training part of flows/language/examples.md (every 4th example of
each intent is held out), runs the whole layer (rules, triage, classifier: what the conversation
calls) on the held-out part, and prints per-intent precision and recall, the confusion table,
emergency misses and false emergencies. Then the cost, each against a baseline measured in the
same run: idle RSS and start-up time of a fresh interpreter that builds the layer, against one
that imports the same app libraries without it; and the time to understand one message.

    .venv/bin/python -m bench.understanding
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import Counter

from flows.language import examples as example_file
from flows.language.understanding import trained
from flows.triage import Urgency, negated

TARGET_ACCURACY = 0.95
PROBE = """
import time, sys
t = time.perf_counter()
import fastapi, sqlalchemy, pydantic  # what every priem process imports anyway
if sys.argv[1] == "layer":
    from flows.language.understanding import trained
    trained().understand("где мой расклад?")
took = time.perf_counter() - t
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
print(f"{rss:.1f} {took:.3f}")
"""


def label(found) -> str:  # type: ignore[no-untyped-def]
    """What the conversation does with it, in the examples' labels."""
    if found.urgency is not None or (found.intent.value == "service" and found.service == "emergency"):
        return "emergency"
    return {"service": "book", "none": "other"}.get(found.intent.value, found.intent.value)


def accuracy() -> bool:
    examples = example_file.load()
    held_out = example_file.held_out(examples)
    train_size = len(examples) - len(held_out)
    understander = trained(held_out_too=False)
    predicted = [(e, label(understander.understand(e.text))) for e in held_out]
    labels = sorted({e.intent for e in examples})
    right = sum(e.intent == p for e, p in predicted)
    print(f"examples: {len(examples)} ({train_size} trained on, {len(held_out)} held out, "
          f"{min(Counter(e.intent for e in examples).values())}+ per intent)")
    print(f"held-out accuracy: {right}/{len(held_out)} = {right / len(held_out):.1%} (target ≥ {TARGET_ACCURACY:.0%})\n")
    print(f"{'intent':<14}{'precision':>10}{'recall':>8}{'n':>4}")
    for name in labels:
        tp = sum(e.intent == name and p == name for e, p in predicted)
        said = sum(p == name for _, p in predicted)
        real = sum(e.intent == name for e, _ in predicted)
        precision = tp / said if said else 1.0
        print(f"{name:<14}{precision:>10.0%}{tp / real if real else 1.0:>8.0%}{real:>4}")
    print("\nconfusion (held-out, true → predicted, errors only):")
    for (true, said), n in sorted(Counter((e.intent, p) for e, p in predicted if e.intent != p).items()):
        examples_of = [e.text for e, p in predicted if e.intent == true and p == said]
        print(f"  {true:>13} → {said:<13} {n}  e.g. «{examples_of[0]}»")
    misses = [e.text for e, p in predicted if e.intent == "emergency" and p != "emergency"]
    false = [e.text for e, p in predicted if e.intent != "emergency" and p == "emergency"]
    from_negations = [t for t in false if negated(t)]
    all_negated = [e for e in examples if negated(e.text)]
    negation_alarms = [e.text for e in all_negated if label(understander.understand(e.text)) == "emergency"]
    print(f"\nemergency misses: {len(misses)} {misses}")
    print(f"false emergencies: {len(false)} {false} (from negations: {len(from_negations)})")
    print(f"negated urgency words in all examples: {len(all_negated)}, read as emergencies: {len(negation_alarms)}")
    opens = sum(understander.understand(e.text).urgency is Urgency.OPENS for e in held_out if e.intent == "emergency")
    print(f"held-out emergencies opened at once: {opens}, asked about: {sum(e.intent == 'emergency' for e in held_out) - opens - len(misses)}")
    return right / len(held_out) >= TARGET_ACCURACY and not misses and not from_negations


def cost() -> None:
    understander = trained()
    texts = [e.text for e in example_file.load()] * 5
    took = []
    for text in texts:
        start = time.perf_counter()
        understander.understand(text)
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    print(f"\nunderstanding one message: p50 {statistics.median(took):.2f} ms, "
          f"p99 {took[int(len(took) * 0.99)]:.2f} ms over {len(took)}, each example 5 times, word lemmas cached as in the service (target p99 ≤ 5 ms)")
    runs = {kind: [subprocess.run([sys.executable, "-c", PROBE, kind], capture_output=True, text=True, check=True)
                   .stdout.split() for _ in range(3)] for kind in ("baseline", "layer")}
    rss = {k: statistics.median(float(r[0]) for r in v) for k, v in runs.items()}
    start = {k: statistics.median(float(r[1]) for r in v) for k, v in runs.items()}
    print(f"idle RSS: baseline {rss['baseline']:.1f} MB, with the layer {rss['layer']:.1f} MB: "
          f"+{rss['layer'] - rss['baseline']:.1f} MB (target ≤ 40 MB)")
    print(f"start-up: baseline {start['baseline']:.2f} s, with the layer {start['layer']:.2f} s: "
          f"+{start['layer'] - start['baseline']:.2f} s (target ≤ 1 s); medians of 3 fresh interpreters")


if __name__ == "__main__":
    ok = accuracy()
    cost()
    sys.exit(0 if ok else 1)
