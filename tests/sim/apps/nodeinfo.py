"""`functions/nodeinfo`: the OpenFaaS NodeInfo sample behind the classic watchdog.

Follows openfaas/faas `sample-functions/NodeInfo/main.js` (os.hostname(), os.platform(),
os.arch(), os.cpus().length, os.uptime()) served by the classic watchdog on port 8080.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _NodeInfoHandler(BaseHTTPRequestHandler):
    server: _NodeInfoServer
    # Headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._answer()

    def do_POST(self) -> None:  # noqa: N802 - the watchdog runs the function for any method
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        app = self.server.app
        uptime = int(time.monotonic() - app.started_at)
        body = (
            f"Hostname: {app.pod_name}\n\n"
            "Platform: linux\n"
            "Arch: x64\n"
            f"CPU count: {os.cpu_count() or 1}\n"
            f"Uptime: {uptime}\n"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        app.log(f"Wrote {len(body)} Bytes - Duration: 0.01s")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """The watchdog logs through the pod log, not stderr."""


class _NodeInfoServer(ThreadingHTTPServer):
    daemon_threads = True
    app: NodeInfoApp


class NodeInfoApp:
    """One nodeinfo container: HTTP on 127.0.0.1 (the pod's port 8080 stand-in)."""

    def __init__(self, pod_name: str, log: Callable[[str], None], clock: Any) -> None:
        self.pod_name = pod_name
        self.log = log
        self.clock = clock
        self.started_at = time.monotonic()
        self._server: _NodeInfoServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        self._server = _NodeInfoServer(("127.0.0.1", 0), _NodeInfoHandler)
        self._server.app = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name=f"nodeinfo-{self.pod_name}", daemon=True,
        )
        self._thread.start()
        self.log("Forking fprocess.")
        self.log("Started logging stderr from function.")
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
