"""sockeye v0.7.0 as the harness sees it: its /ws websocket, its frames, its log, and the
PingSource schedule that says when an event is due.

sockeye (n3wscott/sockeye@v0.7.0 `pkg/controller/{ce,ws}.go`) marshals each CloudEvent to JSON
and sends that string with x/net/websocket's `JSON.Send`, so a frame is the event's JSON
encoded a second time, as a JSON string. Its handler never reads: a ping gets no pong, so the
client sends none (a keepalive would close the connection after its timeout, before the next
minute's event). The handshake needs an Origin that Go's `url.ParseRequestURI` accepts (an
absolute URL; a bare host gets 403). Only clients connected when an event arrives get it: the
socket is opened before the tick that is awaited. Events are parsed with the cloudevents SDK.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import websocket
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat

from cookbook14.errors import HarnessError
from cookbook14.loopback import is_loopback
from cookbook14.options import endpoint_url

log = logging.getLogger(__name__)

# The line sockeye logs for each event it broadcasts (ws.go, "Broadasting" sic), then the JSON.
BROADCAST_LOG = re.compile(r"Broadasting to \d+ clients: (\{.*\})$")
# How long one recv blocks before the deadline is looked at again.
RECEIVE_SLICE = 5.0


class SockeyeError(HarnessError):
    """sockeye's /ws could not be used, or sent something that is not a CloudEvent."""


@dataclass(frozen=True)
class ReceivedEvent:
    """One CloudEvent as sockeye pushed it, and when it arrived here (epoch seconds)."""

    event: BaseCloudEvent
    time_as_sent: str
    received_at: float

    @property
    def attributes(self) -> dict[str, Any]:
        return self.event.get_attributes()

    @property
    def data(self) -> Any:
        return self.event.get_data()

    @property
    def time(self) -> datetime | None:
        return self.attributes.get("time")

    def summary(self) -> dict[str, Any]:
        """The attributes and data for the report: JSON values, the time as it was sent."""
        attributes = {
            name: (self.time_as_sent if name == "time" else value)
            for name, value in self.attributes.items()
        }
        return {**attributes, "data": self.data}


def parse_event_json(text: str | bytes, received_at: float) -> ReceivedEvent:
    """A structured-mode CloudEvent (JSON) read with the SDK."""
    try:
        document = json.loads(text)
        event = JSONFormat().read(None, text)
    except Exception as error:  # the SDK raises several kinds for a malformed event
        raise SockeyeError(f"sockeye sent something that is not a CloudEvent: {error}") from None
    time_as_sent = document.get("time", "") if isinstance(document, dict) else ""
    return ReceivedEvent(event, str(time_as_sent), received_at)


def parse_frame(frame: str | bytes, received_at: float) -> ReceivedEvent:
    """A /ws frame: a JSON string that holds the event's JSON (sockeye encodes twice)."""
    try:
        inner = json.loads(frame)
    except ValueError as error:
        raise SockeyeError(f"a /ws frame is not JSON ({error}): {frame!r:.200}") from None
    if not isinstance(inner, str):
        raise SockeyeError(
            "a /ws frame is not a JSON string holding the event's JSON, as sockeye v0.7.0 "
            f"sends them (websocket.JSON.Send of json.Marshal(event)): {frame!r:.200}"
        )
    return parse_event_json(inner, received_at)


def events_in_log(text: str) -> list[ReceivedEvent]:
    """The events of sockeye's `Broadasting to N clients: <json>` log lines."""
    found = []
    for line in text.splitlines():
        match = BROADCAST_LOG.search(line)
        if match:
            found.append(parse_event_json(match[1], time.time()))
    return found


def origin_for(host: str) -> str:
    """An Origin that sockeye's handshake accepts: an absolute URL of its own host."""
    return f"http://{host}"


@dataclass
class Listening:
    """What a wait on /ws saw: the events in order, and how often the socket was reopened."""

    events: list[ReceivedEvent] = field(default_factory=list)
    reconnects: int = 0
    started: float = field(default_factory=time.time)


class SockeyeSocket:
    """sockeye's /ws through the ingress: `host` is the ksvc's host (Host header), the
    endpoint where the ingress answers. Reopened when the server closes it (queue-proxy may
    close long-lived websockets, knative/serving#16169), each reopening counted."""

    def __init__(self, endpoint: tuple[str, int], host: str, connect_timeout: float) -> None:
        self.endpoint = endpoint
        self.url = endpoint_url(endpoint, "/ws", scheme="ws")
        self.host = host
        self.connect_timeout = connect_timeout
        self._socket: websocket.WebSocket | None = None

    def open(self) -> None:
        try:
            options = {}
            if is_loopback(self.url):
                # Never through a proxy (websocket-client proxies every host NO_PROXY does not
                # name, and reads its http_no_proxy only beside an explicit proxy host).
                options["socket"] = socket.create_connection(
                    self.endpoint, timeout=self.connect_timeout
                )
            # create_connection sends Connection: Upgrade and Sec-WebSocket-Version: 13, and
            # no pings: sockeye would never answer them.
            self._socket = websocket.create_connection(
                self.url,
                host=self.host,
                origin=origin_for(self.host),
                timeout=self.connect_timeout,
                **options,
            )
        except websocket.WebSocketBadStatusException as error:
            raise SockeyeError(
                f"sockeye's /ws at {self.url} (Host {self.host}) refused the websocket "
                f"handshake: HTTP {error.status_code}"
            ) from None
        except (OSError, websocket.WebSocketException) as error:
            raise SockeyeError(
                f"cannot open sockeye's /ws at {self.url} (Host {self.host}): {error}"
            ) from None
        log.info("listening on %s (Host %s)", self.url, self.host)

    def close(self) -> None:
        if self._socket is not None:
            # sockeye never reads, so it never answers the close frame: waiting for its answer
            # (websocket-client waits 3 s by default) would only add 3 s to every listening.
            self._socket.close(timeout=0)
            self._socket = None

    def __enter__(self) -> SockeyeSocket:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def listen(
        self,
        deadline: float,
        enough: Callable[[list[ReceivedEvent]], bool],
        seen: Listening | None = None,
    ) -> Listening:
        """Collect events until `enough(events)` or the (time.time) deadline."""
        seen = seen or Listening()
        while not enough(seen.events):
            remaining = deadline - time.time()
            if remaining <= 0:
                break
            if self._socket is None:
                self.open()
                seen.reconnects += 1
            self._socket.settimeout(min(remaining, RECEIVE_SLICE))
            try:
                frame = self._socket.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketConnectionClosedException, OSError) as error:
                log.info("sockeye's /ws was closed (%s); opening it again", error)
                self.close()
                continue
            if not frame:
                self.close()
                continue
            received = parse_frame(frame, time.time())
            log.info("sockeye pushed %s", received.summary())
            seen.events.append(received)
        return seen


# -- the PingSource schedule ------------------------------------------------------------

_EVERY_MINUTES = re.compile(r"^(\*|\*/(\d+))$")


def schedule_interval(schedule: str) -> float:
    """Seconds between two ticks of a cron schedule that fires every n minutes (`* * * * *`,
    `*/5 * * * *`): the schedules of the book and of kn. Others are not needed here."""
    fields = schedule.split()
    match = _EVERY_MINUTES.match(fields[0]) if len(fields) == 5 else None
    if match is None or any(part != "*" for part in fields[1:]):
        raise ValueError(
            f"schedule {schedule!r}: only every-n-minutes schedules (`* * * * *`, "
            "`*/n * * * *`) are understood"
        )
    return 60.0 * int(match[2] or 1)
