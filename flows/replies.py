"""Building blocks of the bot's answers: menu, status lines, ETAs. Text ids live in locales/."""

from datetime import datetime, timedelta

from flows.catalogue import Catalogue, Intake, Service
from flows.context import Context
from flows.effects import Button, Say
from flows.model import ClientView, Priority, RequestView, Stage
from flows.payments import STARS, Price
from flows.queue import Eta, days_from, estimate

MENU_PAYLOAD = "menu"
STATUS_PAYLOAD = "status"
HUMAN_PAYLOAD = "human"
DONE_PAYLOAD = "done"
ACCEPT_PAYLOAD = "terms:yes"
DECLINE_PAYLOAD = "terms:no"
SERVICE_PREFIX = "svc:"
URGENT_YES_PAYLOAD = "urgent:yes"
URGENT_NO_PAYLOAD = "urgent:no"


def menu(catalogue: Catalogue, language: str, text_id: str = "menu-prompt", **params: object) -> Say:
    buttons = tuple(
        Button(payload=SERVICE_PREFIX + s.key, label=f"{i}. {s.name(language)}")
        for i, s in enumerate(catalogue.services, start=1)
    )
    extra = (Button(STATUS_PAYLOAD, text_id="button-status"), Button(HUMAN_PAYLOAD, text_id="button-human"))
    return Say(text_id, params, buttons=buttons + extra)


def price_of(service: Service) -> object:
    """Her saved price as the client reads it: her own wording, the card price, or Stars."""
    if service.price:
        return service.price
    if service.price_amount > 0 and service.price_currency:
        return Price(service.price_currency, service.price_amount)
    if service.price_stars > 0:
        return Price(STARS, service.price_stars)
    return Say("price-on-request")


def prices(catalogue: Catalogue, language: str, service_key: str | None = None) -> Say:
    """«Сколько стоит…»: the named format's price, or every format's, with the menu to book."""
    named = catalogue.get(service_key) if service_key else None
    services = [named] if named is not None else list(catalogue.services)
    lines = tuple(Say("price-line", {"service": s.name(language), "price": price_of(s)}) for s in services)
    return menu(catalogue, language, "price-list", lines=lines)


def eta_text(eta: Eta) -> Say:
    if eta.deadline is not None:
        return Say("eta-deadline", {"deadline_at": eta.deadline})
    if eta.earliest is None or eta.latest is None:
        return Say("eta-unknown")
    if eta.earliest.date() == eta.latest.date():
        return Say("eta-around", {"eta_date": eta.earliest})
    text_id = "eta-range-estimate" if eta.estimated else "eta-range"
    return Say(text_id, {"earliest_date": eta.earliest, "latest_date": eta.latest})


def eta_before_payment(eta: Eta, now: datetime) -> Say:
    """Unpaid, the wait has not started: the estimate in days from payment, not in dates that
    would be wrong by however long the payment takes."""
    days = days_from(eta, now) if eta.deadline is None else None
    if days is None:
        return eta_text(eta)
    return Say("eta-days-estimate" if eta.estimated else "eta-days", {"days": days})


# A question shown back to the client in a confirmation: long ones shortened at a word.
QUESTION_SHOWN = 120
VOICE_MARK = "[voice]"  # flows/intake.question_text


def question_lines(questions: tuple[str, ...]) -> tuple[Say, ...]:
    """The question list as the client reads it back: numbered, quoted, long ones shortened."""
    lines = []
    for n, question in enumerate(questions, start=1):
        if question.startswith(VOICE_MARK):
            lines.append(Say("question-line-voice", {"n": n}))
            continue
        text = " ".join(question.split())
        if len(text) > QUESTION_SHOWN:
            text = text[:QUESTION_SHOWN].rsplit(" ", 1)[0].rstrip(",.;:—-") + "…"
        lines.append(Say("question-line", {"n": n, "text": text}))
    return tuple(lines)


def request_eta(service: Service, request: RequestView, ctx: Context) -> Eta:
    if request.deadline_at is not None:
        return Eta(deadline=request.deadline_at, estimated=False)
    position = request.position or ctx.queue_lengths.get(service.key, 0) or 1
    return estimate(service, position, ctx.now, ctx.stats)


def _eta_line(service: Service, request: RequestView, eta: Eta, now: datetime) -> Say:
    if service.intake is Intake.SITUATION and not eta.known:
        return Say("eta-after-payment")  # unpaid: the 24 h clock has not started yet
    unpaid = request.stage is Stage.SUBMITTED and not request.paid
    if unpaid and service.intake in (Intake.QUESTIONS, Intake.ONE_QUESTION):
        return eta_before_payment(eta, now)
    return eta_text(eta)


def status_line(client: ClientView, request: RequestView, ctx: Context) -> Say | None:
    service = ctx.catalogue.get(request.service)
    if service is None:
        return None
    params: dict[str, object] = {
        "service": service.name(client.language),
        "stage": Say(f"stage-{request.stage.value}"),
        "number": request.id,
        "eta": _eta_line(service, request, request_eta(service, request, ctx), ctx.now),
    }
    if request.stage is Stage.IN_WORK or request.position is None:
        return Say("status-line-no-position", params)
    return Say("status-line", {**params, "position": request.position})


def status(client: ClientView, ctx: Context) -> list[Say]:
    lines = [
        line
        for request in client.requests
        if request.stage in (Stage.SUBMITTED, Stage.QUEUED, Stage.IN_WORK)
        and (line := status_line(client, request, ctx)) is not None
    ]
    if not lines:
        results = recent_results(client, ctx)
        if results:  # delivered: what they most likely look for is the result and its link
            return [menu(ctx.catalogue, client.language, "status-results", name=client.name, lines=results)]
        return [menu(ctx.catalogue, client.language, "status-none", name=client.name)]
    return [Say("status-header", {"name": client.name, "count": len(lines)}), *lines]


# Results shown again when a client asks «где мой расклад?» after delivery.
RESULTS_SHOWN = 3
RESULTS_RECENT = timedelta(days=90)


def recent_results(client: ClientView, ctx: Context) -> tuple[Say, ...]:
    now = ctx.now
    done = [
        r
        for r in client.requests
        if r.stage is Stage.DONE and r.done_at is not None and now - r.done_at < RESULTS_RECENT
    ]
    done.sort(key=lambda r: r.done_at or now, reverse=True)
    return tuple(
        Say(
            "status-result-line" if r.result_link else "status-result-line-no-link",
            {
                "number": r.id,
                "service": service.name(client.language) if (service := ctx.catalogue.get(r.service)) else r.service,
                "done_date": r.done_at,
                "link": r.result_link or "",
            },
        )
        for r in done[:RESULTS_SHOWN]
    )


def offhours(ctx: Context, now: datetime) -> Say:
    hours = ctx.catalogue.hours
    return Say(
        "offhours",
        {
            "start": hours.start.strftime("%H:%M"),
            "end": hours.end.strftime("%H:%M"),
            "next_at": hours.next_opening(now),
        },
        priority=Priority.REPLY,
    )
