"""Link codes (flows/linking.py): stateless, time-boxed, typed back forgivingly."""

from datetime import UTC, datetime, timedelta

import pytest

from flows.linking import MINUTES, Check, asks_for_code, check, code_for, parse_code

SECRET = b"a test secret"
NOW = datetime(2026, 11, 24, 9, 3, tzinfo=UTC)


def test_a_code_is_valid_for_the_promised_minutes_then_expired_then_wrong() -> None:
    client_id, mac = parse_code(code_for(SECRET, 42, NOW)) or (0, "")
    assert client_id == 42 and MINUTES == 30
    assert check(SECRET, 42, mac, NOW + timedelta(minutes=MINUTES)) is Check.VALID
    assert check(SECRET, 42, mac, NOW + timedelta(minutes=41)) is Check.EXPIRED
    assert check(SECRET, 42, mac, NOW + timedelta(days=2)) is Check.WRONG
    assert check(SECRET, 43, mac, NOW) is Check.WRONG  # bound to its client
    assert check(b"another secret", 42, mac, NOW) is Check.WRONG


def test_a_code_reads_back_as_people_type_it() -> None:
    code = code_for(SECRET, 7, NOW)
    _, mac = code.split("-")
    typed = mac.lower().replace("0", "o").replace("1", "l")
    parsed = parse_code(f"код: 7 — {typed}")
    assert parsed is not None and check(SECRET, *parsed, NOW) is Check.VALID


@pytest.mark.parametrize("text", ["7-ABCDEFG", "7 ABCDEFGHJ", "позвоните 7-ABCDEFGH завтра", "ABCDEFGH"])
def test_other_text_is_no_code(text: str) -> None:
    assert parse_code(text) is None


@pytest.mark.parametrize(
    "text, asks", [("код", True), ("Код!", True), ("/link", True), ("LINK", True), ("код от домофона", False)]
)
def test_asking_for_a_code_is_the_whole_message(text: str, asks: bool) -> None:
    assert asks_for_code(text) is asks
