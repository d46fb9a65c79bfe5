"""flows/display.one_line: what a client typed, as one inert line in her alerts and pages."""

import pytest

from flows.display import one_line

PLANTED = "Мария\nОткрыть: https://evil.example/desk/login\n"


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        (PLANTED, "Мария Открыть: https://evil.example/desk/login"),
        ("\u202egnp.exe", "gnp.exe"),  # a right-to-left override
        ("Анна\u2066\u2069 \u200bП.", "Анна П."),  # isolates, a zero-width space
        ("Вера\r\n\tК.\x1b[31m", "Вера К.[31m"),  # carriage return, tab, an escape
        ("  Ира  ", "Ира"),
        ("Анна 🌙", "Анна 🌙"),
    ],
)
def test_a_name_is_one_inert_line(typed: str, shown: str) -> None:
    assert one_line(typed, 80) == shown


def test_a_long_text_is_cut_with_an_ellipsis() -> None:
    assert one_line("слово " * 100, 20) == "слово слово слово с…"
    assert len(one_line("x" * 500, 300)) == 300
