"""Recipe 14.6 (Deploy an event source): the sockeye client of the library against the
simulated sockeye app, and `pytest suites/` end to end with the faults its delivery check
must survive (one lost event) or catch (a wrong event)."""

from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from cookbook14.recipes.event_source import PING_TICKS, listen_for_ping_events
from cookbook14.sockeye import (
    SockeyeError,
    SockeyeSocket,
    events_in_log,
    parse_frame,
    schedule_interval,
)
from tests.launch import existing, recipes, run_suites
from tests.sim.apps.sockeye import SockeyeApp

SOURCE = "/apis/v1/namespaces/default/pingsources/ping-source"
PING_HEADERS = {
    "Ce-Id": "5c448228-f413-4cbd-b9a4-1c1472c1b96a",
    "Ce-Source": SOURCE,
    "Ce-Specversion": "1.0",
    "Ce-Time": "2024-05-01T10:07:00.348269162Z",
    "Ce-Type": "dev.knative.sources.ping",
    "Content-Type": "application/json",
}
DEADLINES = {"ping_delivery": 1.0}
SUITE_ARGS = ("-m", "recipe_14_6", "--domain", "127.0.0.1.sslip.io", "--timeout-scale", "0.1")


@pytest.fixture
def sockeye():
    lines: list[str] = []
    app = SockeyeApp("sockeye-00001-deployment-5d5df6c7-gv2j4", lines.append, None)
    port = app.start()
    yield app, port, lines
    app.stop()


def post_ping(port: int, body: bytes = b'{ "message": "Hello, world!" }', **headers) -> None:
    response = requests.post(
        f"http://127.0.0.1:{port}/", data=body, headers={**PING_HEADERS, **headers}, timeout=5
    )
    assert response.status_code == 200


def test_a_frame_is_the_event_json_encoded_twice(sockeye):
    app, port, lines = sockeye
    frames: list[str] = []
    with SockeyeSocket(("127.0.0.1", port), "sockeye.default.127.0.0.1.sslip.io", 5) as socket:
        post_ping(port)
        socket._socket.settimeout(5)
        frames.append(socket._socket.recv())
        post_ping(port)
        seen = socket.listen(time.time() + 5, lambda events: len(events) >= 1)
    assert isinstance(json.loads(frames[0]), str)
    event = parse_frame(frames[0], time.time())
    assert seen.events[0].data == event.data
    assert event.attributes["type"] == "dev.knative.sources.ping"
    assert event.data == {"message": "Hello, world!"}
    assert event.time_as_sent == "2024-05-01T10:07:00.348269162Z"
    assert any(line.endswith(" WS connection...") for line in lines)
    assert any(" Broadasting message to client " in line for line in lines)
    assert any(line.endswith("} - true") and " On send {" in line for line in lines)


def test_sockeyes_log_is_the_fallback(sockeye):
    _, port, lines = sockeye
    post_ping(port)
    logged = events_in_log("\n".join(lines))
    assert [event.attributes["source"] for event in logged] == [SOURCE]
    assert logged[0].data == {"message": "Hello, world!"}
    assert logged[0].time_as_sent == "2024-05-01T10:07:00.348269162Z"


def test_a_frame_encoded_once_is_refused_with_what_sockeye_sends():
    single = json.dumps({"specversion": "1.0", "id": "1", "source": "/s", "type": "t"})
    with pytest.raises(SockeyeError, match="not a JSON string holding the event's JSON"):
        parse_frame(single, time.time())


@pytest.mark.parametrize("origin", ["sockeye.default.127.0.0.1.sslip.io", "null"])
def test_an_origin_that_is_no_absolute_url_is_refused(sockeye, origin):
    _, port, _ = sockeye
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{port}/ws", origin=origin, timeout=5)
    assert refused.value.status_code == 403


def test_sockeye_never_answers_a_ping(sockeye):
    _, port, _ = sockeye
    socket = websocket.create_connection(
        f"ws://127.0.0.1:{port}/ws", origin="http://localhost", timeout=1
    )
    try:
        socket.ping(b"keepalive")
        with pytest.raises(websocket.WebSocketTimeoutException):
            socket.recv_data_frame(control_frame=True)
    finally:
        socket.close(timeout=0.5)


def test_no_event_at_all_fails_naming_the_ticks_waited(sockeye):
    _, port, _ = sockeye
    started = time.monotonic()
    delivery = listen_for_ping_events(
        ("127.0.0.1", port),
        "http://sockeye.default.127.0.0.1.sslip.io",
        "default",
        "ping-source",
        "* * * * *",
        DEADLINES,
        0.01,
        lambda: "",
    )
    waited = time.monotonic() - started
    assert delivery.events == []
    # (PING_TICKS + 1) ticks of a 0.6 s "minute", plus the 1 s allowance.
    assert 0.9 * (PING_TICKS + 1) * 0.6 + 1.0 <= waited < 10
    assert delivery.describe_failure().startswith(
        f"no event from {SOURCE} on sockeye's /ws within 3s ({PING_TICKS} ticks of '* * * * *'"
    )


def test_the_schedule_gives_the_tick_interval():
    assert schedule_interval("* * * * *") == 60.0
    assert schedule_interval("*/5 * * * *") == 300.0
    with pytest.raises(ValueError, match="only every-n-minutes schedules"):
        schedule_interval("0 9 * * 1")


def test_one_lost_event_is_survived_and_reported(tmp_path, make_sim_cluster):
    sim = make_sim_cluster(faults=["lose-ping-event"])
    result, summary = run_suites(tmp_path, *existing(sim), *SUITE_ARGS)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in recipes(summary)["14.6"]["checks"]}
    assert checks["test_sockeye_shows_the_ping_event"]["outcome"] == "passed"
    facts = recipes(summary)["14.6"]["step"]["facts"]
    # The first tick's event was dropped: the one of the second tick arrived.
    assert facts["ticks_waited"] == 2
    ticks = [m for m in summary["measurements"] if m["name"] == "ticks waited for the first event"]
    assert ticks[0]["value"] == 2


def test_a_wrong_event_fails_the_delivery_check(tmp_path, make_sim_cluster):
    sim = make_sim_cluster(faults=["wrong-ping-event"])
    result, summary = run_suites(tmp_path, *existing(sim), *SUITE_ARGS)
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in recipes(summary)["14.6"]["checks"]}
    failed = checks["test_sockeye_shows_the_ping_event"]
    assert failed["outcome"] == "failed"
    assert failed["message"].startswith(
        "AssertionError: sockeye shows datacontenttype 'text/plain', the PingSource sets "
        "contentType application/json"
    )
    evidence = next(tmp_path.glob("*/evidence/14.6-test_sockeye_shows_the_ping_event.txt"))
    text = evidence.read_text()
    assert "== PingSource in default" in text
    assert "logs of user-container -l serving.knative.dev/service=sockeye in default" in text
    assert "Broadasting to 1 clients" in text
