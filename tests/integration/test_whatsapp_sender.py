"""The WhatsApp sender against the Twilio double over real HTTP: every answer Twilio can give
mapped to what the relay does next, and nothing secret or personal in the logs."""

import logging
import socket
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from twilio.http.async_http_client import AsyncTwilioHttpClient

from bot.outbox.delivery import Delivered, Failed, OutsideWindow, RetryLater, Uncertain
from bot.whatsapp.sender import WhatsAppSender, make_client, with_choices
from storage.models import OutboxItem
from tests.factories import WORKING_TIME, FakeClock
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioAPI

NUMBER = "+79161234567"
TEXT = "Здравствуйте, Анна! Ваш расклад готов"

MakeSender = Callable[..., WhatsAppSender]


def item(
    destination: str = f"whatsapp:{NUMBER}", buttons: list[dict[str, str]] | None = None
) -> OutboxItem:
    return OutboxItem(
        id=7,
        practitioner_id=1,
        channel="whatsapp",
        destination=destination,
        priority=1,
        text=TEXT,
        buttons=buttons,
        idempotency_key="k7",
        state="sending",
        attempts=1,
    )


@pytest.fixture
async def api() -> AsyncIterator[TwilioAPI]:
    double = TwilioAPI()
    await double.start()
    yield double
    await double.stop()


@pytest.fixture
async def make_sender(api: TwilioAPI) -> AsyncIterator[MakeSender]:
    clients: list[AsyncTwilioHttpClient] = []

    def make(
        *,
        token: str = AUTH_TOKEN,
        base_url: str | None = None,
        last_inbound: datetime | None = None,
        timeout: float = 5.0,
        status_callback: str | None = None,
    ) -> WhatsAppSender:
        http = AsyncTwilioHttpClient()
        clients.append(http)

        async def last(_: OutboxItem) -> datetime | None:
            return last_inbound

        client = make_client(ACCOUNT_SID, token, base_url or api.base_url, http)
        return WhatsAppSender(
            client,
            from_=FROM,
            status_callback=status_callback,
            clock=FakeClock(),
            last_inbound=last,
            timeout=timeout,
        )

    yield make
    for http in clients:
        await http.close()


async def test_a_sent_message_is_delivered_with_its_sid(
    api: TwilioAPI, make_sender: MakeSender
) -> None:
    sender = make_sender(status_callback="https://desk.example.com/webhook/twilio/status")
    result = await sender.send(item())
    [request] = api.requests
    assert result == Delivered(external_id=request.sid)
    assert request.params == {
        "To": f"whatsapp:{NUMBER}",
        "From": FROM,
        "Body": TEXT,
        "StatusCallback": "https://desk.example.com/webhook/twilio/status",
    }


async def test_a_bare_practitioner_number_gets_the_whatsapp_prefix(
    api, make_sender: MakeSender
) -> None:
    await make_sender().send(item(destination=NUMBER))
    assert (
        api.requests[0].to == f"whatsapp:{NUMBER}"
        and "StatusCallback" not in api.requests[0].params
    )


@pytest.mark.parametrize(
    "status, code, expected",
    [
        (400, 63016, OutsideWindow),
        (429, 63018, Failed),
        (400, 21610, Failed),
        (400, 63014, Failed),
        (400, 21211, Failed),
        (400, 21617, Failed),  # body too long: the same request fails again
        (429, 20429, RetryLater),
        (500, 20500, RetryLater),
        (502, 502, RetryLater),
        (503, 20503, RetryLater),
    ],
)
async def test_twilio_errors_map_to_what_the_relay_does_next(
    api: TwilioAPI, make_sender: MakeSender, status: int, code: int, expected: type
) -> None:
    api.fail_next(status, code)
    result = await make_sender().send(item())
    assert isinstance(result, expected), result
    assert str(code) in result.error or expected is OutsideWindow


async def test_wrong_credentials_wait_for_the_operator(api, make_sender: MakeSender) -> None:
    result = await make_sender(token="wrong-token").send(item())
    assert isinstance(result, RetryLater) and "TWILIO_AUTH_TOKEN" in result.error


async def test_no_answer_after_sending_is_uncertain(
    api: TwilioAPI, make_sender: MakeSender
) -> None:
    api.hang_next()
    result = await make_sender(timeout=0.05).send(item())
    assert isinstance(result, Uncertain) and len(api.requests) == 1


async def test_nobody_listening_is_retried(make_sender: MakeSender) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await make_sender(base_url=f"http://127.0.0.1:{port}").send(item())
    assert isinstance(result, RetryLater) and "cannot connect" in result.error


@pytest.mark.parametrize("hours, outside", [(23.9, False), (24.1, True)])
async def test_the_24_hour_window_is_checked_before_any_request(
    api: TwilioAPI, make_sender: MakeSender, hours: float, outside: bool
) -> None:
    result = await make_sender(last_inbound=WORKING_TIME - timedelta(hours=hours)).send(item())
    assert isinstance(result, OutsideWindow) is outside
    assert len(api.requests) == (0 if outside else 1)


def test_choices_are_listed_under_the_text() -> None:
    buttons = [
        {"label": "1. Плановый расклад", "payload": "svc:a"},
        {"label": "Где мой запрос?", "payload": "status"},
    ]
    assert with_choices("Привет", buttons) == "Привет\n\n1. Плановый расклад\n• Где мой запрос?"
    assert with_choices("Привет", None) == "Привет"


async def test_logs_carry_no_token_number_or_text(
    api: TwilioAPI, make_sender: MakeSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender = make_sender()
    for status, code in [(400, 21211), (500, 20500)]:
        api.fail_next(status, code)
        await sender.send(item())
    await sender.send(item())
    api.hang_next()
    await make_sender(timeout=0.05).send(item())
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records  # something was logged, so the check means something
    for secret in (AUTH_TOKEN, NUMBER, TEXT, "Анна"):
        assert secret not in logged
