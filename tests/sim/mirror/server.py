"""HTTP server for the release mirror: `GET /<org>/<repo>/releases/download/<tag>/<file>`."""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from tests.sim import mirror
from tests.sim.httpserving import BackgroundHTTPServer, QuietHandler
from tests.sim.mirror import releases


class _MirrorHandler(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        listed = releases.listing_path(self.path)
        if listed is not None:
            host, port = self.server.server_address[:2]
            status, body, headers = releases.listing(
                self.server.owner.repo_root, f"http://{host}:{port}", *listed
            )
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = self._asset()
        knobs: MirrorKnobs = self.server.owner.mirror_knobs
        filename = self.path.split("?", 1)[0].rsplit("/", 1)[-1]
        if body is None:
            self.answer(404, b"Not Found", "text/plain")
        elif filename == knobs.stall_on:
            self._stall(body, knobs)
        else:
            if filename in knobs.changed:
                body += b"\n# rebuilt upstream under the same tag\n"
            self.answer(200, body, "application/octet-stream")

    def _stall(self, body: bytes, knobs: MirrorKnobs) -> None:
        """Half the body, then nothing until the test releases it: a download in progress."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        knobs.stalled.set()
        knobs.release.wait(STALL_LIMIT)
        with suppress(OSError):
            self.wfile.write(body[len(body) // 2 :])

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
        sim = self.server.owner
        if not releases.released(sim.repo_root, org, repo, tag):
            return None  # GitHub: no such release, 404
        for provider in mirror.PROVIDERS:
            body = provider.asset(org, repo, tag, filename, sim)
            if body is not None:
                return body
        return None


# The longest a stalled download waits for its test to release it.
STALL_LIMIT = 60.0


@dataclass
class MirrorKnobs:
    """What a self-test changes in the mirror while it runs (`sim.mirror_knobs`): assets in
    `changed` are served with a line appended (rebuilt upstream under the same tag); the asset
    named `stall_on` is served half, then held until `release` is set (`stalled` says when)."""

    changed: set[str] = field(default_factory=set)
    stall_on: str | None = None
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class MirrorServer:
    """Component: serves the mirror on a free port and sets `sim.release_mirror`."""

    def __init__(self) -> None:
        self._http: BackgroundHTTPServer | None = None

    def start(self, sim: Any) -> None:
        sim.mirror_knobs = MirrorKnobs()
        self._http = BackgroundHTTPServer(_MirrorHandler, sim, name="sim-mirror")
        sim.release_mirror = f"http://127.0.0.1:{self._http.start()}"

    def stop(self) -> None:
        if self._http:
            self._http.stop()
