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
    ChangeStage,
    Effect,
    Outcome,
    Say,
    SetStep,
    UpdateClient,
)
from flows.intents import Intent, Recognised
from flows.language.detect import detect_language
from flows.language.understanding import SURE
from flows.model import OPEN_STAGES, ClientView, Inbound, Kind, Priority, Stage, Step
from flows.replies import (
    ACCEPT_PAYLOAD,
    DECLINE_PAYLOAD,
    DONE_PAYLOAD,
    HUMAN_PAYLOAD,
    MENU_PAYLOAD,
    SERVICE_PREFIX,
    STATUS_PAYLOAD,
    URGENT_NO_PAYLOAD,
    URGENT_YES_PAYLOAD,
    menu,
    prices,
    status,
)
from flows.triage import Urgency
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
    URGENT_YES_PAYLOAD: Intent.YES,
    URGENT_NO_PAYLOAD: Intent.NO,
}
# The bot's own button labels, typed instead of tapped («Где мой запрос?»), mean the tap.
LABEL_INTENTS = {
    "button-status": Intent.STATUS,
    "button-human": Intent.HUMAN,
    "button-done": Intent.DONE,
    "button-accept": Intent.YES,
    "button-decline": Intent.NO,
    "button-menu": Intent.MENU,
}
# Asked in any step, answered, and the step goes on where it was (Watson's digressions).
DIGRESSIONS = (
    Intent.STATUS, Intent.PRICE, Intent.HELP, Intent.THANKS, Intent.GREETING, Intent.DISCOUNT,
    Intent.HUMAN, Intent.LINK_PROBLEM,
)
# Inside a question list a message is a question («Сколько ждать его возвращения?» is not a status
# request); only a short message that is surely one of these cuts through.
CUT_THROUGH_COLLECTING = frozenset(
    {Intent.STATUS, Intent.HUMAN, Intent.LINK_PROBLEM, Intent.THANKS, Intent.GREETING, Intent.DONE, Intent.CANCEL,
     Intent.MENU}
)
# Intents that change something (accept terms, close a list, cancel, erase, tell her «paid»): a
# guess below this is not acted on.
CONSEQUENTIAL = frozenset({Intent.YES, Intent.NO, Intent.DONE, Intent.CANCEL, Intent.FORGET, Intent.PAID_CLAIM})
ACT_ON = 0.9
COLLECTING_DIGRESSION_WORDS = 6
_BOOKING = frozenset({"хочу", "запишите", "записаться", "запишусь", "заказать", "want", "book"})
# «Где мой запрос?» vs «Сколько ждать его возвращения?»: a status question names the client's own.
_OWN_REQUEST = frozenset({"мой", "моя", "мое", "мои", "моего", "моему", "моим", "запрос", "заказ", "заявка",
                          "очередь", "очереди", "статус", "счету", "my", "status", "queue", "moj", "moja", "moje"})
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
    if _asks_to_forget(client, msg, ctx) and not (client.forget_asked_at and boundaries.flooding(client, ctx)):
        # Ahead of restrictions: having one's data erased is the client's right whatever their boundaries.
        return Outcome((*effects, *privacy.ask(client, msg, ctx.now)))
    if client.restricted:
        return Outcome((*effects, *boundaries.restricted(client), *boundaries.restricted_urgent(client, msg)))
    seen = _recognise(msg, ctx)
    first_emergency = seen.urgency is Urgency.OPENS and emergency.open_emergency(client) is None
    if boundaries.flooding(client, ctx) and not first_emergency:
        return Outcome((*effects, *boundaries.flood(client, msg)))
    effects += boundaries.pause_notice(boundaries.guard_payments(client, _route(client, msg, seen, ctx), ctx), ctx)
    alerted = any(isinstance(e, Alert) and e.kind == "emergency" for e in effects)
    if not alerted and any(isinstance(e, (Say, Alert)) for e in effects):
        # After an emergency alert, «she answers from Monday» would contradict «she is alerted».
        # The shell composes the turn into one message: the notice is its last paragraph, and the
        # answer's buttons stay on it.
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


