"""The Kourier gateway stand-in: HTTP on the host, routed by Host header to a ksvc's pod.

Behaves like net-kourier's Envoy external listener (net-kourier `pkg/generator/`): virtual
hosts from the ExternalIP rules of ready KIngresses only, 404 with an empty body and
`server: envoy` for any other Host, websocket upgrades tunnelled to the pod.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
from typing import Any

from tests.sim.httpserving import BackgroundHTTPServer, QuietHandler

# Hop-by-hop headers (RFC 9110 7.6.1) that a proxy does not forward.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
ACTIVATION_TIMEOUT = 600.0  # the activator's default request timeout (timeoutSeconds cap)


class _GatewayHandler(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._proxy()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET  # noqa: N815

    def _proxy(self) -> None:
        started = time.monotonic()
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            port = self.server.owner.network.pod_port_for_host(
                host, ACTIVATION_TIMEOUT, external_only=True
            )
        except LookupError:
            self._empty(404)
            return
        except TimeoutError:
            self._empty(503)
            return
        if (self.headers.get("Upgrade") or "").lower() == "websocket":
            self._tunnel(port)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", port, timeout=ACTIVATION_TIMEOUT)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            headers["X-Forwarded-Proto"] = "http"
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        except OSError:
            self._empty(503)
            return
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP | {"content-length", "server", "date"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header(
            "x-envoy-upstream-service-time", str(int((time.monotonic() - started) * 1000))
        )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _empty(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def version_string(self) -> str:
        return "envoy"

    def _tunnel(self, port: int) -> None:
        """Forward the upgrade request verbatim, then splice both sockets until one closes."""
        upstream = socket.create_connection(("127.0.0.1", port))
        head = (
            f"{self.requestline}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
            + "\r\n"
        )
        upstream.sendall(head.encode("latin-1"))
        client = self.connection
        self.close_connection = True
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 1.0)
                if not readable:
                    continue
                for source in readable:
                    if source is client:
                        # rfile may already hold bytes read past the headers.
                        data = self.rfile.read1(65536)
                        target = upstream
                    else:
                        data = upstream.recv(65536)
                        target = client
                    if not data:
                        return
                    target.sendall(data)
        except OSError:
            return
        finally:
            upstream.close()


class KourierIngress:
    """Component: the gateway on `sim.ingress_port` (or a free port); sets
    `sim.ingress_endpoint`."""

    def __init__(self) -> None:
        self._http: BackgroundHTTPServer | None = None

    def start(self, sim: Any) -> None:
        self._http = BackgroundHTTPServer(
            _GatewayHandler, sim, name="sim-kourier", port=sim.ingress_port or 0
        )
        sim.ingress_endpoint = f"127.0.0.1:{self._http.start()}"

    def stop(self) -> None:
        if self._http:
            self._http.stop()
