"""Her settings laid over catalogue.toml: the catalogue and texts the flows actually use."""

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from babel.numbers import get_currency_precision

from bot.overrides.document import HoursDoc, PracticeDocument, ServiceDoc
from bot.texts import Texts
from flows.catalogue import Catalogue, Hours, Service


def effective_catalogue(base: Catalogue, document: PracticeDocument) -> Catalogue:
    hours = base.hours if document.hours is None else _hours(document.hours, base.hours.timezone)
    calls = base.calls
    # catalogue.toml's [calls] takes its days and hours from [hours] unless it names its own:
    # while it does (the defaults agree), calls follow her new working hours too.
    if (calls.weekdays, calls.start, calls.end) == (base.hours.weekdays, base.hours.start, base.hours.end):
        calls = replace(calls, weekdays=hours.weekdays, start=hours.start, end=hours.end)
    if document.calls is not None:
        own = document.calls
        calls = replace(
            calls,
            weekdays=frozenset(day - 1 for day in own.days),
            times=tuple(own.times),
            every_minutes=own.every_minutes,
            minutes=own.minutes,
            min_days=own.days_ahead_min,
            max_days=own.days_ahead_max,
            free_reschedule_hours=own.free_reschedule_hours,
            offer=own.offer,
        )
    services = tuple(_service(s, document.services.get(s.key)) for s in base.services)
    return replace(base, hours=hours, calls=calls, services=services)


def _hours(own: HoursDoc, timezone: str) -> Hours:
    return Hours(weekdays=frozenset(day - 1 for day in own.days), start=own.start, end=own.end, timezone=timezone)


def _service(base: Service, own: ServiceDoc | None) -> Service:
    if own is None:
        return base
    return replace(
        base,
        names={"ru": own.name_ru, "en": own.name_en},
        terms={"ru": own.terms_ru, "en": own.terms_en},
        promise_min_days=own.wait_min_days,
        promise_max_days=own.wait_max_days,
        price_stars=own.price_stars,
        price_amount=own.minor_units(),
        price_currency=own.price_currency,
    )


def service_doc(service: Service) -> ServiceDoc:
    """A service as the form shows it (the file's values, or hers)."""
    precision = 10 ** _precision(service.price_currency)
    return ServiceDoc(
        name_ru=service.names.get("ru") or service.name("ru"),
        name_en=service.names.get("en") or service.name("en"),
        terms_ru=service.terms.get("ru", ""),
        terms_en=service.terms.get("en", ""),
        wait_min_days=service.promise_min_days,
        wait_max_days=service.promise_max_days,
        price_stars=service.price_stars,
        price_card=Decimal(service.price_amount) / precision if service.price_currency else Decimal(0),
        price_currency=service.price_currency,
    )


def _precision(currency: str) -> int:
    return get_currency_precision(currency) if currency else 2


class OwnTexts(Texts):
    """The catalogs with her wording of a few canned replies laid over them, per language: a
    language she left empty keeps the catalog's text."""

    def __init__(self, base: Texts, own: Mapping[str, Mapping[str, str]]) -> None:
        vars(self).update(vars(base))  # the compiled catalogs are shared, never compiled again
        self.own = own

    def lookup(self, text_id: str, language: str) -> str:
        mine = self.own.get(text_id, {}).get(language)
        return mine if mine else super().lookup(text_id, language)


def effective_texts(base: Texts, document: PracticeDocument) -> Texts:
    own = {text_id: {k: v for k, v in text.model_dump().items() if v} for text_id, text in document.texts.items()}
    return OwnTexts(base, own) if own else base
