"""A client's data on their request and over time: erasure asked for, confirmed by her, kept no longer
than RETENTION_DAYS.

The client asks («удалите мои данные», "forget me", /forget); the practitioner is alerted and
confirms with /forget (flows/practice/privacy.py). Nothing is erased on the client's word alone: she
may still owe a result or a refund, and a phone left on a table must not wipe someone's history.

Pure: the clock comes in as `now`; storage/privacy.py does the erasing.
"""

from datetime import datetime, timedelta

from flows.effects import Alert, Effect, Say
from flows.model import ClientView, Inbound, Priority

# A second request within this time is answered, not alerted again: she has the first one.
ALERT_AGAIN_AFTER = timedelta(hours=24)
# The identities' addresses outlive the erasure only until the farewell is out: the web chat finds
# its client by the address, so the page gets these minutes to fetch the farewell.
FAREWELL_GRACE = timedelta(minutes=10)
# A farewell WhatsApp holds outside its 24-hour window may never go: the addresses go anyway.
FAREWELL_GIVE_UP = timedelta(days=7)
FINAL_STATES = frozenset({"sent", "failed", "uncertain"})
# Erased rows keep this instead of an address: unique per identity (the table's unique key), and
# no channel ever sends from it.
ERASED_ADDRESS = "erased:{id}"


def farewell_key(client_id: int) -> str:
    """The outbox key of the farewell message: once per client, and spared by the erasure."""
    return f"forget:{client_id}"


def ask(client: ClientView, msg: Inbound, now: datetime) -> list[Effect]:
    """The client asked to be forgotten: she is alerted (once a day at most), they are told what happens."""
    if client.forget_asked_at is not None and now - client.forget_asked_at < ALERT_AGAIN_AFTER:
        return [Say("forget-already-asked", {"name": client.name})]
    latest = client.requests[-1].id if client.requests else None
    return [
        Alert("forget", excerpt=msg.text, request=latest),
        Say("forget-asked", {"name": client.name}, priority=Priority.URGENT),
    ]


def addresses_due(forgotten_at: datetime, farewell_state: str | None, now: datetime) -> bool:
    """May a forgotten client's addresses go now? Once the farewell is out (or cannot go out)."""
    waited = now - forgotten_at
    if waited >= FAREWELL_GIVE_UP:
        return True
    if waited < FAREWELL_GRACE:
        return False
    return farewell_state is None or farewell_state in FINAL_STATES


def retention_cutoff(now: datetime, days: int | None) -> datetime | None:
    """Message texts from before this moment are erased; None: RETENTION_DAYS is off (keep all)."""
    if not days or days <= 0:
        return None
    return now - timedelta(days=days)
