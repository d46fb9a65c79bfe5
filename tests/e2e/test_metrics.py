"""/metrics counts what happens (issue 25, item 6): inbound messages per channel, duplicates,
alerts by kind, sends by result, and the outbox backlog per lane read from the database. It
answers this machine only, or a scraper holding METRICS_TOKEN."""

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.settings import Settings
from main import build
from tests.e2e.chat_client import ChatClient
from tests.factories import FakeClock


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_messages_alerts_sends_and_the_backlog(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    await anna.ask("Здравствуйте")
    await anna.say("Здравствуйте", message_id="again")
    await anna.say("Здравствуйте", message_id="again")  # a repeat: one effect, counted as such
    await ChatClient(http, app, "Борис").ask("СРОЧНО помогите")
    await app.state.relay.drain()
    # A reply queued and not yet sent (the relay has not run since): the backlog shows it.
    await http.post(
        "/chat/api/messages",
        json={"client_key": anna.key, "name": "Анна", "text": "где мой расклад?", "message_id": "queued"},
    )

    seen = samples((await http.get("/metrics")).text)

    assert seen[("priem_inbound_messages_total", (("channel", "web"),))] == 4
    assert seen[("priem_inbound_duplicates_total", (("channel", "web"),))] == 1
    assert seen[("priem_alerts_total", (("kind", "emergency"),))] == 1
    assert seen[("priem_outbox_results_total", (("channel", "web"), ("result", "Delivered")))] >= 3
    assert seen[("priem_outbox_pending", (("lane", "reply"),))] == 1
    assert seen[("priem_outbox_pending", (("lane", "bulk"),))] == 0


async def test_metrics_need_the_token_when_one_is_set(settings: Settings, clock: FakeClock) -> None:
    token = SecretStr("scrape-me")
    app = build(settings.model_copy(update={"metrics_token": token}), clock=clock, run_background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            right = await http.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
            assert right.status_code == 200 and "priem_outbox_pending" in right.text


async def test_without_a_token_metrics_answer_this_machine_only(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.example.com") as far:
        assert (await far.get("/metrics")).status_code == 403
