"""The language layer: what a client's free text says, for every channel alike.

normalize (letters, scripts, keyboard layouts) → lemmas (pymorphy3) → matching (rapidfuzz:
the bot's own labels, service names) and the intent classifier trained on examples.md →
understanding.py, the one entry point the conversation calls. Pure and synchronous: everything
is loaded and trained when `Understander` is built (at start-up), nothing is read at call time.
"""
