"""/restrict and /unrestrict: a client's boundaries, decided from what she typed.

A restricted client is told once, at once, when it ends and how to reach her if it is truly
urgent (flows/boundaries); their messages are still stored. /unrestrict also clears the
payment flag (the client's bookings are auto-processed again).
"""

from flows.model import Priority
from flows.practice.args import Until
from flows.practice.effects import Answer, Notify, PracticeEffect, Restrict, Unrestrict
from flows.practice.views import ClientCard, PracticeContext


def restrict(
    client: ClientCard, until: Until | None, reason: str, ref: str, key: str, ctx: PracticeContext
) -> list[PracticeEffect]:
    """`until` None: no duration given, so until she lifts it (the same as `forever`)."""
    ends = until.at if until is not None else None
    params = {"client": client.name, "ref": ref, "until_at": ends, "reason": reason or "—"}
    if client.restricted and client.restricted_until == ends:
        # Same end: the reason may change, the client is not told again.
        return [
            Restrict(
                client.client_id, ends, reason or client.restriction_reason, announced=client.restriction_announced
            ),
            Answer("cmd-restrict-same", params),
        ]
    notice = Notify(
        client.client_id,
        "client-restricted-until" if ends is not None else "client-restricted-open",
        key=key,
        params={"name": client.name, "until_at": ends},
        priority=Priority.ACTION,
    )
    if client.restricted:
        answer = Answer(
            "cmd-restrict-updated-until" if ends is not None else "cmd-restrict-updated-open",
            {**params, "was": Answer("cmd-until", {"until_at": client.restricted_until})
             if client.restricted_until else Answer("cmd-until-lifted")},
        )
    else:
        answer = Answer("cmd-restrict-ok-until" if ends is not None else "cmd-restrict-ok-open", params)
    return [Restrict(client.client_id, ends, reason, announced=True), notice, answer]


def unrestrict(client: ClientCard, ref: str, key: str) -> list[PracticeEffect]:
    if not client.restricted and not client.flagged:
        return [Answer("cmd-unrestrict-not-restricted", {"client": client.name})]
    effects: list[PracticeEffect] = [Unrestrict(client.client_id)]
    if client.restricted:
        effects.append(
            Notify(
                client.client_id, "client-unrestricted", key=key, params={"name": client.name}, priority=Priority.ACTION
            )
        )
    effects.append(
        Answer(
            "cmd-unrestrict-ok" if client.restricted else "cmd-unflag-ok",
            {"client": client.name, "ref": ref, "flag": Answer("cmd-unrestrict-flag") if client.flagged else ""},
        )
    )
    return effects
