"""Keyword intents of free-text messages (ru, en, pl) and the reply language."""


import pytest

from flows.intents import Intent, Recognised, recognise
from flows.language.detect import detect_language

I = Intent

INTENTS = [
    # MENU
    ("/start", I.MENU),
    ("/start ref_instagram", I.MENU),
    ("/start@PriemBot", I.MENU),
    ("/menu", I.MENU),
    ("меню", I.MENU),
    ("Меню!", I.MENU),
    ("мeню", I.MENU),  # Latin e
    ("menu", I.MENU),
    ("начать", I.MENU),
    ("start", I.MENU),
    ("главное меню", I.MENU),
    ("покажите меню", I.MENU),
    ("Привет, меню", I.MENU),
    # HELP
    ("/help", I.HELP),
    ("помощь", I.HELP),
    ("Help", I.HELP),
    ("pomoc", I.HELP),
    ("помогите разобраться как тут всё работает", I.HELP),
    ("how does it work?", I.HELP),
    # STATUS
    ("/status", I.STATUS),
    ("где мой расклад?", I.STATUS),
    ("Где расклад", I.STATUS),
    ("Когда будет мой расклад?", I.STATUS),
    ("когда будет ответ", I.STATUS),
    ("когда будет готово?", I.STATUS),
    ("какая очередь?", I.STATUS),
    ("моя очередь", I.STATUS),
    ("сколько ждать?", I.STATUS),
    ("сколько ещё ждать", I.STATUS),
    ("статус", I.STATUS),
    ("на каком я месте?", I.STATUS),
    ("скоро?", I.STATUS),
    ("расклад так и не пришёл", I.STATUS),
    ("where is my reading?", I.STATUS),
    ("Where's my reading", I.STATUS),
    ("status", I.STATUS),
    ("when will it be ready?", I.STATUS),
    ("how long", I.STATUS),
    ("how long do I have to wait?", I.STATUS),
    ("my position?", I.STATUS),
    ("kiedy?", I.STATUS),
    ("kiedy będzie gotowe?", I.STATUS),
    ("gdzie mój rozkład?", I.STATUS),
    # HUMAN
    ("/human", I.HUMAN),
    ("человек", I.HUMAN),
    ("живой человек", I.HUMAN),
    ("позовите человека", I.HUMAN),
    ("Позовите!", I.HUMAN),
    ("оператор", I.HUMAN),
    ("хочу поговорить с вами лично", I.HUMAN),
    ("администратор", I.HUMAN),
    ("human", I.HUMAN),
    ("operator please", I.HUMAN),
    ("I want a real person", I.HUMAN),
    ("can I talk to a person?", I.HUMAN),
    ("chcę rozmawiać z człowiekiem", I.HUMAN),
    # DISCOUNT
    ("а скидка есть?", I.DISCOUNT),
    ("Скидочку можно?", I.DISCOUNT),
    ("дешевле можно?", I.DISCOUNT),
    ("а подешевле?", I.DISCOUNT),
    ("уступите немного", I.DISCOUNT),
    ("акция есть?", I.DISCOUNT),
    ("у меня промокод", I.DISCOUNT),
    ("any discount?", I.DISCOUNT),
    ("can it be cheaper", I.DISCOUNT),
    ("promo code?", I.DISCOUNT),
    ("czy jest zniżka?", I.DISCOUNT),
    ("znizka", I.DISCOUNT),
    ("a taniej?", I.DISCOUNT),
    ("rabat", I.DISCOUNT),
    ("скидка на расклад", I.DISCOUNT),  # beats SERVICE
    # LINK_PROBLEM
    ("ссылка не пришла", I.LINK_PROBLEM),
    ("не пришла ссылка", I.LINK_PROBLEM),
    ("Ссылка не открывается 😢", I.LINK_PROBLEM),
    ("не открывается видео", I.LINK_PROBLEM),
    ("не могу открыть ссылку", I.LINK_PROBLEM),
    ("я не получила ссылку", I.LINK_PROBLEM),
    ("ссылка не работает", I.LINK_PROBLEM),
    ("запись не открывается", I.LINK_PROBLEM),
    ("видео расклад не пришло", I.LINK_PROBLEM),  # beats SERVICE
    ("link didn't come", I.LINK_PROBLEM),
    ("the link doesn't open", I.LINK_PROBLEM),
    ("I can't open the link", I.LINK_PROBLEM),
    ("didn't get the link", I.LINK_PROBLEM),
    ("link not working", I.LINK_PROBLEM),
    ("link nie działa", I.LINK_PROBLEM),
    ("nie dostałam linku", I.LINK_PROBLEM),
    # DONE
    ("готово", I.DONE),
    ("Всё!", I.DONE),
    ("все", I.DONE),
    ("это всё", I.DONE),
    ("это все вопросы", I.DONE),
    ("больше нет вопросов", I.DONE),
    ("вопросов больше нет", I.DONE),
    ("закончила", I.DONE),
    ("закончил", I.DONE),
    ("на этом всё", I.DONE),
    ("всё, спасибо 🙏", I.DONE),
    ("done", I.DONE),
    ("That's all", I.DONE),
    ("that is all", I.DONE),
    ("finished", I.DONE),
    ("no more questions", I.DONE),
    ("gotowe", I.DONE),
    ("to wszystko", I.DONE),
    # CANCEL
    ("отмена", I.CANCEL),
    ("отменить", I.CANCEL),
    ("отмените, пожалуйста", I.CANCEL),
    ("я передумала", I.CANCEL),
    ("передумал", I.CANCEL),
    ("/cancel", I.CANCEL),
    ("cancel", I.CANCEL),
    ("cancel my booking", I.CANCEL),
    ("anuluj", I.CANCEL),
    ("отменить созвон", I.CANCEL),  # beats SERVICE
    # PAID_CLAIM
    ("я оплатила", I.PAID_CLAIM),
    ("Я оплатил(а)", I.PAID_CLAIM),
    ("Здравствуйте, я оплатила заявку 12", I.PAID_CLAIM),
    ("Оплачено!", I.PAID_CLAIM),
    ("перевела оплату", I.PAID_CLAIM),
    ("я оплатила, где мой расклад?", I.PAID_CLAIM),  # beats STATUS: she must confirm it
    ("I've paid already", I.PAID_CLAIM),
    ("payment sent", I.PAID_CLAIM),
    ("zapłaciłam", I.PAID_CLAIM),
    ("ещё не оплатила", I.NONE),
    ("как оплатить?", I.NONE),
    ("I haven't paid yet", I.NONE),
    # FORGET (flows/privacy.py; more in tests/unit/test_privacy.py)
    ("удалите мои данные", I.FORGET),
    ("/forget", I.FORGET),
    ("forget me", I.FORGET),
    ("не удаляйте мои данные", I.NONE),
    # YES
    ("да", I.YES),
    ("Да!", I.YES),
    ("даааа", I.YES),
    ("ага", I.YES),
    ("согласна", I.YES),
    ("согласен", I.YES),
    ("принимаю", I.YES),
    ("принято", I.YES),
    ("ок", I.YES),
    ("оk", I.YES),  # Cyrillic о, Latin k
    ("окей", I.YES),
    ("хорошо", I.YES),
    ("понятно, согласна", I.YES),
    ("да, спасибо", I.YES),
    ("yes", I.YES),
    ("OK", I.YES),
    ("okay", I.YES),
    ("agree", I.YES),
    ("I agree", I.YES),
    ("accept", I.YES),
    ("tak", I.YES),
    ("zgadzam się", I.YES),
    ("zgadzam sie", I.YES),
    ("👍", I.YES),
    ("👍🏽", I.YES),
    ("✅", I.YES),
    # NO
    ("нет", I.NO),
    ("Нет.", I.NO),
    ("нееет", I.NO),
    ("не согласна", I.NO),  # not YES
    ("не согласен", I.NO),
    ("нет, спасибо", I.NO),
    ("no", I.NO),
    ("nope", I.NO),
    ("no thank you", I.NO),
    ("nie", I.NO),
    ("👎", I.NO),
    # GREETING
    ("здравствуйте!", I.GREETING),
    ("Здраствуйте", I.GREETING),
    ("привет", I.GREETING),
    ("hi", I.GREETING),
    ("Hello!!", I.GREETING),
    ("добрый день 🌸", I.GREETING),
    ("Здравствуйте, добрый день", I.GREETING),
    ("dzień dobry", I.GREETING),
    ("cześć", I.GREETING),
    # NONE
    ("", I.NONE),
    ("   ", I.NONE),
    ("🌸🌸", I.NONE),
    ("\x00\xff\xfe\x01", I.NONE),
    ("а" * 10_000, I.NONE),
    # THANKS: gratitude and acknowledgement, never the generic fallback
    ("спасибо", I.THANKS),
    ("Спасибо большое!", I.THANKS),
    ("благодарю", I.THANKS),
    ("ок, жду", I.THANKS),
    ("ок спасибо", I.THANKS),
    ("thanks", I.THANKS),
    # PRICE
    ("сколько стоит?", I.PRICE),
    ("какая цена?", I.PRICE),
    ("прайс", I.PRICE),
    ("Здравствуйте, сколько стоит плановый расклад?", I.PRICE),
    ("how much is it?", I.PRICE),
    ("ile kosztuje?", I.PRICE),
    ("how much longer?", I.STATUS),  # a wait, not a price
    ("/unknown", I.NONE),
    ("0", I.NONE),
    ("10", I.NONE),
    ("Что меня ждёт в отношениях с мужем?", I.NONE),
    ("Когда я выйду замуж?", I.NONE),  # a question for the cards, not a status request
    ("Kiedy wyjdę za mąż?", I.NONE),
    ("Да, я понимаю, что всё это займёт время, но хочу понять мужа", I.NONE),
    ("Я всё понимаю, но он не отвечает на сообщения", I.NONE),
    ("не надо отменять", I.NONE),
]


