"""What kind of message an outbox row carries, read from its idempotency key's prefix.

WhatsApp needs an approved template (TWILIO_TEMPLATES) for anything sent 24 h after the client
last wrote, and templates are registered per kind of message. The outbox has no kind column; every
key is built as "<prefix>:<id…>" by whoever decided the message (bot/desk.py, bot/notify.py,
flows/practice/*), so the prefix is the kind.
"""

REMINDER = "reminder"
QUEUE_UPDATE = "queue_update"
RESULT = "result"
REPLY = "reply"  # the practitioner's own words (/reply)
PAYMENT = "payment"
MESSAGE = "message"  # an answer to what the client just wrote
PRACTITIONER = "practitioner"  # alerts and command answers to her own number
ANY = "any"  # the fallback template, for every kind without its own

KINDS = frozenset({REMINDER, QUEUE_UPDATE, RESULT, REPLY, PAYMENT, MESSAGE, PRACTITIONER, ANY})

# Longest prefix first where one prefix starts another (none do today; keep it that way).
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("remind", REMINDER),  # remind24:, remind1h:, reminder:…
    ("nudge", REMINDER),  # an unfinished question list
    ("position", QUEUE_UPDATE),
    ("queue", QUEUE_UPDATE),
    ("started", QUEUE_UPDATE),  # her work on the request began
    ("pause", QUEUE_UPDATE),  # a holiday moves every ETA
    ("resume", QUEUE_UPDATE),
    ("done", RESULT),
    ("result", RESULT),
    ("reply", REPLY),
    ("paid", PAYMENT),
    ("payment", PAYMENT),
    ("msg", MESSAGE),
    ("alert", PRACTITIONER),
    ("cmd", PRACTITIONER),
    ("digest", PRACTITIONER),
)


def message_kind(key: str) -> str:
    """The kind of the outbox row with this idempotency key; ANY when the prefix is unknown."""
    prefix = key.split(":", 1)[0].strip().lower()
    for start, kind in _PREFIXES:
        if prefix.startswith(start):
            return kind
    return ANY


def template_for(templates: dict[str, str], key: str | None) -> str | None:
    """The ContentSid for this row: its kind's own template, else the "any" one, else None."""
    if not templates:
        return None
    return templates.get(message_kind(key or "")) or templates.get(ANY) or None
