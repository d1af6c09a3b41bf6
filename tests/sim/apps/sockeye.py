"""sockeye v0.7.0: a CloudEvents sink that prints each event and pushes it to websockets.

Follows n3wscott/sockeye@v0.7.0 `pkg/controller/ce.go` (`fmt.Println("got", event.String())`,
then `log.Printf("Broadasting to %d clients: %s")`, sic) and `cmd/sockeye/main.go` (port
8080, `Server starting on port ...`); the `/ws` endpoint is golang.org/x/net/websocket,
whose handshake refuses a request without `Origin` with 403. Events are printed the way
cloudevents/sdk-go v2.3.1 `event.go` `Event.String()` and `eventcontext_v1.go`
`EventContextV1.String()` render them (the "Validation: valid" first line is 2.3.x only).
The websocket side is a small RFC 6455 server: text frames out, close/ping handled.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
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


class _WebsocketClient:
    """One connected `/ws` client; frames are written under a lock from broadcasting threads."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.send_lock = threading.Lock()

    def send_text(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def send_close(self, payload: bytes = b"") -> None:
        self._send_frame(0x8, payload)

    def send_pong(self, payload: bytes) -> None:
        self._send_frame(0xA, payload)

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([length])
        elif length < 1 << 16:
            header += bytes([126]) + struct.pack("!H", length)
        else:
            header += bytes([127]) + struct.pack("!Q", length)
        with self.send_lock:
            self.connection.sendall(header + payload)

    def read_frame(self, reader: Any) -> tuple[int, bytes] | None:
        """(opcode, payload) of the next client frame, or None when the peer went away."""
        head = reader.read(2)
        if len(head) < 2:
            return None
        opcode, length, masked = head[0] & 0x0F, head[1] & 0x7F, head[1] & 0x80
        if length == 126:
            length = struct.unpack("!H", reader.read(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", reader.read(8))[0]
        mask = reader.read(4) if masked else b""
        payload = reader.read(length)
        if masked:
            payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        return opcode, payload


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
        key = self.headers.get("Sec-WebSocket-Key")
        upgrade = (self.headers.get("Upgrade") or "").lower()
        if upgrade != "websocket" or not key:
            self.answer(400, b"Bad Request\n", "text/plain; charset=utf-8")
            return
        if not self.headers.get("Origin"):
            # golang.org/x/net/websocket checkOrigin: no Origin header -> 403.
            self.answer(403, b"", "text/plain; charset=utf-8")
            return
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest())
        # Registered before the handshake answer (holding the client's send lock, so no
        # broadcast frame overtakes it): a client that has seen the handshake complete is
        # sure to get the next broadcast.
        client = _WebsocketClient(self.connection)
        try:
            with client.send_lock:
                self.server.owner.add_client(client)
                self.send_response(101, "Switching Protocols")
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept.decode())
                self.end_headers()
                self.wfile.flush()
            self._serve_websocket(client)
        finally:
            self.server.owner.remove_client(client)
            self.close_connection = True

    def _serve_websocket(self, client: _WebsocketClient) -> None:
        while True:
            try:
                frame = client.read_frame(self.rfile)
            except (OSError, struct.error):
                return
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 0x8:
                with contextlib.suppress(OSError):
                    client.send_close(payload[:2])
                return
            if opcode == 0x9:
                with contextlib.suppress(OSError):
                    client.send_pong(payload)


class SockeyeApp:
    """The app of a `n3wscott/sockeye` pod: `start()` -> port, `stop()`."""

    def __init__(self, pod_name: str, log: Callable[[str], None], clock: Any) -> None:
        self.pod_name = pod_name
        self._log = log
        self._clock = clock
        self._clients: list[_WebsocketClient] = []
        self._clients_lock = threading.Lock()
        self._print_lock = threading.Lock()
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
            with contextlib.suppress(OSError):
                client.connection.shutdown(socket.SHUT_RDWR)
        self._http.join()

    def add_client(self, client: _WebsocketClient) -> None:
        with self._clients_lock:
            self._clients.append(client)

    def remove_client(self, client: _WebsocketClient) -> None:
        with self._clients_lock:
            if client in self._clients:
                self._clients.remove(client)

    def receive(self, attributes: dict[str, Any], body: bytes) -> None:
        """Print the event as sockeye does, then push it to the clients connected now."""
        printed = "got " + event_string(attributes, body)
        # fmt.Println adds a newline after String()'s own: an empty line closes the block. It is
        # one write to stdout, so events received at the same time never interleave their lines.
        with self._print_lock:
            for line in (printed + "\n").split("\n")[:-1]:
                self._log(line)
        payload = event_json(attributes, body)
        with self._clients_lock:
            clients = list(self._clients)
        self._log(f"{go_log_prefix()}Broadasting to {len(clients)} clients: {payload}")
        for client in clients:
            try:
                client.send_text(payload)
            except OSError:
                self.remove_client(client)