@pytest.mark.parametrize(("text", "intent"), INTENTS)
def test_recognise(text: str, intent: Intent) -> None:
    assert recognise(text).intent is intent


def test_every_intent_is_covered() -> None:
    covered = {intent for _, intent in INTENTS} | {intent for _, _, intent in SERVICES}
    # EMERGENCY is triage's (flows/triage.py), never a keyword's.
    assert covered | {recognise(text).intent for text, _ in ADD_QUESTIONS} == set(Intent) - {I.EMERGENCY}


def test_intent_values_are_stable() -> None:
    assert {i.value for i in Intent} == {
        "none", "menu", "greeting", "status", "human", "discount", "link_problem", "done",
        "add_question", "cancel", "yes", "no", "help", "service", "paid_claim", "forget", "price",
        "thanks", "emergency",
    }


SERVICES = [
    ("плановый расклад", "planned_reading", I.SERVICE),
    ("плановый", "planned_reading", I.SERVICE),
    ("Хочу расклад", "planned_reading", I.SERVICE),
    ("Здравствуйте! Хочу расклад", "planned_reading", I.SERVICE),
    ("видеозапись", "planned_reading", I.SERVICE),
    ("видео расклад", "planned_reading", I.SERVICE),
    ("видео-расклад", "planned_reading", I.SERVICE),
    ("planned reading", "planned_reading", I.SERVICE),
    ("a reading please", "planned_reading", I.SERVICE),
    ("не срочный расклад", "planned_reading", I.SERVICE),
    ("созвон", "planned_call", I.SERVICE),
    ("плановый созвон", "planned_call", I.SERVICE),
    ("звонок", "planned_call", I.SERVICE),
    ("консультация по видеосвязи", "planned_call", I.SERVICE),
    ("call", "planned_call", I.SERVICE),
    ("planned call", "planned_call", I.SERVICE),
    ("один вопрос", "one_question", I.SERVICE),
    ("только один вопрос", "one_question", I.SERVICE),
    ("1 вопрос", "one_question", I.SERVICE),
    ("мне только один вопрос", "one_question", I.SERVICE),
    ("расклад на один вопрос", "one_question", I.SERVICE),
    ("one question", "one_question", I.SERVICE),
    ("single question", "one_question", I.SERVICE),
    ("jedno pytanie", "one_question", I.SERVICE),
    ("ритуал", "ritual", I.SERVICE),
    ("Ритуал на любовь", "ritual", I.SERVICE),
    ("ritual", "ritual", I.SERVICE),
    ("rytuał", "ritual", I.SERVICE),
    ("экстренный расклад", "emergency", I.SERVICE),
    ("экстренный созвон", "emergency", I.SERVICE),
    ("emergency reading", "emergency", I.SERVICE),
]


