"""The outgoing composer's pure parts: one message from a turn's pieces, and a long text in parts
each channel accepts (bot/outbox/outgoing.py)."""

import pytest

from bot.outbox.outgoing import LIMITS, Rendered, compose, measure, split
from flows.model import Channel


def test_a_turn_is_one_message_with_every_button_once_and_the_most_urgent_priority() -> None:
    yes = {"label": "Да", "payload": "terms:yes"}
    message = compose(
        [
            Rendered("Здравствуйте, Анна!", None, 1),
            Rendered("Условия: …", [yes, {"label": "Нет", "payload": "terms:no"}], 1),
            Rendered("Сейчас нерабочее время.", [yes], 0),
        ]
    )
    assert message.text == "Здравствуйте, Анна!\n\nУсловия: …\n\nСейчас нерабочее время."
    assert [b["payload"] for b in message.buttons or []] == ["terms:yes", "terms:no"]
    assert message.priority == 0


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.TELEGRAM, Channel.WHATSAPP])
def test_a_text_that_fits_is_one_part(channel: str) -> None:
    assert split(channel, "Место в очереди: 1") == ["Место в очереди: 1"]


@pytest.mark.parametrize("channel", [Channel.TELEGRAM, Channel.WHATSAPP, Channel.TELEGRAM_BUSINESS])
def test_a_long_text_splits_at_paragraphs_each_part_within_the_limit(channel: str) -> None:
    paragraphs = [f"{n}. " + "слово " * 120 for n in range(40)]
    text = "\n\n".join(p.strip() for p in paragraphs)

    parts = split(channel, text)

    assert len(parts) > 1 and all(measure(channel, p) <= LIMITS[channel] for p in parts)
    assert "\n\n".join(parts) == text, "paragraphs whole, in order, nothing lost"


def test_a_paragraph_longer_than_a_message_splits_at_lines_then_words() -> None:
    text = "\n".join("строка " * 60 for _ in range(10)) + "\n\n" + "x" * 4000
    parts = split(Channel.WHATSAPP, text)

    assert all(len(p) <= 1600 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_telegram_counts_an_emoji_as_two() -> None:
    text = "🙂" * 3000  # 3,000 characters, 6,000 UTF-16 code units
    parts = split(Channel.TELEGRAM, text)

    assert len(parts) == 2 and all(measure(Channel.TELEGRAM, p) <= 4096 for p in parts)
    assert "".join(parts) == text


def test_the_web_chat_has_no_limit() -> None:
    assert split(Channel.WEB, "а" * 30_000) == ["а" * 30_000]
