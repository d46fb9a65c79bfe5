"""`python main.py practitioner add|list` (bot/platform/cli.py) on the test database."""

import io

import pytest

from bot.platform.cli import run
from bot.settings import Settings
from storage.engine import make_engine, session_factory
from storage.platform import PractitionerStore, password_matches


async def cli(settings: Settings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await run(argv, settings, out)
    return code, out.getvalue()


async def test_add_then_list_keeps_the_env_practitioner_first(settings: Settings) -> None:
    code, said = await cli(
        settings,
        "practitioner", "add", "--slug", "anna", "--telegram-token", "111:AAA", "--whatsapp-from",
        "whatsapp:+14150000001", "--telegram-id", "5001", "--timezone", "Asia/Yekaterinburg", "--password", "s3cret",
    )  # fmt: skip
    assert (code, said) == (0, "added practitioner #2 anna\n")
    code, listing = await cli(settings, "practitioner", "list")
    lines = listing.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("#1\tdefault\t")
    assert lines[1].startswith("#2\tanna\t") and "whatsapp=whatsapp:+14150000001" in lines[1]
    assert "tz=Asia/Yekaterinburg" in lines[1] and "accounts=telegram:5001" in lines[1]
    assert "111:AAA" not in listing and "s3cret" not in listing  # no secret is ever printed
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            row = await PractitionerStore(session).by_slug("anna")
            assert row is not None and row.telegram_token == "111:AAA" and row.telegram_webhook_secret
            assert row.password_hash and "s3cret" not in row.password_hash
            assert password_matches(row.password_hash, "s3cret") and not password_matches(row.password_hash, "S3cret")
    finally:
        await engine.dispose()


async def test_a_taken_slug_or_sender_is_refused(settings: Settings) -> None:
    assert (await cli(settings, "practitioner", "add", "--slug", "anna", "--whatsapp-from", "+1 415 000 0001"))[0] == 0
    code, said = await cli(settings, "practitioner", "add", "--slug", "anna")
    assert code == 2 and "refused" in said
    code, said = await cli(
        settings, "practitioner", "add", "--slug", "bella", "--whatsapp-from", "whatsapp:+14150000001"
    )
    assert code == 2 and "refused" in said


@pytest.mark.parametrize("bad", ["Anna", "default", "a/b", ""])
async def test_a_bad_slug_is_a_usage_error(settings: Settings, bad: str) -> None:
    with pytest.raises(SystemExit):
        await cli(settings, "practitioner", "add", "--slug", bad)