@pytest.mark.parametrize(("text", "service", "intent"), SERVICES)
def test_service_named_in_words(text: str, service: str, intent: Intent) -> None:
    assert recognise(text) == Recognised(intent, service=service)


@pytest.mark.parametrize(
    ("text", "index"),
    [("1", 1), ("2.", 2), ("3)", 3), (" 9 ", 9), ("1️⃣", 1), ("№4", 4), ("#5", 5),
     ("вариант 2", 2)],
)
def test_bare_menu_number(text: str, index: int) -> None:
    assert recognise(text) == Recognised(Intent.SERVICE, service=None, menu_index=index)


ADD_QUESTIONS = [
    ("ещё вопрос: будет ли повышение?", "будет ли повышение?"),
    ("Еще вопрос — а что с работой?", "а что с работой?"),
    ("ещё один вопрос - он вернётся?", "он вернётся?"),
    ("забыла спросить, а он вернётся?", "а он вернётся?"),
    ("Забыл спросить про деньги", "про деньги"),
    ("забыла добавить: и про маму", "и про маму"),
    ("добавить вопрос", ""),
    ("Добавьте вопрос: что с переездом?", "что с переездом?"),
    ("хочу добавить, как там с работой", "как там с работой"),
    ("дополнительный вопрос: Будет ли свадьба?", "Будет ли свадьба?"),
    ("Здравствуйте! Ещё вопрос: а он?", "а он?"),
    ("ещё вопрос про расклад", "про расклад"),  # beats SERVICE
    ("ещё вопрос: где мой расклад?", "где мой расклад?"),
    ("I forgot to ask: will he call?", "will he call?"),
    ("Add a question: what about money?", "what about money?"),
    ("another question, is he honest?", "is he honest?"),
    ("one more question - what's next?", "what's next?"),
    ("dodatkowe pytanie: czy wróci?", "czy wróci?"),
    ("ещё вопрос: " + "я" * 5_000, "я" * 5_000),
]


