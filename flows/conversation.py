"""The client conversation: one inbound message and the client's state in, effects out.

Pure and synchronous: no I/O, no clock of its own, no channel. Every channel and the scheduler
reach the client through `handle`.
"""

from dataclasses import replace

from flows import boundaries, calls, cancellation, emergency, intake, privacy
from flows.catalogue import Intake
from flows.context import Context
from flows.effects import (
    AddQuestion,
    Alert,
    Button,
    Effect,
    Outcome,
    Say,
    SetStep,
    UpdateClient,
)
from flows.intents import Intent, Recognised, detect_language, recognise
from flows.model import OPEN_STAGES, ClientView, Inbound, Kind, Priority, Stage, Step
from flows.replies import (
    ACCEPT_PAYLOAD,
    DECLINE_PAYLOAD,
    DONE_PAYLOAD,
    HUMAN_PAYLOAD,
    MENU_PAYLOAD,
    SERVICE_PREFIX,
    STATUS_PAYLOAD,
    menu,
    status,
)
from flows.triage import is_emergency
from flows.zones import stated_zone

PAYLOAD_INTENTS = {
    MENU_PAYLOAD: Intent.MENU,
    STATUS_PAYLOAD: Intent.STATUS,
    HUMAN_PAYLOAD: Intent.HUMAN,
    DONE_PAYLOAD: Intent.DONE,
    ACCEPT_PAYLOAD: Intent.YES,
    DECLINE_PAYLOAD: Intent.NO,
    cancellation.CONFIRM_PAYLOAD: Intent.YES,
    cancellation.KEEP_PAYLOAD: Intent.NO,
}
COLLECTING = (Step.QUESTIONS, Step.ONE_QUESTION, Step.CALL_WISH)
KEEP_WHILE_COLLECTING = (
    Intent.DONE, Intent.CANCEL, Intent.MENU, Intent.GREETING, Intent.HUMAN, Intent.LINK_PROBLEM
)


def handle(client: ClientView, msg: Inbound, ctx: Context) -> Outcome:
    effects: list[Effect] = []
    language = _language(client, msg)
    if client.first_contact or language != client.language:
        effects.append(UpdateClient(language=language))
        client = replace(client, language=language)
    if _asks_to_forget(client, msg) and not (client.forget_asked_at and boundaries.flooding(client, ctx)):
        # Ahead of restrictions: having one's data erased is the client's right whatever their boundaries.
        return Outcome((*effects, *privacy.ask(client, msg, ctx.now)))
    if client.restricted:
        return Outcome((*effects, *boundaries.restricted(client), *boundaries.restricted_urgent(client, msg)))
    first_emergency = is_emergency(msg.text) and emergency.open_emergency(client) is None
    if boundaries.flooding(client, ctx) and not first_emergency:
        return Outcome((*effects, *boundaries.flood(client, msg)))
    effects += boundaries.pause_notice(boundaries.guard_payments(client, _route(client, msg, ctx), ctx), ctx)
    alerted = any(isinstance(e, Alert) and e.kind == "emergency" for e in effects)
    if not alerted and any(isinstance(e, (Say, Alert)) for e in effects):
        # After an emergency alert, «she answers from Monday» would contradict «she is alerted».
        effects += boundaries.offhours_notice(client, ctx)
    return Outcome(tuple(effects))


# Switching a known client's language needs a real sentence, and never happens inside a question
# list: a Russian client may well ask about an English song title.
SWITCH_LETTERS = 20
SWITCH_WORDS = 4


def _language(client: ClientView, msg: Inbound) -> str:
    if client.first_contact:
        return detect_language(msg.text, msg.language_hint or client.language)
    sample = msg.text[:300]
    letters = sum(ch.isalpha() for ch in sample)
    words = len([w for w in sample.split() if any(ch.isalpha() for ch in w)])
    if client.step not in COLLECTING and letters >= SWITCH_LETTERS and words >= SWITCH_WORDS:
        return detect_language(msg.text, client.language)
    return client.language


