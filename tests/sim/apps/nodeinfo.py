"""`functions/nodeinfo`: the OpenFaaS NodeInfo sample behind the classic watchdog.

Follows openfaas/faas `sample-functions/NodeInfo/main.js` (os.hostname(), os.platform(),
os.arch(), os.cpus().length, os.uptime()) served by the classic watchdog on port 8080.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from tests.sim.httpserving import BackgroundHTTPServer, QuietHandler


class _NodeInfoHandler(QuietHandler):
    """No access log: the watchdog logs through the pod log, not stderr."""

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._run_function()

    def do_POST(self) -> None:  # noqa: N802 - the watchdog runs the function for any method
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._run_function()

    def _run_function(self) -> None:
        app = self.server.owner
        uptime = int(time.monotonic() - app.started_at)
        body = (
            f"Hostname: {app.pod_name}\n\n"
            "Platform: linux\n"
            "Arch: x64\n"
            f"CPU count: {os.cpu_count() or 1}\n"
            f"Uptime: {uptime}\n"
        ).encode()
        self.answer(200, body, "text/plain; charset=utf-8")
        app.log(f"Wrote {len(body)} Bytes - Duration: 0.01s")


class NodeInfoApp:
    """One nodeinfo container: HTTP on 127.0.0.1 (the pod's port 8080 stand-in)."""

    # The image is published for amd64 only (knative-facts.md); elsewhere its watchdog
    # (the classic OpenFaaS fwatchdog, the image's entrypoint) cannot be executed.
    architectures = ("amd64",)
    entrypoint = "/usr/bin/fwatchdog"

    def __init__(self, pod_name: str, log: Callable[[str], None], clock: Any) -> None:
        self.pod_name = pod_name
        self.log = log
        self.clock = clock
        self.started_at = time.monotonic()
        self._http = BackgroundHTTPServer(_NodeInfoHandler, self, name=f"nodeinfo-{pod_name}")

    def start(self) -> int:
        port = self._http.start()
        self.log("Forking fprocess.")
        self.log("Started logging stderr from function.")
        return port

    def stop(self) -> None:
        self._http.stop()
