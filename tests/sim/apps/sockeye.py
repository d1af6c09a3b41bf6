"""sockeye v0.7.0: a CloudEvents sink that prints each event and pushes it to websockets.

Follows n3wscott/sockeye@v0.7.0 `pkg/controller/ce.go` (`fmt.Println("got", event.String())`,
then `json.Marshal(event)` handed as a string to the broadcaster), `pkg/controller/ws.go`
(`log.Printf("Broadasting to %d clients: %+v")`, sic, then per client `Broadasting message to
client <uuid>`; each client's writer logs `On send <message> - true` and sends the string with
`websocket.JSON.Send`, so every frame is a JSON string literal holding the event's JSON: the
event is JSON-encoded twice; a client whose writer is busy is dropped: `Unable to sent`) and
`cmd/sockeye/main.go` (port 8080, `Server starting on port ...`).
The `/ws` endpoint is the vendored golang.org/x/net/websocket `Handler`: its handshake wants
GET, `Upgrade: websocket`, a `Connection` header containing "upgrade", a key and
`Sec-WebSocket-Version: 13` (else 400), and an `Origin` that `url.ParseRequestURI` accepts
(absent, `null` or a bare host: 403). sockeye's handler never reads from the connection: pings
get no pong and a close frame no answer; the socket stays open until a write fails.
Events are printed the way cloudevents/sdk-go v2.3.1 `event.go` `Event.String()` and
`eventcontext_v1.go` `EventContextV1.String()` render them (the "Validation: valid" first line
is 2.3.x only).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import socket
import struct
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

from tests.sim.httpserving import BackgroundHTTPServer, QuietHandler

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTEXT_ORDER = ("type", "source", "subject", "id", "time", "dataschema", "datacontenttype")
JSON_MEDIA_TYPES = ("application/json", "text/json")

INDEX_PAGE = b"""<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Sockeye</title></head>
<body>
<h1>Sockeye</h1>
<p>Watching for CloudEvents...</p>
<ul id="events"></ul>
<script>
  var ws = new WebSocket("ws://" + window.location.host + "/ws");
  ws.onmessage = function (msg) {
    var li = document.createElement("li");
    li.textContent = msg.data;
    document.getElementById("events").prepend(li);
  };
</script>
</body>
</html>
"""


def go_log_prefix(now: datetime | None = None) -> str:
    """The standard Go `log` prefix: `2024/05/01 10:05:03 `."""
    return (now or datetime.now(timezone.utc)).strftime("%Y/%m/%d %H:%M:%S ")


def rfc3339_nano(moment: datetime) -> str:
    """Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction are dropped."""
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _context_value(name: str, value: Any) -> str:
    return rfc3339_nano(value) if isinstance(value, datetime) else str(value)


def event_string(attributes: dict[str, Any], body: bytes) -> str:
    """sdk-go v2.3.1 `Event.String()` of an event with `attributes` and raw `body`."""
    lines = ["Validation: valid", "Context Attributes,", "  specversion: 1.0"]
    for name in CONTEXT_ORDER:
        if attributes.get(name) is not None:
            lines.append(f"  {name}: {_context_value(name, attributes[name])}")
    extensions = sorted(
        name for name in attributes if name not in CONTEXT_ORDER and name != "specversion"
    )
    if extensions:
        lines.append("Extensions,")
        lines += [f"  {name}: {attributes[name]}" for name in extensions]
    text = "\n".join(lines) + "\n"
    if body:
        data = body.decode("utf-8", errors="replace")
        # json.Indent(&pretty, data, "  ", "  ") for application/json only; raw otherwise.
        if _media_type(attributes.get("datacontenttype")) == "application/json":
            try:
                parsed = json.loads(data, object_pairs_hook=dict)
                data = json.dumps(parsed, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            except ValueError:
                pass
        text += "Data,\n  " + data + "\n"
    return text


def event_json(attributes: dict[str, Any], body: bytes) -> str:
    """The event as sdk-go marshals it: compact JSON, keys sorted, JSON data embedded."""
    document: dict[str, Any] = {
        name: _context_value(name, value) for name, value in attributes.items() if value is not None
    }
    document.setdefault("specversion", "1.0")
    if body:
        media_type = _media_type(attributes.get("datacontenttype"))
        try:
            if media_type not in ("", *JSON_MEDIA_TYPES):
                raise ValueError(media_type)
            document["data"] = json.loads(body)
        except ValueError:
            try:
                document["data"] = body.decode("utf-8")
            except UnicodeDecodeError:
                document["data_base64"] = base64.b64encode(body).decode()
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _received_attributes(event: BaseCloudEvent, sent_time: str | None) -> dict[str, Any]:
    """The attributes as sent: the SDK invents a `time` when none came, sdk-go does not, and
    a UTC time keeps its nanoseconds as sdk-go's `Timestamp.String()` would print them."""
    attributes = {
        name: value for name, value in event.get_attributes().items() if value is not None
    }
    if sent_time is None:
        attributes.pop("time", None)
    elif sent_time.endswith("Z"):
        attributes["time"] = sent_time
    return attributes


