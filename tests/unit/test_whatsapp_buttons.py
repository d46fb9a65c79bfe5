"""WhatsApp buttons without the network: which messages become interactive, how titles are fitted
into WhatsApp's limits, and how a tap in a Twilio form becomes the flows' payload."""

from datetime import UTC, datetime

import pytest

from bot.whatsapp.buttons import (
    LIST_PICKER,
    QUICK_REPLY,
    Shape,
    fit,
    interactive,
    shape_for,
)
from bot.whatsapp.inbox import inbound_from_form

ACCEPT = [{"label": "Принимаю условия", "payload": "terms:yes"}, {"label": "Назад к форматам", "payload": "terms:no"}]


def buttons(count: int) -> list[dict[str, str]]:
    return [{"label": f"Вариант {n}", "payload": f"choice:{n}"} for n in range(1, count + 1)]


@pytest.mark.parametrize(
    "label, limit, fitted",
    [
        ("Где мой запрос?", 20, "Где мой запрос?"),
        ("Готово, это все вопросы", 20, "Готово, это все…"),  # cut at a word, punctuation dropped
        ("1. Плановый расклад (видеозапись)", 24, "1. Плановый расклад…"),
        ("Сверхдлинноеоднословноеназвание", 20, "Сверхдлинноеодносло…"),  # no word to cut at
        ("  два\nслова  ", 20, "два слова"),  # one line
    ],
)
def test_titles_are_fitted_within_the_limit(label: str, limit: int, fitted: str) -> None:
    assert fit(label, limit) == fitted and len(fitted) <= limit


@pytest.mark.parametrize("count, kind", [(1, QUICK_REPLY), (3, QUICK_REPLY), (4, LIST_PICKER), (10, LIST_PICKER)])
def test_up_to_three_are_quick_replies_and_up_to_ten_a_list(count: int, kind: str) -> None:
    assert shape_for(count) == Shape(kind, count)


def test_a_quick_reply_carries_the_body_then_title_and_id_pairs() -> None:
    message = interactive("Условия: …", ACCEPT, list_button="Выбрать")
    assert message is not None and message.shape == Shape(QUICK_REPLY, 2)
    assert message.variables == {
        "1": "Условия: …",
        "2": "Принимаю условия",
        "3": "terms:yes",
        "4": "Назад к форматам",
        "5": "terms:no",
    }


def test_a_list_carries_its_own_button_as_variable_two() -> None:
    message = interactive("Выберите время", buttons(5), list_button="Выбрать")
    assert message is not None and message.shape == Shape(LIST_PICKER, 5)
    assert message.variables["2"] == "Выбрать"
    assert (message.variables["3"], message.variables["4"]) == ("Вариант 1", "choice:1")
    assert (message.variables["11"], message.variables["12"]) == ("Вариант 5", "choice:5")


def test_a_shorter_wording_replaces_a_label_only_when_it_would_be_cut() -> None:
    done = [{"label": "Готово, это все вопросы", "payload": "done"}]
    message = interactive("Пишите вопросы", done, list_button="Выбрать", short_labels={"done": "Это все вопросы"})
    assert message is not None and message.variables["2"] == "Это все вопросы"
    status = [{"label": "Где мой запрос?", "payload": "status"}]
    kept = interactive("…", status, list_button="Выбрать", short_labels={"status": "Статус"})
    assert kept is not None and kept.variables["2"] == "Где мой запрос?"


@pytest.mark.parametrize(
    "text, given",
    [
        ("Текст", []),  # nothing to tap
        ("Текст", buttons(11)),  # more than a list holds
        ("Т" * 1025, ACCEPT),  # over the interactive body limit: the plain text takes 1600
        ("   ", ACCEPT),  # an empty body variable is refused by Twilio
        ("Текст", [{"label": "Без данных", "payload": ""}]),
        ("Текст", [{"label": "", "payload": "status"}]),
        ("Текст", [{"label": "Длинно", "payload": "p" * 201}]),  # over Twilio's id limit
        # Two labels that come out the same once cut: WhatsApp requires distinct titles.
        (
            "Текст",
            [
                {"label": "Одинаковое начало, конец А", "payload": "a"},
                {"label": "Одинаковое начало, конец Б", "payload": "b"},
            ],
        ),
    ],
)
def test_what_stays_plain_text(text: str, given: list[dict[str, str]]) -> None:
    assert interactive(text, given, list_button="Выбрать") is None


def test_the_resources_are_generic_with_a_sample_for_every_variable() -> None:
    definition = Shape(LIST_PICKER, 4).definition("ru")
    assert definition["friendly_name"] == "priem_list_picker_4_v1"
    picker = definition["types"][LIST_PICKER]
    assert picker["body"] == "{{1}}" and picker["button"] == "{{2}}"
    assert picker["items"][-1] == {"item": "{{9}}", "id": "{{10}}"}
    assert sorted(definition["variables"], key=int) == [str(n) for n in range(1, 11)]
    quick = Shape(QUICK_REPLY, 3).definition("ru")["types"][QUICK_REPLY]
    assert quick["actions"][0] == {"title": "{{2}}", "id": "{{3}}"}


FORM = {"MessageSid": "SM" + "1" * 32, "From": "whatsapp:+79161234567", "ProfileName": "Анна"}
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields, payload, text",
    [
        (
            {"Body": "Принимаю условия", "ButtonText": "Принимаю условия", "ButtonPayload": "terms:yes"},
            "terms:yes",
            "Принимаю условия",
        ),
        (
            {"Body": "вт 1 декабря, 11:00", "ListId": "slot:202612010800", "ListTitle": "вт 1 декабря, 11:00"},
            "slot:202612010800",
            "вт 1 декабря, 11:00",
        ),
        ({"Body": "", "ListId": "status", "ListTitle": "Где мой запрос?"}, "status", "Где мой запрос?"),
        ({"Body": "Да", "ButtonPayload": "x" * 65}, None, "Да"),  # none of ours: the words decide
        ({"Body": "просто текст"}, None, "просто текст"),
    ],
)
def test_a_tap_in_a_twilio_form_is_the_flows_payload(fields: dict[str, str], payload: str | None, text: str) -> None:
    inbound = inbound_from_form({**FORM, **fields}, NOW)
    assert (inbound.payload, inbound.text) == (payload, text)