@pytest.mark.parametrize(("text", "rest"), ADD_QUESTIONS)
def test_add_question_keeps_the_rest_as_typed(text: str, rest: str) -> None:
    assert recognise(text) == Recognised(Intent.ADD_QUESTION, rest=rest)


@pytest.mark.parametrize("intent", [i for i in Intent if i is not Intent.ADD_QUESTION])
def test_rest_is_empty_outside_add_question(intent: Intent) -> None:
    for text, expected in INTENTS:
        if expected is intent:
            assert recognise(text).rest == ""


def test_menu_index_only_for_bare_numbers() -> None:
    assert recognise("1 вопрос").menu_index is None
    assert recognise("расклад").menu_index is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("где мой расклад", I.STATUS),  # mentions «расклад», STATUS wins
        ("когда будет мой расклад?", I.STATUS),
        ("ссылка на расклад не открывается", I.LINK_PROBLEM),
        ("видео не пришло, где мой расклад?", I.LINK_PROBLEM),
        ("ещё вопрос про ритуал", I.ADD_QUESTION),
        ("не согласна", I.NO),
        ("Да, плановый расклад", I.SERVICE),
        ("Привет, хочу созвон", I.SERVICE),
        ("Да, я согласна, но сначала хочу плановый расклад", I.SERVICE),  # not a bare «да»
        ("Всё время думаю о нём, что он чувствует?", I.NONE),
        ("расклад на отношения с человеком", I.SERVICE),  # «человек» inside a phrase: not HUMAN
        ("скажите, а когда я встречу любовь?", I.NONE),
        ("у меня ещё один вопрос", I.NONE),  # not at the start, and not the one_question format
        ("Хочу расклад. " + "Подробности: " * 60 + "где мой расклад?", I.NONE),  # long text
    ],
)
def test_precedence(text: str, intent: Intent) -> None:
    assert recognise(text).intent is intent


def test_non_string_is_none() -> None:
    assert recognise(None) == Recognised(Intent.NONE)  # type: ignore[arg-type]


def test_long_input_is_none() -> None:
    assert recognise("слово " * 2_000).intent is Intent.NONE


@pytest.mark.parametrize(
    ("text", "hint", "language"),
    [
        ("Здравствуйте", None, "ru"),
        ("Здравствуйте", "en", "ru"),  # the text wins over the hint
        ("hello", None, "en"),
        ("hello", "ru", "en"),
        ("dzień dobry", "pl", "en"),
        ("ok, да", None, "ru"),  # any Cyrillic means ru
        ("🙏", None, "ru"),
        ("🙏", "ru-RU", "ru"),
        ("🙏", "uk", "ru"),
        ("123", "be", "ru"),
        ("", "kk", "ru"),
        ("🙏", "en", "en"),
        ("🙏", "en-US", "en"),
        ("🙏", "pl", "en"),
        ("🙏", "de_DE", "en"),
        ("🙏", "  ", "ru"),
        ("/start", "pl", "en"),  # a command carries no language
        ("/start", None, "ru"),
        ("https://example.com", "ru", "ru"),
    ],
)
def test_detect_language(text: str, hint: str | None, language: str) -> None:
    assert detect_language(text, hint) == language
