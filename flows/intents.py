"""What a free-text message asks for, recognised from keywords (ru, en, pl).

Menu buttons are the always-available alternative; this module only has to be good enough that
free text never leads into a labyrinth (seed 003). When in doubt it answers NONE and lets the
flow answer for the current step: a wrong guess is worse than asking again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flows.language.normalize import clean, collapse, fold_word, key
from flows.triage import Urgency, greeting_length


class Intent(StrEnum):
    NONE = "none"  # nothing recognised: the flow answers for the current step
    MENU = "menu"  # /start, /menu, «меню», "menu", "start"
    GREETING = "greeting"  # a bare «здравствуйте», "hi" with nothing else
    STATUS = "status"  # «где мой расклад?», «когда будет», /status, "where is my reading"
    HUMAN = "human"  # /human, «позовите человека», «живой человек», "operator"
    DISCOUNT = "discount"  # «скидка», «дешевле», "discount", «zniżka»
    LINK_PROBLEM = "link_problem"  # «ссылка не пришла / не открывается», "link doesn't open"
    DONE = "done"  # «готово», «всё», «это все вопросы», "done", "that's all"
    ADD_QUESTION = "add_question"  # «забыла спросить», «ещё вопрос», "add a question"
    CANCEL = "cancel"  # «отмена», «передумала», "cancel"
    YES = "yes"  # «да», «согласна», «принимаю», "yes", "ok", "agree"
    NO = "no"  # «нет», "no"
    HELP = "help"  # /help, «помощь», "help"
    SERVICE = "service"  # a catalogue format named in words or by its menu number
    PAID_CLAIM = "paid_claim"  # «я оплатила», «перевела оплату», "I paid", «zapłaciłam»
    FORGET = "forget"  # «удалите мои данные», "forget me", /forget: erasure on request (flows/privacy.py)
    PRICE = "price"  # «сколько стоит?», «прайс», "how much", «ile kosztuje»
    THANKS = "thanks"  # «спасибо», «благодарю», «ок, жду», "thanks": gratitude and acknowledgement
    EMERGENCY = "emergency"  # «срочно…» (flows/triage.py decides; never from keywords here)


@dataclass(frozen=True)
class Recognised:
    intent: Intent
    service: str | None = None  # catalogue key when intent is SERVICE and a format was named
    menu_index: int | None = None  # a bare menu number "1".."9" (SERVICE, service None)
    rest: str = ""  # ADD_QUESTION: the client's text after the trigger phrase, as typed
    confidence: float = 1.0  # 1.0 for commands, buttons and numbers; the classifier's otherwise
    alternatives: tuple[Intent, ...] = ()  # the next best guesses, for «did you mean…» buttons
    urgency: Urgency | None = None
    guessed: bool = False  # from the classifier, not from a rule, a label or a number  # flows/triage.py: opens with «срочно», or mentions it


_NONE = Recognised(Intent.NONE)
# Longer messages are question texts or stories; sniffing keywords in them would hijack the
# flow («…и когда будет готово ваше мнение о моём муже…»). Only ADD_QUESTION, anchored at the
# start, is looked for in them.
_MAX_LEN = 400
_SHORT = 8  # words: CANCEL/MENU keywords only count in messages this short

_TOKEN = re.compile(r"[^\W_]+(?:['’ʼ][^\W_]+)*")
_COMMAND = re.compile(r"/([A-Za-z_]+)(?:@\w+)?(?:\s|$)")
_COMMANDS = {"start": Intent.MENU, "menu": Intent.MENU, "help": Intent.HELP,
             "status": Intent.STATUS, "human": Intent.HUMAN, "cancel": Intent.CANCEL,
             "forget": Intent.FORGET}
# «№» arrives as "No" after NFKC; "1️⃣" as "1" once the keycap marks are dropped.
_MENU_NUMBER = re.compile(r"(?:no\.?|#|номер|вариант|пункт|option|opcja)?\s*([1-9])\s*[.)]?",
                          re.IGNORECASE)
# Skin tones and spaces do not change what a thumbs-up means.
_EMOJI_NOISE = re.compile("[\U0001F3FB-\U0001F3FF\\s]")
_YES_EMOJI = frozenset("👍👌✅✔☑🆗")
_NO_EMOJI = frozenset("👎❌🚫✖")
_FILLER = (r"(?:спасибо(?: большое| огромное)?|спс|пожалуйста|плиз|please|pls|thanks|thank you"
           r"|thx|dziekuje|prosze)")
_EDGE_FILLERS = re.compile(rf"^(?:{_FILLER} )+|(?: {_FILLER})+$")
_LEADING_SEPARATORS = re.compile(r"^[\s:;,.!?\-–—…]+")


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _whole_key(folded: Iterable[str]) -> str:
    """Comparison form of a whole short message: fillers off the edges, letters collapsed."""
    joined = " ".join(folded)
    stripped = _EDGE_FILLERS.sub("", joined)
    return " ".join(collapse(w) for w in (stripped or joined).split())


def _table(*phrases: str) -> frozenset[str]:
    return frozenset(_whole_key(fold_word(w) for w in _TOKEN.findall(clean(p))) for p in phrases)


# Whole-message phrases, compared after greetings and polite fillers are removed.
_WHOLE: tuple[tuple[Intent, frozenset[str]], ...] = (
    (Intent.MENU, _table("меню", "главное меню", "в меню", "начать", "начать заново", "старт",
                         "назад", "start", "menu", "main menu", "back", "go back", "options", "menu główne",
                         "что у вас есть", "что есть", "покажите что есть", "варианты",
                         "список услуг", "перечень услуг", "restart", "с начала", "заново")),
    (Intent.HELP, _table("помощь", "помогите", "справка", "как пользоваться", "что делать",
                         "не понимаю", "я запуталась", "я запутался", "справка", "help",
                         "how does it work", "what do i do", "i'm confused", "im confused", "pomoc",
                         "jak to działa")),
    (Intent.STATUS, _table("скоро", "ну что", "ну что там", "как там", "когда", "ну когда",
                           "когда уже", "есть новости", "how long", "when", "any news", "kiedy",
                           "kiedy będzie")),
    (Intent.HUMAN, _table("человек", "человека", "позовите", "person", "agent")),
    (Intent.DONE, _table("готово", "всё", "это всё", "это все вопросы", "все вопросы",
                         "больше нет вопросов", "вопросов больше нет", "больше вопросов нет",
                         "вопросов нет", "нет вопросов", "закончила", "закончил", "на этом всё",
                         "пока всё", "у меня всё", "вроде всё", "всё готово", "done", "all done",
                         "i'm done", "that's all", "that is all", "that's it", "finished",
                         "no more questions", "gotowe", "to wszystko", "skończyłam", "koniec")),
    (Intent.CANCEL, _table("стоп", "stop")),
    (Intent.YES, _table("да", "ага", "угу", "ок", "окей", "хорошо", "ладно", "конечно",
                        "да конечно", "согласна", "согласен", "я согласна", "я согласен",
                        "да согласна", "да согласен", "понятно согласна", "понятно согласен",
                        "принимаю", "принято", "принимаю условия", "согласна с условиями",
                        "верно", "подходит", "устраивает", "давайте", "ок понятно", "yes",
                        "yeah", "yep", "yup", "sure", "ok", "okay", "agree", "i agree",
                        "agreed", "accept", "i accept", "of course", "fine", "tak",
                        "zgadzam się", "akceptuję", "dobrze", "oczywiście")),
    (Intent.NO, _table("нет", "неа", "не", "не буду", "пока нет", "не сейчас", "not now", "не согласна", "не согласен", "нет не согласна",
                       "не принимаю", "не надо", "нет не надо", "не хочу", "не подходит",
                       "не устраивает", "no", "nope", "nah", "i don't agree", "disagree", "nie",
                       "nie zgadzam się")),
)
_THANKS = frozenset(" ".join(collapse(fold_word(w)) for w in _TOKEN.findall(clean(p))) for p in ("спасибо", "спасибо большое", "спасибо огромное", "огромное спасибо", "спс",
    "спасибочки", "спасиб", "сибо", "благодарю", "благодарю вас", "жду", "ждем",
    "буду ждать", "ок жду", "хорошо жду", "ладно жду", "хорошо буду ждать",
    "жду с нетерпением", "понятно", "ясно", "поняла", "понял", "ок поняла",
    "ок понял", "понятно спасибо", "поняла спасибо", "понял жду", "поняла жду",
    "ясно спасибо", "хорошо спасибо", "ок спасибо", "спасибо жду",
    "спасибо всё понятно", "thanks", "thank you", "thank you so much", "thx",
    "thanks i'll wait", "ok waiting", "got it", "got it thanks", "dziękuję",
    "dzięki"))
_GREETING_TAILS = _table("всем", "вам", "there", "all", "everyone", "wszystkim")

_ADD_TRIGGERS = sorted(
    (tuple(key(w) for w in _TOKEN.findall(p)) for p in (
        "еще вопрос", "еще один вопрос", "еще вопросик", "и еще вопрос", "можно еще вопрос",
        "добавить вопрос", "добавьте вопрос", "добавлю вопрос", "можно добавить вопрос",
        "хочу добавить вопрос", "хочу добавить", "забыла спросить", "забыл спросить",
        "забыла добавить", "забыл добавить", "дополнительный вопрос", "add a question",
        "add question", "another question", "one more question", "i forgot to ask",
        "forgot to ask", "dodatkowe pytanie", "jeszcze jedno pytanie", "zapomniałam zapytać",
        "zapomniałem zapytać",
    )),
    key=len, reverse=True,
)

_LINK_NOUN = _rx(r"\b(?:ссылк|линк|видео|файл|link|video|recording|file|nagrani|plik)\w*",
                 r"\bзапис(?:ь|и|ью)\b")
_LINK_FAILURE = _rx(
    r"\bне (?:пришл|приход|пришел|открыва|открыл|открыть|получил|получаю|работает|грузит"
    r"|загружа|воспроизвод|вижу|видно|могу (?:открыть|посмотреть|найти|скачать))\w*",
    r"\bнет (?:ссылки|видео|записи)\b", r"\bгде (?:же )?(?:ссылк|линк)\w*",
    r"\b(?:didnt|did not|havent|have not) (?:come|arrive|get|got|gotten|receive|open|work)\w*",
    r"\b(?:doesnt|does not|wont|will not|cant|cannot|can not) (?:open|work|load|play|find"
    r"|access|see)\b",
    r"\bnot (?:working|opening|loading|arrived|received)\b", r"\b(?:broken|expired)\b",
    r"\bwhere(?: is|s)? (?:the |my )?link\b",
    r"\bnie (?:dziala|otwiera|przyszed|przysz|doszed|dostal|moge otworzyc|mam linku)\w*",
)
_STATUS = _rx(
    r"\bгде (?:же |там )?(?:мой |моя |мое |мои )?(?:расклад|ответ|видео|запис|заказ|результат|запрос|заявк)",
    r"\bкогда (?:же |уже )?(?:будет|будут|придет|пришлете|сделаете|получу|ждать)"
    r"(?: уже| же)?(?: мой| моя| мое| мои)? (?:расклад|ответ|готов|видео|запис|результат)",
    r"\bкогда (?:же |уже )?(?:мой |моя |мое )?(?:расклад|ответ|готов)",
    r"\bсколько (?:еще |мне )*ждать\b", r"\bочеред(?:ь|и|ью)\b", r"\bстатус",
    r"\bна как(?:ом|ое) (?:я )?мест", r"\bкакое (?:у меня )?место\b",
    r"\b(?:расклад|ответ)\w* (?:так и |еще |до сих пор )?не (?:пришел|пришла|готов|получил)",
    r"\bне (?:пришел|получил\w*) (?:мой |еще )?(?:расклад|ответ)",
    r"\bкак там (?:мой )?(?:расклад|ответ|заказ)",
    r"\bwhere(?: is|s)? my (?:reading|order|video|answer|result|recording)",
    r"\bstatus\b", r"\bwhen will (?:it|my \w+|the \w+) be (?:ready|done)\b",
    r"\bwhen (?:is|will) my (?:reading|order|answer|call|video)\b",
    r"\bhow long (?:do i|will i|should i|until|till|will it|does it|is the|left|to wait)\b",
    r"\bhow much longer\b", r"\bany news\b", r"\bmy (?:position|place|turn)\b", r"\bqueue\b",
    r"\bkiedy (?:bedzie|beda|dostane|otrzymam|gotow)", r"\bgdzie (?:jest )?moj", r"\bkolejk",
)
_HUMAN = _rx(
    r"\bжив(?:ой|ого|ому|ым) (?:человек|оператор|админ)", r"\bпозов\w*", r"\bпозвать\b",
    r"\bоператор", r"\bадминистратор",
    r"\b(?:поговорить|связаться|общаться) с (?:вами|тобой|человеком|тарологом|психологом)",
    r"\bhuman\b", r"\boperator\b", r"\b(?:real|live) person\b",
    r"\b(?:talk|speak) (?:to|with) (?:a |the )?(?:person|human|you|someone)\b",
    r"\bz (?:czlowiekiem|konsultantem)\b",
)
_DISCOUNT = _rx(
    r"\bскид(?:к|очк)\w*", r"\b(?:по)?дешевле\b", r"\bуступ(?:ите|ить|ишь|и)\b",
    r"\bакци(?:я|и|ю|ей|ях)\b", r"\bпромо\w*", r"\bdiscount\w*", r"\bcheaper\b", r"\bpromo\w*",
    r"\bcoupon\w*", r"\bzniz\w*", r"\btaniej\b", r"\brabat\w*", r"\bсниз\w* (?:\w+ )?цен",
    r"\btoo expensive\b", r"\bочень дорого\b", r"\bскинете\b",
)
# «Сколько стоит?», «прайс»: the price of a format or of all; «сколько ждать» is a status question.
_PRICE = _rx(
    r"\bсколько (?:\w+ )?(?:стоит|стоят|стоить|будет стоить|стоимость)", r"\bстоимост\w*",
    r"\bсколько (?:\w+ ){0,2}(?:платить|оплачивать|заплатить|денег)\b", r"\bцен(?:а|ы|у|е|ой|ник|ами)?\b",
    r"\bпрайс\w*", r"\bпоч[её]м\b", r"\bво сколько обойд\w*", r"\bhow much\b(?! longer)", r"\bprices?\b",
    r"\bcosts?\b", r"\bile kosztuj\w*", r"\bkoszt\w*", r"\bcen(?:a|y|e|nik)\w*",
)
# «Я оплатил(а)»: a short message saying the payment was made; «не оплатила» is not one.
_PAID = _rx(
    r"(?<!\bне )(?<!\bнe )\b(?:оплатил|оплатила|оплатили|оплачено|оплачена|оплатила\w*)\b",
    r"(?<!\bне )\b(?:перевел|перевела|скинул|скинула|отправил|отправила) (?:оплат|деньг|денег|перевод)\w*",
    r"\bоплата (?:отправлена|прошла|ушла)\b",
    r"\bi(?:ve)? (?:have |just |already )*(?:paid|sent the payment|made the payment)\b",
    r"\bpayment (?:is )?(?:sent|done|made|completed)\b", r"\bsent (?:you )?the money\b",
    r"\b(?:zaplacil\w*|oplacil\w*|przelal\w*)",
)
_PAID_MAX_WORDS = 15
# «Удалите мои данные» / "forget me": the client asks to be erased. Short messages only, and never a
# negation («не удаляйте мои данные»): a story that mentions deleting something is not a request.
_FORGET = _rx(
    r"\b(?:удал|сотр|стер)\w* (?:(?:пожалуйста|все|всю|всё|полностью|насовсем|навсегда) )*"
    r"(?:мои|мою|мой|моих|мое|меня)(?: (?:персональн|личн)\w*)? (?:данн|информац|переписк|истори|сообщени"
    r"|профил|контакт|аккаунт)\w*",
    r"\b(?:удалите|удали|сотрите|сотри) меня\b", r"\bзабуд(?:ь|ьте) (?:про |обо )?(?:меня|мне)\b",
    r"\bзабыл(?:и|а)? меня\b",
    r"\bforget (?:about )?me\b",
    r"\b(?:delete|erase|remove|wipe) (?:all )?(?:of )?my (?:personal )?(?:data|information|info|history"
    r"|messages|account|details)\b",
    r"\bright to (?:be forgotten|erasure)\b",
    r"\b(?:usun|skasuj|wymaz)\w* (?:wszystkie )?moje dane\b", r"\bzapomnij(?:cie)? (?:o )?mnie\b",
)
# «Как удалить мои данные из тиндера?» asks for advice, not for erasure here.
_FORGET_NEGATED = _rx(r"\bне (?:надо |нужно |стоит |хочу )?(?:удал|сотр|стир|забыв|забуд)",
                      r"\bкак (?:мне |бы )?(?:удал|сотр|стер)", r"\bhow (?:do i |to |can i |should i )(?:delete|erase)",
                      r"\b(?:dont|do not|never) (?:delete|erase|remove|wipe|forget)", r"\bnie (?:usuw|kasuj|zapomin)",
                      r"\bjak (?:usun|skasow)")
_FORGET_MAX_WORDS = 15
_CANCEL = _rx(r"\bотмен\w*", r"\bпередумал\w*", r"\bcancel\w*", r"\banul\w*", r"\brezygn\w*")
_CANCEL_NEGATED = _rx(r"\bне (?:надо |нужно |хочу |стоит |будем )?(?:отмен|передум)",
                      r"\b(?:dont|do not) cancel", r"\bnie anuluj")
_MENU = _rx(r"\bменю\b", r"\bmenu\b")
_HELP = _rx(r"\bкак (?:тут |здесь |это |у вас )?(?:все )?работает\b",
            r"^(?:а |и )?как (?:мне |бы )?(?:к вам |у вас )?(?:записат|заказат|оформит)\w*",
            r"\bгде (?:же )?(?:кнопк|меню)\w*",
            r"\bкакие (?:у вас )?правила\b", r"\bhow (?:do i|to|can i) book\b", r"\bwhat are the rules\b",
            r"\bhow (?:does )?(?:it|this) works?\b", r"\bjak to dziala\b")
# Checked in order: a more specific format before one whose words it contains
# («плановый созвон» is a call, «расклад на один вопрос» is one question).
_SERVICES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("emergency", _rx(r"\b(?<!не )(?:экстренн|срочн)\w* (?:расклад|созвон|консультац|звон)",
                      r"\b(?:emergency|urgent) (?:reading|call|session)\b",
                      r"\bpiln\w* (?:rozklad|konsultacj)")),
    ("one_question", _rx(r"\b(?<!еще )(?:один|1|одного|одним) вопрос", r"\bone question\b",
                         r"\bsingle question\b", r"\b1 question\b", r"\bjedno pytanie\b")),
    ("planned_call", _rx(r"\b(?:созвон|звонок|звонк|видеосвяз|видеозвон|rozmow)\w*",
                         r"\b(?:planned |video )?calls?\b")),
    ("ritual", _rx(r"\b(?:ритуал|ritual|rytual)\w*")),
    ("planned_reading", _rx(r"\b(?:расклад|видеозапис|планов|rozklad)\w*", r"\bvideo reading\b",
                            r"\b(?:planned )?readings?\b")),
)


def _emoji_answer(cleaned: str) -> Intent | None:
    chars = set(_EMOJI_NOISE.sub("", cleaned))
    if chars and chars <= _YES_EMOJI:
        return Intent.YES
    if chars and chars <= _NO_EMOJI:
        return Intent.NO
    return None


# «Хочу задать один вопрос: вернётся ли он?» — what follows the format, after a colon, a dash or the
# end of a sentence, is the question itself: kept, never asked for again.
_AFTER_FORMAT = re.compile(r"[:—–]|\s-\s|[.?!](?=\s)")


def _said_after_format(cleaned: str, pattern: re.Pattern[str]) -> str:
    folded = " ".join(fold_word(t.group()) for t in _TOKEN.finditer(cleaned))
    match = pattern.search(folded)
    if match is None:
        return ""
    # The folded text drops punctuation: find the matched words in the text as typed.
    words_before = len(folded[: match.end()].split())
    tokens = list(_TOKEN.finditer(cleaned))
    if words_before > len(tokens):
        return ""
    tail = cleaned[tokens[words_before - 1].end() :]
    separator = _AFTER_FORMAT.search(tail)
    if separator is None:
        return ""
    rest = _LEADING_SEPARATORS.sub("", tail[separator.end() :]).strip()
    return rest if len(_TOKEN.findall(rest)) >= 2 else ""


def recognise(text: str) -> Recognised:
    """The intent of one free-text message; never raises, NONE when unsure."""
    if not isinstance(text, str) or not text.strip():
        return _NONE
    command = _COMMAND.match(text.strip())
    if command:
        intent = _COMMANDS.get(command.group(1).casefold())
        return Recognised(intent) if intent else _NONE
    cleaned = clean(text).strip()
    number = _MENU_NUMBER.fullmatch(cleaned)
    if number:
        return Recognised(Intent.SERVICE, menu_index=int(number.group(1)))
    tokens = list(_TOKEN.finditer(cleaned, 0, min(len(cleaned), _MAX_LEN + 1)))
    if not tokens:
        emoji = _emoji_answer(cleaned)
        return Recognised(emoji) if emoji else _NONE
    folded = [fold_word(t.group()) for t in tokens]
    keys = [collapse(f) for f in folded]
    start = greeting_length(keys)

    for trigger in _ADD_TRIGGERS:
        if tuple(keys[start : start + len(trigger)]) == trigger:
            rest = cleaned[tokens[start + len(trigger) - 1].end() :]
            return Recognised(Intent.ADD_QUESTION, rest=_LEADING_SEPARATORS.sub("", rest).strip())
    if len(cleaned) > _MAX_LEN:
        return _NONE
    whole = _whole_key(folded[start:])
    if start == len(keys) or whole in _GREETING_TAILS:
        return Recognised(Intent.GREETING)

    text_f = " ".join(folded)
    short = len(keys) <= _SHORT
    if _LINK_NOUN.search(text_f) and _LINK_FAILURE.search(text_f):
        return Recognised(Intent.LINK_PROBLEM)
    if len(keys) <= _PAID_MAX_WORDS and _PAID.search(text_f):
        return Recognised(Intent.PAID_CLAIM)
    if len(keys) <= _FORGET_MAX_WORDS and _FORGET.search(text_f) and not _FORGET_NEGATED.search(text_f):
        return Recognised(Intent.FORGET)
    for intent, pattern in ((Intent.STATUS, _STATUS), (Intent.HUMAN, _HUMAN),
                            (Intent.DISCOUNT, _DISCOUNT), (Intent.PRICE, _PRICE)):
        if pattern.search(text_f):
            named = next((s for s, p in _SERVICES if p.search(text_f)), None) if intent is Intent.PRICE else None
            return Recognised(intent, service=named)
    if short and _CANCEL.search(text_f) and not _CANCEL_NEGATED.search(text_f):
        return Recognised(Intent.CANCEL)
    if " ".join(collapse(f) for f in folded[start:]) in _THANKS:
        return Recognised(Intent.THANKS)
    for intent, phrases in _WHOLE:
        if whole in phrases:
            return Recognised(intent)
    if short and _MENU.search(text_f):
        return Recognised(Intent.MENU)
    if _HELP.search(text_f):
        return Recognised(Intent.HELP)
    for service, pattern in _SERVICES:
        if pattern.search(text_f):
            return Recognised(Intent.SERVICE, service=service, rest=_said_after_format(cleaned, pattern))
    return _NONE