def _sent_time(headers: dict[str, str], body: bytes, binary_mode: bool) -> str | None:
    if binary_mode:
        return headers.get("ce-time")
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document.get("time") if isinstance(document, dict) else None


def _body_of(event: BaseCloudEvent, raw_body: bytes, binary_mode: bool) -> bytes:
    """The data bytes as sent: the HTTP body in binary mode, re-encoded data otherwise."""
    if binary_mode:
        return raw_body
    data = event.get_data()
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return json.dumps(data, separators=(",", ":")).encode()


def go_json_string(text: str) -> str:
    """Go's `json.Marshal` of a string: UTF-8 kept, `<`, `>`, `&`, U+2028 and U+2029 escaped."""
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escape)
    return encoded


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_PORT = re.compile(r":\d*$")


def parses_as_request_uri(text: str) -> bool:
    """Whether Go's `url.ParseRequestURI` accepts `text` (net/url `parse` with viaRequest):
    an absolute path, `*`, or a scheme followed by an opaque part or a valid authority."""
    if not text or any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return False
    if text == "*" or text.startswith("/"):
        return True
    scheme = _SCHEME.match(text)
    if scheme is None:
        return False
    rest = text[scheme.end() :].split("?", 1)[0]
    if not rest.startswith("//"):
        return True  # a rootless path after a scheme is opaque, and accepted
    authority = rest[2:].split("/", 1)[0].rsplit("@", 1)[-1]
    if authority.startswith("["):
        return "]" in authority and bool(
            _PORT.fullmatch(authority[authority.index("]") + 1 :] or ":")
        )
    host, colon, port = authority.rpartition(":")
    return not colon or port.isdigit() or port == ""


# How long a broadcast waits for a writer thread before calling it busy: a Go writer is free
# within microseconds; a Python thread on two loaded cores (the self-tests' xdist workers) may
# need a good fraction of a second to be scheduled. Well below a simulated tick still.
WRITER_READY_SECONDS = 1.0