def _recognise(msg: Inbound, ctx: Context) -> Recognised:
    if msg.payload:
        if msg.payload.startswith(SERVICE_PREFIX):
            return Recognised(Intent.SERVICE, service=msg.payload.removeprefix(SERVICE_PREFIX))
        if msg.payload in PAYLOAD_INTENTS:
            return Recognised(PAYLOAD_INTENTS[msg.payload])
        if msg.payload.startswith(INTENT_PREFIX):  # «did you mean…» buttons
            try:
                return Recognised(Intent(msg.payload.removeprefix(INTENT_PREFIX)))
            except ValueError:
                return Recognised(Intent.NONE)
    if msg.kind is not Kind.TEXT:
        return Recognised(Intent.NONE)
    seen = ctx.understander.understand(msg.text)
    if seen.intent in CONSEQUENTIAL and seen.confidence < ACT_ON:
        # «не понимаю условия» must never accept the terms: a weak guess is only offered.
        return replace(seen, intent=Intent.NONE, confidence=0.0, alternatives=(seen.intent, *seen.alternatives))
    return seen


def _route(client: ClientView, msg: Inbound, seen: Recognised, ctx: Context) -> list[Effect]:
    prefix: list[Effect] = []
    if client.first_contact:
        prefix = [Say("greeting-first", {"name": client.name})]
    typed = not msg.payload and msg.kind is Kind.TEXT
    if typed and seen.urgency is Urgency.OPENS:
        # No greeting ahead of it: a second message waits the chat's 1 msg/s, and the emergency
        # answer must be the first thing the client reads (it greets a newcomer itself).
        return emergency.emergency(client, msg, ctx)
    if client.step is Step.CONFIRM_URGENT:
        return prefix + _on_urgent_answer(client, msg, seen, ctx)
    if _collecting(client) and typed and not msg.text.lstrip().startswith("/"):
        if not _cuts_through(client, msg, seen):
            seen = Recognised(Intent.NONE)  # content for the step: a question, the situation
    elif typed and seen.urgency is Urgency.MENTIONED and seen.intent is not Intent.SERVICE:
        if emergency.open_emergency(client) is None:
            return prefix + emergency.ask_if_urgent(client, msg, ctx)
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
    if typed and not _collecting(client):
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
            return prefix + intake.choose(client, service, ctx, keep=seen.rest)
    if typed and _unsure(client, seen):
        return prefix + [_did_you_mean(client, seen, ctx)]
    if seen.guessed and seen.confidence < SURE:
        seen = Recognised(Intent.NONE, confidence=seen.confidence)  # a weak guess nobody is asked about: not acted on
    if client.first_contact and seen.intent in (Intent.NONE, Intent.GREETING, Intent.MENU, Intent.HELP, Intent.ADD_QUESTION):
        if seen.intent is Intent.NONE and msg.kind is Kind.TEXT and msg.text.strip():
            return [menu(ctx.catalogue, client.language, "greeting-first-with-text", name=client.name)]
        return [menu(ctx.catalogue, client.language, "greeting-first", name=client.name)]
    if seen.intent in DIGRESSIONS and _pending(client):
        return prefix + _answer(client, msg, seen, ctx) + _resume(client, ctx)
    return prefix + _answer(client, msg, seen, ctx)


