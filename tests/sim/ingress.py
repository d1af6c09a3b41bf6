"""The Kourier gateway stand-in: HTTP on the host, routed by Host header to a ksvc's pod.

Behaves like net-kourier's Envoy listeners (net-kourier `pkg/generator/`): the external one
(container port 8080) serves the virtual hosts of the ExternalIP rules of ready KIngresses,
the internal one (8081) the cluster-local ones too; 404 with an empty body and
`server: envoy` for any other Host, websocket upgrades tunnelled to the pod.

A connection from the host reaches a listener only through the Service in front of the
gateway, as kube-proxy forwards it: on kind, the Service holding node port 31080 (what
kind-config.yaml maps to the host port); elsewhere, the `kourier` LoadBalancer Service (as a
load balancer or `minikube tunnel` would). No such Service, no ready pod behind its selector,
or a targetPort where no plain-HTTP listener is: the connection is dropped unanswered.

With `SimCluster(load_balancer_ip=...)` LoadBalancer Services get that ingress address, as a
cloud's load balancer controller gives them; without it EXTERNAL-IP stays <pending>, as on kind.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
from typing import Any

from tests.sim.httpserving import BackgroundHTTPServer, QuietHandler
from tests.sim.kube_controllers import ReconcileLoop, is_true, write_status_if_changed

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
# kind-config.yaml's extraPortMappings containerPort: the node port the host port leads to.
KIND_NODE_PORT = 31080
# Envoy's plain-HTTP listeners in the gateway pod: port -> external (True) or internal.
LISTENERS = {8080: True, 8081: False}
GATEWAY_IMAGE = "envoyproxy/envoy"


def gateway_listener(sim: Any) -> int | None:
    """The gateway's HTTP listener a connection from the host reaches through the Service in
    front of it; None when kube-proxy would refuse it or nothing plain-HTTP answers."""
    service, port = _front_service(sim)
    if service is None:
        return None
    selector = service["spec"].get("selector") or {}
    if not selector:
        return None
    target = port.get("targetPort", port["port"])
    for pod in sim.store.list("v1", "Pod", service["metadata"]["namespace"], labels=selector):
        if not is_true(pod, "Ready"):
            continue
        for container in pod["spec"].get("containers") or []:
            if GATEWAY_IMAGE not in container.get("image", ""):
                continue
            if isinstance(target, str):
                named = [p for p in container.get("ports") or [] if p.get("name") == target]
                if not named:
                    continue
                target = named[0]["containerPort"]
            if target in LISTENERS:
                return target
    return None


def _front_service(sim: Any) -> tuple[dict | None, dict]:
    """On kind, the Service holding node port 31080; elsewhere `kourier`'s port 80."""
    for service in sim.store.list("v1", "Service"):
        spec = service.get("spec") or {}
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            continue
        for port in spec.get("ports") or []:
            if sim.ingress_port is not None and port.get("nodePort") == KIND_NODE_PORT:
                return service, port
            if (
                sim.ingress_port is None
                and service["metadata"]["name"] == "kourier"
                and spec["type"] == "LoadBalancer"
                and port.get("port") == 80
            ):
                return service, port
    return None, {}


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
        listener = gateway_listener(self.server.owner)
        if listener is None:
            self.close_connection = True  # refused by kube-proxy: no answer at all
            return
        try:
            port = self.server.owner.network.pod_port_for_host(
                host, ACTIVATION_TIMEOUT, external_only=LISTENERS[listener]
            )
        except LookupError:
            self._empty(404)
            return
        except TimeoutError:
            self._empty(503)
            return
        if (self.headers.get("Upgrade") or "").lower() == "websocket":
            with self.server.owner.network.in_flight(host, external_only=LISTENERS[listener]):
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


class LoadBalancers(ReconcileLoop):
    """A cloud's load balancer controller: every LoadBalancer Service gets
    `sim.load_balancer_ip` as its ingress address (none when unset, as on kind)."""

    name = "sim-load-balancers"

    def reconcile(self) -> None:
        address = self.sim.load_balancer_ip
        if not address:
            return
        for service in self.store.list("v1", "Service"):
            if (service.get("spec") or {}).get("type") != "LoadBalancer":
                continue
            status = {
                **(service.get("status") or {}),
                "loadBalancer": {"ingress": [{"ip": address}]},
            }
            write_status_if_changed(self.store, service, status)


class KourierIngress:
    """Component: the gateway on `sim.ingress_port` (or a free port); sets
    `sim.ingress_endpoint`; runs the load balancer controller."""

    def __init__(self) -> None:
        self._http: BackgroundHTTPServer | None = None
        self._load_balancers = LoadBalancers()

    def start(self, sim: Any) -> None:
        self._http = BackgroundHTTPServer(
            _GatewayHandler, sim, name="sim-kourier", port=sim.ingress_port or 0
        )
        sim.ingress_endpoint = f"127.0.0.1:{self._http.start()}"
        self._load_balancers.start(sim)

    def stop(self) -> None:
        self._load_balancers.stop()
        if self._http:
            self._http.stop()
