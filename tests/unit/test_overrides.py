"""Her settings document: its rules, and how it lays over catalogue.toml and the text catalogs."""

from dataclasses import replace
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.overrides.document import (
    CANNED,
    CallsDoc,
    HoursDoc,
    PracticeDocument,
    ServiceDoc,
    TextDoc,
    placeholders,
)
from bot.overrides.effective import effective_catalogue, effective_texts, service_doc
from bot.texts import Texts
from handlers.dashboard.settings_forms import service_values
from tests.factories import catalogue

ROOT = Path(__file__).resolve().parents[2]
TEXTS = Texts(ROOT / "locales")
HOURS = HoursDoc(days=[1, 2, 3], start="9:00", end="13.30")
SERVICE = {
    "name_ru": "Расклад",
    "name_en": "Reading",
    "terms_ru": "Условия",
    "terms_en": "Terms",
    "wait_min_days": 10,
    "wait_max_days": 20,
    "price_stars": 700,
    "price_card": "1500.5",
    "price_currency": "eur",
}


def errors(model: type, **values: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    return [str(e["type"]) for e in caught.value.errors()]


def test_the_canned_placeholders_are_the_catalogs_own() -> None:
    for text_id, (allowed, required) in CANNED.items():
        assert required <= allowed
        for language in ("ru", "en"):
            assert placeholders(TEXTS.lookup(text_id, language)) == allowed, (text_id, language)


def test_hours_are_read_as_she_types_them_and_must_make_sense() -> None:
    assert (HOURS.start, HOURS.end, HOURS.days) == (time(9, 0), time(13, 30), [1, 2, 3])
    assert HoursDoc(days=[3, 1, 3], start="10:00", end="11:00").days == [1, 3]
    assert errors(HoursDoc, days=[], start="10:00", end="09:00") == ["set-err-no-days", "set-err-end-before-start"]
    assert errors(HoursDoc, days=[8], start="24:00", end="10:61") == ["less_than_equal", "set-err-time", "set-err-time"]


def test_calls_and_services_refuse_what_would_break_a_booking_or_an_invoice() -> None:
    calls = {
        "days": [1],
        "times": [],
        "every_minutes": 60,
        "minutes": 60,
        "days_ahead_min": 7,
        "days_ahead_max": 21,
        "free_reschedule_hours": 24,
        "offer": 6,
    }
    assert CallsDoc.model_validate({**calls, "times": ["15:00", "9:00", "15:00"]}).times == [time(9), time(15)]
    assert errors(CallsDoc, **{**calls, "days_ahead_max": 3}) == ["set-err-max-below-min"]
    assert errors(CallsDoc, **{**calls, "offer": 0, "minutes": 1}) == ["greater_than_equal", "greater_than_equal"]
    assert errors(ServiceDoc, **{**SERVICE, "price_currency": "ZZZ"}) == ["set-err-currency"]
    assert errors(ServiceDoc, **{**SERVICE, "price_currency": ""}) == ["set-err-currency-needed"]
    assert errors(ServiceDoc, **{**SERVICE, "price_card": "1.005"}) == ["decimal_max_places"]
    assert errors(ServiceDoc, **{**SERVICE, "wait_max_days": 5}) == ["set-err-max-below-min"]
    assert ServiceDoc.model_validate(SERVICE).minor_units() == 150050
    assert ServiceDoc.model_validate({**SERVICE, "price_card": "1500", "price_currency": "JPY"}).minor_units() == 1500


@pytest.mark.parametrize(
    ("text_id", "text", "error"),
    [
        ("offhours", "До {start.__class__}", "set-err-placeholder"),  # never an attribute lookup in format()
        ("offhours", "До {0}", "set-err-placeholder"),
        ("discount", "Скидка {name}", "set-err-placeholder"),
        ("discount", "Скидок нет }", "set-err-braces"),
        ("terms-intro", "{service}: согласны?", "set-err-placeholder-needed"),
        ("hello", "Привет", "set-err-not-canned"),
    ],
)
def test_canned_texts_keep_to_their_placeholders(text_id: str, text: str, error: str) -> None:
    assert errors(PracticeDocument, texts={text_id: {"ru": text}}) == [error]


def test_the_document_round_trips_through_its_json_column() -> None:
    document = PracticeDocument(
        hours=HOURS,
        services={"planned_reading": ServiceDoc.model_validate(SERVICE)},
        texts={"discount": TextDoc(ru="Нет"), "offhours": TextDoc()},
    )
    stored = document.stored()
    assert stored["hours"] == {"days": [1, 2, 3], "start": "09:00", "end": "13:30"}
    assert stored["services"]["planned_reading"]["price_card"] == "1500.5"
    assert "offhours" not in stored["texts"]  # an empty wording is no wording
    assert PracticeDocument.model_validate(stored) == PracticeDocument.model_validate(stored)
    assert PracticeDocument.model_validate(stored).services["planned_reading"].price_card == Decimal("1500.5")


def test_the_document_lays_over_the_file_and_calls_follow_her_hours() -> None:
    base = catalogue()
    document = PracticeDocument(
        hours=HOURS,
        services={
            "planned_reading": ServiceDoc.model_validate(SERVICE),
            "gone_from_the_file": ServiceDoc.model_validate(SERVICE),
        },
    )
    mine = effective_catalogue(base, document)
    assert mine.hours.weekdays == frozenset({0, 1, 2}) and mine.hours.timezone == base.hours.timezone
    # catalogue.toml's [calls] names no days or hours of its own: they follow hers.
    assert (mine.calls.weekdays, mine.calls.start, mine.calls.end) == (mine.hours.weekdays, time(9), time(13, 30))
    assert mine.calls.times == base.calls.times
    reading = mine.get("planned_reading")
    assert reading is not None and reading.intake == base.get("planned_reading").intake
    assert (reading.name("ru"), reading.terms_text("en"), reading.promise_min_days) == ("Расклад", "Terms", 10)
    assert (reading.price_amount, reading.price_currency, reading.price_stars) == (150050, "EUR", 700)
    assert [s.key for s in mine.services] == [s.key for s in base.services]  # the file decides which exist
    assert mine.get("emergency") == base.get("emergency")
    assert effective_catalogue(base, PracticeDocument()) == base

    calls = CallsDoc(
        days=[6],
        times=["12:00"],
        every_minutes=30,
        minutes=45,
        days_ahead_min=1,
        days_ahead_max=3,
        free_reschedule_hours=2,
        offer=2,
    )
    own_calls = effective_catalogue(base, PracticeDocument(hours=HOURS, calls=calls)).calls
    assert (own_calls.weekdays, own_calls.times, own_calls.minutes, own_calls.max_days) == (
        frozenset({5}),
        (time(12),),
        45,
        3,
    )


def test_a_service_shows_in_its_form_as_the_file_has_it() -> None:
    form = service_doc(catalogue().get("planned_reading"))
    assert (form.wait_min_days, form.wait_max_days, form.price_card, form.price_currency) == (4, 14, 3000, "RUB")
    assert form.name_en == "Planned reading (video recording)"
    shown = service_values(catalogue().get("planned_reading"))  # 300000 kopecks
    assert (shown["price_card"], shown["wait_min_days"], shown["price_stars"]) == ("3000", 4, 1500)
    half = replace(catalogue().get("one_question"), price_amount=100050)
    assert service_values(half)["price_card"] == "1000.5"


def test_her_wording_replaces_the_catalog_text_in_her_language_only() -> None:
    texts = effective_texts(TEXTS, PracticeDocument(texts={"discount": TextDoc(ru="Без скидок, {{честно}}.")}))
    assert texts.text("discount", {}, "ru", "UTC") == "Без скидок, {честно}."
    assert texts.text("discount", {}, "en", "UTC") == TEXTS.text("discount", {}, "en", "UTC")
    assert texts.text("menu-prompt", {}, "ru", "UTC") == TEXTS.text("menu-prompt", {}, "ru", "UTC")
    assert TEXTS.text("discount", {}, "ru", "UTC") != texts.text("discount", {}, "ru", "UTC")  # the base is untouched
    assert effective_texts(TEXTS, PracticeDocument()) is TEXTS