def _cuts_through(client: ClientView, msg: Inbound, seen: Recognised) -> bool:
    """Inside a step that collects content, is this message a digression rather than content?"""
    words = msg.text.casefold().replace("ё", "е").split()
    if seen.guessed or seen.confidence < 0.9:
        return False
    if client.step is Step.SITUATION and not emergency.awaiting_situation(client):
        # After an emergency: anything clearly else (a status, another format, the price) is not
        # more of the situation.
        if seen.intent is Intent.SERVICE:
            # «хочу плановый расклад» books; «он не берёт трубку, звонок сбрасывает» is the story.
            return seen.menu_index is None and (len(words) <= 3 or bool(_BOOKING.intersection(words)))
        return seen.intent in (*DIGRESSIONS, Intent.CANCEL, Intent.MENU) and (
            seen.intent is not Intent.STATUS or bool(_OWN_REQUEST.intersection(w.strip("?!.,") for w in words))
        )
    if seen.intent is Intent.PRICE:
        return len(words) <= 3  # «сколько стоит?»; «сколько стоит его машина?» is a question
    if seen.intent not in CUT_THROUGH_COLLECTING:
        return False
    if len(words) > COLLECTING_DIGRESSION_WORDS and seen.intent not in (Intent.DONE, Intent.HUMAN, Intent.LINK_PROBLEM):
        return False
    if seen.intent is Intent.STATUS and not _OWN_REQUEST.intersection(w.strip("?!.,") for w in words):
        return False
    return True


def _pending(client: ClientView) -> bool:
    """A step that waits for the client: answering something else must not lose it."""
    return client.step in (Step.TERMS, *COLLECTING) or emergency.awaiting_situation(client)


def _resume(client: ClientView, ctx: Context) -> list[Effect]:
    """One line that takes the client back to where they were."""
    service = ctx.catalogue.get(client.step_service)
    name = service.name(client.language) if service else ""
    match client.step:
        case Step.TERMS:
            return [Say("resume-terms", {"service": name}, buttons=intake.terms_buttons())]
        case Step.QUESTIONS:
            return [Say("resume-questions", buttons=(Button(DONE_PAYLOAD, text_id="button-done"),))]
        case Step.ONE_QUESTION:
            return [Say("resume-one-question", {"service": name})]
        case Step.CALL_WISH:
            return [Say("resume-call")]
        case Step.SITUATION if emergency.awaiting_situation(client):
            return [Say("resume-situation")]
    return []


def _unsure(client: ClientView, seen: Recognised) -> bool:
    """The classifier's best guess is too weak to act on (and the step has no use for free text)."""
    return (
        seen.confidence < SURE
        and seen.intent is not Intent.NONE
        and bool(seen.alternatives)
        and client.step in (Step.IDLE, Step.CONFIRM_CANCEL)
        and not client.first_contact  # a newcomer gets the greeting and the menu, not a quiz
    )


def _did_you_mean(client: ClientView, seen: Recognised, ctx: Context) -> Say:
    """Botpress-style clarification: the two best guesses as buttons, then the menu."""
    guesses = [i for i in (seen.intent, *seen.alternatives) if i in GUESSABLE][:2]
    buttons = tuple(Button(INTENT_PREFIX + i.value, text_id=f"guess-{i.value}") for i in guesses)
    return Say("did-you-mean", {"name": client.name}, buttons=buttons + (Button(MENU_PAYLOAD, text_id="button-menu"),))


INTENT_PREFIX = "intent:"
# What a «did you mean…» button can offer: intents whose answer needs nothing more from the text.
GUESSABLE = (
    Intent.STATUS, Intent.PRICE, Intent.HELP, Intent.HUMAN, Intent.DISCOUNT, Intent.LINK_PROBLEM,
    Intent.CANCEL, Intent.MENU, Intent.PAID_CLAIM,
)


