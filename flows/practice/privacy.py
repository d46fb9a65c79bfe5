"""/forget CLIENT and /export CLIENT: erasure on the client's request, and their data as JSON.

/forget erases at once, so it asks for a word more when the client never asked (a /forget meant as
/done must not wipe someone's history): `/forget #12 да`. The farewell is queued before the
erasure and spared by it; the client's addresses go once it is out (flows/privacy.py).
"""

from dataclasses import dataclass
from datetime import datetime

from flows.model import Priority
from flows.practice.effects import Answer, Forget, Notify, PracticeEffect
from flows.privacy import farewell_key

CONFIRM_WORDS = frozenset({"да", "yes", "confirm", "подтверждаю"})


@dataclass(frozen=True)
class ForgetCard:
    client_id: int
    name: str
    asked_at: datetime | None  # their last erasure request; None: they never asked
    forgotten: bool = False
    open_requests: tuple[int, ...] = ()


def split_confirmation(words: list[str]) -> tuple[list[str], bool]:
    """The words naming the client, and whether she added the confirming word at the end."""
    if words and words[-1].casefold().strip(".!") in CONFIRM_WORDS:
        return words[:-1], True
    return words, False


def forget(card: ForgetCard, ref: str, confirmed: bool) -> list[PracticeEffect]:
    params = {"client": card.name, "ref": ref}
    if card.forgotten:
        return [Answer("cmd-forget-already", params)]
    if card.asked_at is None and not confirmed:
        return [Answer("cmd-forget-not-asked", params)]
    key = farewell_key(card.client_id)
    effects: list[PracticeEffect] = [
        # First the farewell (their language, to where they last wrote), then the erasure that spares it.
        # The farewell and her answer name no one: they outlive the erasure.
        Notify(card.client_id, "client-forgotten", key=key, priority=Priority.URGENT),
        Forget(card.client_id, spare_key=key),
        Answer("cmd-forget-ok"),
    ]
    if card.open_requests:
        numbers = ", ".join(f"№{n}" for n in card.open_requests)
        effects.append(Answer("cmd-forget-open-requests", {"numbers": numbers}))
    return effects


def export_link(desk_url: str, client_id: int) -> str:
    return f"{desk_url.rstrip('/')}/clients/{client_id}/export.json"


def export(client_id: int, name: str, desk_url: str) -> list[PracticeEffect]:
    return [Answer("cmd-export-ok", {"client": name, "url": export_link(desk_url, client_id)})]
