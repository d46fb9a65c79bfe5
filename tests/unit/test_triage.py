"""Triage: only a message that opens with an urgency word goes to the emergency path."""


import pytest

from flows.triage import is_emergency

EMERGENCIES = [
    "срочно",
    "Срочно!",
    "СРОЧНО нужен расклад",
    "срочноооо",
    "сроооочно, помогите",
    "cpoчно",  # Latin c, p, o
    "CPOЧHO",  # Latin C, P, O, H
    "срчно",
    "сррочно",
    "срочна",
    "срочный расклад пожалуйста",
    "Срочная ситуация",
    "экстренно",
    "Экстренно!!! 😭",
    "экстрено",
    "экстренна",
    "экстренный расклад",
    "экстренная ситуация",
    "SOS",
    "S.O.S",
    "s.o.s. помогите",
    "сос!!!",
    "СОС",
    "sooos",
    "🔥🔥 срочно",
    "...срочно",
    "Здравствуйте, срочно нужен расклад",
    "Здраствуйте! Срочно",
    "Добрый день! Экстренно нужна консультация",
    "Добрый вечер, срочно",
    "Доброе утро 🙏 срочно",
    "привет, срочно",
    "Здравствуйте, Анна! Срочно",
    "Привет Анна срочно",
    "привет анна, срочно",
    "Здравствуйте, Анна Сергеевна! срочно",
    "Анна, добрый день! Срочно",
    "Здравствуйте, добрый день! СРОЧНО",
    "Привет, очень срочно",
    "сро\u0301чно",  # stress mark
    "с\u200bрочно",  # zero-width space inside the word
    "urgent",
    "Urgent!! need a reading",
    "urgently need help",
    "Hello, urgent",
    "Hi! Emergency",
    "hey, SOS",
    "emergency",
    "pilne",
    "Pilnie!",
    "Dzień dobry, pilne",
    "dzien dobry pilnie",
    "cześć, SOS",
]

PLANNED = [
    "не срочно",
    "Не срочно, когда будет время",
    "несрочно",
    "не экстренно",
    "not urgent",
    "Not urgent at all",
    "no rush",
    "nie pilne",
    "Здравствуйте, не срочно",
    "у меня вопрос, не очень срочно",
    "подскажите, это срочно?",
    "Хочу плановый расклад, не срочно",
    "не очень срочно",
    "сосна",
    "сосед залил квартиру",
    "сосиска",
    "Soskind",
    "sospeso",
    "сочно",  # not a typo of «срочно»: a real word
    "сточно",
    "Привет! Вопрос срочный",  # opens with «вопрос», not with the trigger
    "Здравствуйте",
    "Добрый день, хочу расклад",
    "2 вопроса срочно",
    "Мне срочно",
    "Is it urgent?",
    "Dzień dobry, mam pytanie",
    "help",
    "помогите",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_opening_urgency_word_is_an_emergency(text: str) -> None:
    assert is_emergency(text) is True


@pytest.mark.parametrize("text", PLANNED)
def test_everything_else_is_planned(text: str) -> None:
    assert is_emergency(text) is False


def test_tables_are_big_enough() -> None:
    assert len(EMERGENCIES) >= 20
    assert len(PLANNED) >= 20


@pytest.mark.parametrize(
    "text",
    ["", " ", "\n\t  ", "🙏", "🌸🌸🌸", "!!!???", "\x00\xff\xfe\x01", "\x00" * 50, "12345"],
)
def test_empty_and_junk_are_not_emergencies(text: str) -> None:
    assert is_emergency(text) is False


def test_non_string_is_not_an_emergency() -> None:
    assert is_emergency(None) is False  # type: ignore[arg-type]
    assert is_emergency("срочно".encode()) is False  # type: ignore[arg-type]


def test_only_the_start_of_a_long_message_counts() -> None:
    assert is_emergency("срочно " + "а" * 10_000) is True
    assert is_emergency("а" * 10_000 + " срочно") is False
    assert is_emergency("привет " * 2_000 + "срочно") is False


def test_a_word_cut_by_the_look_ahead_is_not_read_as_a_trigger() -> None:
    assert is_emergency("🙏" * 197 + "сосна" + " текст" * 2_000) is False


def test_long_input_is_handled() -> None:
    # Speed belongs to bench/, not to timed assertions here; this only proves a long message is
    # judged by its start.
    assert is_emergency("срочно " + "x" * 10_000) is True
    assert is_emergency("x" * 10_000 + " срочно") is False