def _on_urgent_answer(client: ClientView, msg: Inbound, seen: Recognised, ctx: Context) -> list[Effect]:
    """The answer to «is it urgent?»: yes opens the emergency with what they wrote; no, or
    anything else, lets the kept message go the planned way."""
    held = next((r for r in client.requests if r.id == client.step_request_id), None)
    if held is None or held.stage is not Stage.DRAFT or not held.questions:
        return [SetStep(Step.IDLE), *_route(replace(client, step=Step.IDLE), msg, seen, ctx)]
    if seen.intent is Intent.YES or seen.urgency is Urgency.OPENS:
        return emergency.confirm_urgent(client, held, ctx)
    first = Inbound(**{**msg.__dict__, "text": held.questions[0], "payload": None})
    again = replace(ctx.understander.understand(first.text), urgency=None)
    cleared = replace(client, step=Step.IDLE, requests=tuple(r for r in client.requests if r.id != held.id))
    effects: list[Effect] = [ChangeStage(held.id, Stage.CANCELLED), SetStep(Step.IDLE)]
    if seen.intent is Intent.NO:
        return effects + _route(cleared, first, again, ctx)
    # Neither yes nor no: the kept message goes the planned way, and this one after it.
    return effects + _route(cleared, msg, seen, ctx)


def _answer(client: ClientView, msg: Inbound, seen: Recognised, ctx: Context) -> list[Effect]:
    language = client.language
    match seen.intent:
        case Intent.GREETING if _pending(client):
            return [Say("greeting-back", {"name": client.name})]
        case Intent.MENU | Intent.GREETING:
            step = [SetStep(Step.IDLE)] if client.step is not Step.IDLE else []
            return [*step, menu(ctx.catalogue, language, "menu-prompt-named", name=client.name)]
        case Intent.HELP:
            return [menu(ctx.catalogue, language, "help")]
        case Intent.PRICE:
            return [prices(ctx.catalogue, language, seen.service)]
        case Intent.THANKS | Intent.YES if client.step is Step.IDLE and not client.first_contact:
            # «спасибо», «ок, жду»: a short, warm answer, never the menu again.
            waiting = any(r.stage in OPEN_STAGES for r in client.requests)
            return [Say("thanks-waiting" if waiting else "thanks-reply", {"name": client.name})]
        case Intent.THANKS:
            return [Say("thanks-reply", {"name": client.name})]
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
            awaiting_payment = any(r.stage is Stage.SUBMITTED for r in client.requests)  # a pay link, maybe
            if target is None and not awaiting_payment:
                # No result and no payment link sent yet: where the request is, not an alarm for her.
                return [Say("link-none-yet", {"name": client.name}), *status(client, ctx)]
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
            if accepted is None and _is_content(msg, seen):
                return intake.keep_for_later(client, msg, ctx)  # a question typed before accepting
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
            if request is not None and seen.intent is Intent.NONE:
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
    if seen.intent in (Intent.YES, Intent.NO, Intent.DONE, Intent.CANCEL, Intent.SERVICE, Intent.THANKS):
        return [menu(ctx.catalogue, language, "menu-prompt-named", name=client.name)]
    return [menu(ctx.catalogue, language, "out-of-scope", name=client.name)]


def _asks_to_forget(client: ClientView, msg: Inbound, ctx: Context) -> bool:
    if msg.payload or msg.kind is not Kind.TEXT:
        return False
    if _collecting(client) and not msg.text.lstrip().startswith("/") and len(msg.text.split()) > COLLECTING_DIGRESSION_WORDS:
        return False  # inside a question list a long message is a question; /forget still works
    return ctx.understander.understand(msg.text).intent is Intent.FORGET


def _is_content(msg: Inbound, seen: Recognised) -> bool:
    """Something to keep for the request (a question, a situation), not a reply to the step."""
    if msg.payload or seen.intent is not Intent.NONE or not _has_content(msg):
        return False
    return msg.kind is Kind.VOICE or "?" in msg.text or (seen.confidence >= SURE and len(msg.text.split()) >= 3)


def _has_content(msg: Inbound) -> bool:
    return msg.kind is Kind.VOICE or (msg.kind is Kind.TEXT and any(ch.isalnum() for ch in msg.text))


def _collecting(client: ClientView) -> bool:
    """The client is answering what a step asked for (questions, a call wish, the situation)."""
    if client.step is Step.SITUATION:
        return emergency.awaiting_situation(client) or emergency.open_emergency(client) is not None
    return client.step in COLLECTING