class _WebsocketClient:
    """One connected `/ws` client. sockeye's per-client writer takes one message at a time
    from an unbuffered channel; a broadcast finding it busy drops the client."""

    def __init__(self, connection: socket.socket) -> None:
        self.id = str(uuid.uuid4())
        self.connection = connection
        self.send_lock = threading.Lock()
        self.closed = threading.Event()

    def send_text(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([length])
        elif length < 1 << 16:
            header += bytes([126]) + struct.pack("!H", length)
        else:
            header += bytes([127]) + struct.pack("!Q", length)
        self.connection.sendall(header + payload)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _SockeyeHandler(QuietHandler):
    """No access log: sockeye logs no access lines."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path == "/ws":
            self._websocket()
        elif path == "/":
            self.answer(200, INDEX_PAGE, "text/html; charset=utf-8")
        else:
            self.answer(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        binary_mode = any(name.startswith("ce-") for name in headers)
        try:
            event = from_http(HTTPMessage(headers=headers, body=body), JSONFormat())
        except Exception as error:  # noqa: BLE001 - any malformed event is a 400, as in sdk-go
            self.answer(400, f"{error}\n".encode(), "text/plain; charset=utf-8")
            return
        attributes = _received_attributes(event, _sent_time(headers, body, binary_mode))
        self.server.owner.receive(attributes, _body_of(event, body, binary_mode))
        # sdk-go v2.3.1 protocol/http/protocol.go ServeHTTP: a receiver returning nothing
        # is answered 200 with no body.
        self.answer(200, b"", "text/plain; charset=utf-8")

    def _websocket(self) -> None:
        """x/net/websocket's server handshake (hybi.go ReadHandshake, server.go checkOrigin)."""
        key = self.headers.get("Sec-WebSocket-Key")
        upgrade = (self.headers.get("Upgrade") or "").lower()
        connection = (self.headers.get("Connection") or "").lower()
        if upgrade != "websocket" or "upgrade" not in connection:
            self._refuse(400, b"not websocket protocol")
            return
        if not key:
            self._refuse(400, b"mismatch challenge/response")
            return
        if self.headers.get("Sec-WebSocket-Version") != "13":
            self._refuse(400, b"missing or bad WebSocket Version", version_header=True)
            return
        if not parses_as_request_uri(self.headers.get("Origin") or ""):
            # checkOrigin: no Origin is "null origin"; an unparsable one an error: 403.
            self._refuse(403, b"")
            return
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest())
        self.send_response_only(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.end_headers()
        self.wfile.flush()
        client = _WebsocketClient(self.connection)
        owner = self.server.owner
        owner.add_client(client)
        self.close_connection = True
        # WSHandler only writes: nothing is read, so pings and close frames go unanswered.
        owner.wait_closed(client)

    def _refuse(self, code: int, body: bytes, version_header: bool = False) -> None:
        """x/net/websocket writes the status line, maybe the version, and the error text."""
        self.send_response_only(code)
        if version_header:
            self.send_header("Sec-WebSocket-Version", "13")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class SockeyeApp:
    """The app of a `n3wscott/sockeye` pod: `start()` -> port, `stop()`."""

    def __init__(self, pod_name: str, log: Callable[[str], None], clock: Any) -> None:
        self.pod_name = pod_name
        self._log = log
        self._clock = clock
        self._clients: list[_WebsocketClient] = []
        self._clients_lock = threading.Lock()
        self._http = BackgroundHTTPServer(_SockeyeHandler, self, name=f"sockeye-{pod_name}")

    def start(self) -> int:
        port = self._http.start()
        # The container listens on 8080 whatever port the simulation gives it.
        self._log(f"{go_log_prefix()}Server starting on port 8080")
        return port

    def stop(self) -> None:
        self._http.close()
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._http.join()

    def add_client(self, client: _WebsocketClient) -> None:
        self._log(f"{go_log_prefix()}WS connection...")
        with self._clients_lock:
            self._clients.append(client)

    def wait_closed(self, client: _WebsocketClient) -> None:
        """The handler's goroutine lives as long as its writer: until a drop or the end."""
        client.closed.wait()

    def _drop(self, client: _WebsocketClient) -> None:
        with self._clients_lock:
            if client in self._clients:
                self._clients.remove(client)
        self._log(f"{go_log_prefix()}Unable to sent")
        client.close()

    def receive(self, attributes: dict[str, Any], body: bytes) -> None:
        """Print the event as sockeye does, then push it to the clients connected now."""
        printed = "got " + event_string(attributes, body)
        # fmt.Println adds a newline after String()'s own: an empty line closes the block. It is
        # one write to stdout: a reader sees the whole block or none of it.
        self._log(printed)
        message = event_json(attributes, body)
        with self._clients_lock:
            clients = list(self._clients)
        self._log(f"{go_log_prefix()}Broadasting to {len(clients)} clients: {message}")
        for client in clients:
            self._log(f"{go_log_prefix()}Broadasting message to client {client.id}")
            # The unbuffered channel: a writer still busy with the last message is dropped. A Go
            # writer is busy for the microseconds a local frame takes; a Python thread on a
            # loaded machine may need a moment to be scheduled, which is not "busy".
            if not client.send_lock.acquire(timeout=WRITER_READY_SECONDS):
                self._drop(client)
                continue
            try:
                self._log(f"{go_log_prefix()}On send {message} - true")
                # websocket.JSON.Send of a string: the frame is the string JSON-encoded again.
                with contextlib.suppress(OSError):
                    client.send_text(go_json_string(message))
            finally:
                client.send_lock.release()
