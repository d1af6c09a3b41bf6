"""The small HTTP servers of the simulation (mirror, ingress, apps): one background server
on 127.0.0.1 and a quiet request handler with a one-shot answer."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OwnedHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose handlers reach what it serves for through `owner`."""

    daemon_threads = True
    owner: Any


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that writes no access log and answers whole bodies."""

    server: OwnedHTTPServer
    # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True

    def answer(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the self-tests would drown in access logs."""


class BackgroundHTTPServer:
    """`handler` served on 127.0.0.1:`port` (0: a free one) from a daemon thread `name`;
    the handlers see `owner` as `self.server.owner`."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], owner: Any, name: str, port: int = 0
    ) -> None:
        self._handler = handler
        self._owner = owner
        self._name = name
        self._port = port
        self._server: OwnedHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind and serve; returns the port."""
        self._server = OwnedHTTPServer(("127.0.0.1", self._port), self._handler)
        self._server.owner = self._owner
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        return self._server.server_address[1]

    def close(self) -> None:
        """Stop accepting and close the listening socket (handler threads may still run)."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def join(self) -> None:
        if self._thread:
            self._thread.join(timeout=5)

    def stop(self) -> None:
        self.close()
        self.join()
