"""The practitioner's command line: forgiving parsing, and errors that name what was expected."""

from datetime import UTC, datetime, timedelta

import pytest

from flows.practice.args import BadArgument, RefKind, client_ref, duration, moment, request_number, when
from flows.practice.parse import looks_like_practitioner_command, parse

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday 12:00 in Moscow
TZ = "Europe/Moscow"


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        ("/queue", "queue", ""),
        ("  /QUEUE planned 2 ", "queue", "planned 2"),
        ("/queue@priem_bot planned", "queue", "planned"),
        ("/reply 12 Добрый день!\nЗапись завтра.", "reply", "12 Добрый день!\nЗапись завтра."),
        ("/q", "queue", ""),
        ("/block @anna", "restrict", "@anna"),
    ],
)
def test_commands_are_read_forgivingly(text: str, name: str, args: str) -> None:
    command = parse(text)
    assert command is not None and (command.name, command.args, command.known) == (name, args, True)


@pytest.mark.parametrize("text", ["queue", "", "где мой расклад?", "/", "/123", " / queue"])
def test_what_is_no_command(text: str) -> None:
    assert parse(text) is None


def test_an_unknown_command_is_still_a_command() -> None:
    command = parse("/frobnicate now")
    assert command is not None and not command.known and command.name == "frobnicate"


def test_which_commands_are_hers_for_the_refusal_log() -> None:
    assert looks_like_practitioner_command("/restrict @anna")
    assert not looks_like_practitioner_command("/help")  # clients have their own /help
    assert not looks_like_practitioner_command("/start")
    assert not looks_like_practitioner_command("restrict")


@pytest.mark.parametrize(("token", "number"), [("12", 12), ("#12", 12), ("№12", 12), ("N7", 7)])
def test_request_numbers(token: str, number: int) -> None:
    assert request_number(token) == number


@pytest.mark.parametrize(
    ("token", "text_id"),
    [
        (None, "cmd-error-need-number"),
        ("", "cmd-error-need-number"),
        ("abc", "cmd-error-bad-number"),
        ("12a", "cmd-error-bad-number"),
    ],
)
def test_bad_request_numbers_say_what_was_expected(token: str | None, text_id: str) -> None:
    with pytest.raises(BadArgument) as raised:
        request_number(token)
    assert raised.value.text_id == text_id


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("#12", RefKind.REQUEST, "12"),
        ("12", RefKind.REQUEST, "12"),
        ("@Anna_P", RefKind.USERNAME, "anna_p"),
        ("+7 999 123-45-67", RefKind.PHONE, "79991234567"),
        ("79991234567", RefKind.PHONE, "79991234567"),
        ("Анна Петрова", RefKind.NAME, "Анна Петрова"),
    ],
)
def test_a_client_is_named_the_way_she_would(text: str, kind: RefKind, value: str) -> None:
    ref = client_ref(text)
    assert (ref.kind, ref.value) == (kind, value)


def test_durations() -> None:
    until, rest = duration(["3d", "спам"], NOW, TZ)
    assert until is not None and until.at == NOW + timedelta(days=3) and rest == ["спам"]
    until, _ = duration(["12ч"], NOW, TZ)
    assert until is not None and until.at == NOW + timedelta(hours=12)
    until, rest = duration(["навсегда", "грубость"], NOW, TZ)
    assert until is not None and until.at is None and rest == ["грубость"]
    until, rest = duration(["until", "2026-12-24", "x"], NOW, TZ)
    assert until is not None and until.at is not None
    assert (until.at.astimezone().date().isoformat(), rest) == ("2026-12-24", ["x"])
    until, rest = duration(["до", "24", "декабря"], NOW, TZ)
    assert until is not None and until.at is not None and until.at.day == 24 and rest == []
    assert duration(["грубость"], NOW, TZ) == (None, ["грубость"])


@pytest.mark.parametrize(
    ("words", "text_id"),
    [
        (["0d"], "cmd-error-bad-duration"),
        (["until"], "cmd-error-bad-duration"),
        (["до", "вчера"], "cmd-error-in-past"),
        (["until", "someday", "maybe"], "cmd-error-bad-duration"),
    ],
)
def test_bad_durations(words: list[str], text_id: str) -> None:
    with pytest.raises(BadArgument) as raised:
        duration(words, NOW, TZ)
    assert raised.value.text_id == text_id


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("03.12 15:00", "2026-12-03 15:00"),
        ("2026-12-03 15:00", "2026-12-03 15:00"),
        ("завтра 15:00", "2026-11-25 15:00"),
        ("3 декабря 15:00", "2026-12-03 15:00"),
        ("05.01 10:00", "2027-01-05 10:00"),  # written in November: next January
    ],
)
def test_moments_in_her_time_zone(text: str, local: str) -> None:
    at = moment(text, NOW, TZ)
    assert at is not None and at.strftime("%Y-%m-%d %H:%M") == local and at.utcoffset() == timedelta(hours=3)


def test_a_call_needs_a_time_in_the_future() -> None:
    assert when("03.12 15:00", NOW, TZ).hour == 15
    for text, text_id in [
        ("03.12", "cmd-error-bad-when"),
        ("скоро", "cmd-error-bad-when"),
        ("24.11.2026 10:00", "cmd-error-in-past"),
    ]:
        with pytest.raises(BadArgument) as raised:
            when(text, NOW, TZ)
        assert raised.value.text_id == text_id, text
