"""Telegram Business decisions (flows/business.py) and the deep link's token (flows/linking.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from flows.business import ChatFacts, Seen, Way, Window, opening_hours, route, seen, window
from flows.catalogue import Hours
from flows.linking import Check, check_start, parse_start, start_token

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # Tuesday, 12:00 in Moscow
SECRET = b"a test secret"
HER, CLIENT = 777, 5001


def message(**changes: object) -> Seen:
    facts: dict = dict(
        connected=True,
        owner_id=HER,
        sender_id=CLIENT,
        private=True,
        echo=False,
        offline=False,
        text="Привет",
        paused=False,
    )
    return seen(**{**facts, **changes})


def test_what_a_message_in_her_chat_is() -> None:
    assert message() is Seen.CLIENT
    assert message(paused=True) is Seen.QUIET
    assert message(sender_id=HER) is Seen.HERS
    assert message(sender_id=HER, paused=True) is Seen.HERS
    for ignored in (
        dict(connected=False),
        dict(private=False),
        dict(sender_id=None),
        dict(sender_id=HER, echo=True),
        dict(sender_id=HER, offline=True),
        dict(sender_id=HER, text="/queue"),
        dict(text="/resume"),
        dict(text="/start"),
    ):
        assert message(**ignored) is Seen.IGNORED, ignored
    assert message(text="/ну и ну") is Seen.CLIENT  # a slash is no command unless it names one


def facts(**changes: object) -> ChatFacts:
    base: dict = dict(chat_id=CLIENT, connection_id="c1", last_client_at=NOW - timedelta(hours=1), paused=False)
    return ChatFacts(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "expected", "way"),
    [
        ({}, Window.OPEN, Way.BUSINESS),
        ({"last_client_at": NOW - timedelta(hours=24)}, Window.CLOSED, Way.WAIT),
        ({"last_client_at": None}, Window.CLOSED, Way.WAIT),
        ({"paused": True}, Window.PAUSED, Way.WAIT),
        ({"connection_id": None}, Window.OFF, Way.WAIT),
    ],
)
def test_where_a_message_goes(changes: dict, expected: Window, way: Way) -> None:
    assert window(facts(**changes), NOW) is expected
    decided = route(facts(**changes), NOW)
    assert decided.way is way
    if way is Way.BUSINESS:
        assert (decided.chat_id, decided.connection_id) == (CLIENT, "c1")
    else:
        assert decided.reason
        linked = route(facts(**changes, bot_chat=CLIENT), NOW)  # a closed way is the bot chat, once open
        assert (linked.way, linked.chat_id, linked.connection_id) == (Way.BOT_CHAT, CLIENT, None)


def test_opening_hours_from_telegram() -> None:
    # Monday 22:00 – Tuesday 02:00 and Sunday 23:00 – Monday 01:00 (past the week's end), in UTC+3.
    stored = {"time_zone_name": "Europe/Moscow", "opening_hours": [[1320, 1560], [6 * 1440 + 1380, 7 * 1440 + 60]]}
    hours = opening_hours(stored, Hours(timezone="Asia/Yekaterinburg"))
    assert hours is not None and hours.timezone == "Asia/Yekaterinburg"  # call slots keep the practice's
    assert hours.start.strftime("%H:%M") == "22:00" and hours.end.strftime("%H:%M") == "02:00"
    moscow = timedelta(hours=3)
    monday = datetime(2026, 11, 23, tzinfo=UTC) - moscow  # 00:00 Monday in Moscow
    assert hours.is_open(monday + timedelta(minutes=30))  # the Sunday interval wraps into Monday
    assert not hours.is_open(monday + timedelta(hours=12))
    assert hours.next_opening(monday + timedelta(hours=12)) == monday + timedelta(hours=22)
    assert hours.next_opening(monday + timedelta(days=1, hours=3)) == monday + timedelta(days=6, hours=23)
    for unusable in (
        None,
        {},
        {"time_zone_name": "Mars/Base", "opening_hours": [[0, 60]]},
        {**stored, "opening_hours": []},
    ):
        assert opening_hours(unusable, Hours()) is None


def test_the_deep_link_token_is_bound_to_its_chat_and_lasts_days() -> None:
    client_id, mac = parse_start(start_token(SECRET, 42, str(CLIENT), NOW)) or (0, "")
    assert client_id == 42
    assert check_start(SECRET, 42, str(CLIENT), mac, NOW + timedelta(days=6)) is Check.VALID
    assert check_start(SECRET, 42, str(CLIENT), mac, NOW + timedelta(days=8)) is Check.EXPIRED
    assert check_start(SECRET, 42, "6001", mac, NOW) is Check.WRONG  # someone else's Start
    assert check_start(SECRET, 43, str(CLIENT), mac, NOW) is Check.WRONG
    assert check_start(b"another secret", 42, str(CLIENT), mac, NOW) is Check.WRONG
    assert parse_start("from_site") is None and parse_start("b42-ABC") is None