def _recognise(msg: Inbound) -> Recognised:
    if msg.payload:
        if msg.payload.startswith(SERVICE_PREFIX):
            return Recognised(Intent.SERVICE, service=msg.payload.removeprefix(SERVICE_PREFIX))
        if msg.payload in PAYLOAD_INTENTS:
            return Recognised(PAYLOAD_INTENTS[msg.payload])
    if msg.kind is not Kind.TEXT:
        return Recognised(Intent.NONE)
    return recognise(msg.text)


def _route(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    prefix: list[Effect] = []
    if client.first_contact:
        prefix = [Say("greeting-first", {"name": client.name})]
    if not msg.payload and msg.kind is Kind.TEXT and is_emergency(msg.text):
        # No greeting ahead of it: a second message waits the chat's 1 msg/s, and the emergency
        # answer must be the first thing the client reads (it greets a newcomer itself).
        return emergency.emergency(client, msg, ctx)
    seen = _recognise(msg)
    if _collecting(client) and not msg.payload and not msg.text.lstrip().startswith("/"):
        # Inside a question list a message is a question: «Сколько ждать его возвращения?» is not
        # a status request, «Будет ли звонок?» not a format. Buttons and /commands still work.
        if seen.intent not in KEEP_WHILE_COLLECTING:
            seen = Recognised(Intent.NONE)
    if client.step is Step.CONFIRM_CANCEL:
        if seen.intent in (Intent.YES, Intent.NO, Intent.CANCEL):
            return cancellation.confirm(client, seen.intent is not Intent.NO, ctx)
        # Anything else means «never mind»: a later «да» must not cancel anything.
        prefix.append(SetStep(Step.IDLE))
        client = replace(client, step=Step.IDLE)
    if client.step is not Step.CALL_WISH and (msg.payload or "").startswith((calls.SLOT_PREFIX, calls.LATER_PREFIX)):
        # A slot button from an earlier message: fresh slots to move to, if there is a call.
        if calls.booked_call(client) is not None:
            return prefix + calls.reschedule(client, ctx)
        return prefix + [menu(ctx.catalogue, client.language, "menu-prompt-named", name=client.name)]
    if not msg.payload and msg.kind is Kind.TEXT and not _collecting(client):
        zone = stated_zone(msg.text)
        if zone is not None:
            return prefix + calls.set_zone(client, zone, ctx)
        if calls.wants_reschedule(msg.text):
            return prefix + calls.reschedule(client, ctx)
    if seen.intent is Intent.SERVICE:
        service = ctx.catalogue.get(seen.service) or (
            ctx.catalogue.by_index(seen.menu_index) if seen.menu_index and client.step is not Step.TERMS else None
        )
        if service is not None and service.intake is Intake.SITUATION:
            return prefix + emergency.describe(client, service)
        if service is not None:
            return prefix + intake.choose(client, service, ctx)
    if client.first_contact and seen.intent in (Intent.NONE, Intent.GREETING, Intent.MENU, Intent.HELP):
        if seen.intent is Intent.NONE and msg.kind is Kind.TEXT and msg.text.strip():
            return [menu(ctx.catalogue, client.language, "greeting-first-with-text", name=client.name)]
        return [menu(ctx.catalogue, client.language, "greeting-first", name=client.name)]
    return prefix + _answer(client, msg, seen, ctx)


def _answer(client: ClientView, msg: Inbound, seen: Recognised, ctx: Context) -> list[Effect]:
    language = client.language
    match seen.intent:
        case Intent.MENU | Intent.GREETING:
            step = [SetStep(Step.IDLE)] if client.step is not Step.IDLE else []
            return [*step, menu(ctx.catalogue, language, "menu-prompt-named", name=client.name)]
        case Intent.HELP:
            return [menu(ctx.catalogue, language, "help")]
        case Intent.STATUS:
            return list(status(client, ctx))
        case Intent.HUMAN:
            return [
                Alert("human", excerpt=msg.text),
                Say("human-ack", {"name": client.name}, priority=Priority.URGENT),
            ]
        case Intent.DISCOUNT:
            return [Say("discount")]
        case Intent.LINK_PROBLEM:
            target = next((r for r in reversed(client.requests) if r.stage is Stage.DONE), None)
            return [
                Alert("link_problem", excerpt=msg.text, request=target.id if target else None),
                Say("link-problem-ack", {"name": client.name}, priority=Priority.URGENT),
            ]
        case Intent.CANCEL if client.step is Step.IDLE:
            return cancellation.ask(client, msg, ctx)
        case Intent.CANCEL if client.step is not Step.CONFIRM_CANCEL:
            return [SetStep(Step.IDLE), menu(ctx.catalogue, language, "step-cancelled")]
        case Intent.PAID_CLAIM:
            return boundaries.paid_claim(client, msg, ctx)
        case Intent.ADD_QUESTION if client.step not in COLLECTING:
            return intake.add_later(client, seen.rest, ctx)
    return _in_step(client, msg, seen, ctx)


def _in_step(client: ClientView, msg: Inbound, seen: Recognised, ctx: Context) -> list[Effect]:
    match client.step:
        case Step.TERMS:
            accepted = {Intent.YES: True, Intent.NO: False, Intent.CANCEL: False}.get(seen.intent)
            return intake.on_terms(client, accepted, ctx)
        case Step.QUESTIONS:
            if seen.intent is Intent.DONE:
                return intake.submit(client, ctx)
            if not _has_content(msg):
                return [Say("questions-need-text", buttons=(Button(DONE_PAYLOAD, text_id="button-done"),))]
            return intake.collect(client, msg, ctx)
        case Step.CALL_WISH:
            return calls.pick(client, msg, ctx)
        case Step.ONE_QUESTION:
            if not _has_content(msg):
                return [Say("single-need-text")]
            return intake.single(client, msg, ctx)
        case Step.SITUATION if _has_content(msg):
            if emergency.awaiting_situation(client):
                return emergency.emergency(client, msg, ctx)
            request = emergency.open_emergency(client)
            if request is not None:
                return [AddQuestion(request, intake.question_text(msg)), Say("emergency-detail-added")]
    return _unrouted(client, msg, seen, ctx)


def _unrouted(client: ClientView, msg: Inbound, seen: Recognised, ctx: Context) -> list[Effect]:
    """Free text nothing else claimed: answer it usefully, never with a dead end."""
    language = client.language
    if msg.kind is Kind.VOICE:
        return [menu(ctx.catalogue, language, "voice-outside-intake")]
    if msg.kind is not Kind.TEXT:
        return [menu(ctx.catalogue, language, "non-text-received")]
    if not msg.text.strip() or not any(ch.isalnum() for ch in msg.text):
        return [menu(ctx.catalogue, language, "empty-message")]
    one_question = ctx.catalogue.get("one_question")
    chatting = any(
        r.service == "one_question" and r.stage in OPEN_STAGES for r in client.requests
    )
    if chatting and one_question is not None:
        return [menu(ctx.catalogue, language, "one-question-no-chat")]
    if seen.intent in (Intent.YES, Intent.NO, Intent.DONE, Intent.CANCEL, Intent.SERVICE):
        return [menu(ctx.catalogue, language, "menu-prompt-named", name=client.name)]
    return [menu(ctx.catalogue, language, "out-of-scope", name=client.name)]


def _asks_to_forget(client: ClientView, msg: Inbound) -> bool:
    if msg.payload or msg.kind is not Kind.TEXT:
        return False
    if _collecting(client) and not msg.text.lstrip().startswith("/"):
        return False  # inside a question list «удалить ли мне его номер?» is a question; /forget still works
    return recognise(msg.text).intent is Intent.FORGET


def _has_content(msg: Inbound) -> bool:
    return msg.kind is Kind.VOICE or (msg.kind is Kind.TEXT and any(ch.isalnum() for ch in msg.text))


def _collecting(client: ClientView) -> bool:
    """The client is answering what a step asked for (questions, a call wish, the situation)."""
    if client.step is Step.SITUATION:
        return emergency.awaiting_situation(client) or emergency.open_emergency(client) is not None
    return client.step in COLLECTING
