"""HTTP server for the release mirror: `GET /<org>/<repo>/releases/download/<tag>/<file>`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.sim import mirror


class _MirrorHandler(BaseHTTPRequestHandler):
    server: _MirrorHTTPServer
    # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        body = self._asset()
        if body is None:
            self._answer(404, b"Not Found", "text/plain")
        else:
            self._answer(200, body, "application/octet-stream")

    def do_HEAD(self) -> None:  # noqa: N802
        body = self._asset()
        self.send_response(404 if body is None else 200)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()

    def _asset(self) -> bytes | None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 6 or parts[2:4] != ["releases", "download"]:
            return None
        org, repo, _, _, tag, filename = parts
        for provider in mirror.PROVIDERS:
            body = provider.asset(org, repo, tag, filename, self.server.sim)
            if body is not None:
                return body
        return None

    def _answer(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the self-tests would drown in access logs."""


class _MirrorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    sim: Any


class MirrorServer:
    """Component: serves the mirror on a free port and sets `sim.release_mirror`."""

    def __init__(self) -> None:
        self._server: _MirrorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, sim: Any) -> None:
        self._server = _MirrorHTTPServer(("127.0.0.1", 0), _MirrorHandler)
        self._server.sim = sim
        sim.release_mirror = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="sim-mirror", daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
