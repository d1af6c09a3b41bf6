"""The cluster network as seen from outside the pods: cluster URLs -> a pod's app port.

Routing follows the KIngress rules Serving writes (knative/networking `ingress_types.go`:
hosts, visibility, splits), the way Kourier programs Envoy; a revision scaled to zero is
activated first, as the activator does (serving `pkg/activator/handler/handler.go`: hold the
request until a pod is ready, then forward).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

NETWORKING_API = "networking.internal.knative.dev/v1alpha1"


class ClusterNetwork:
    """`sim.network`: what a pod (or the ingress gateway) reaches behind a cluster URL."""

    def __init__(self, sim: Any, serving: Any) -> None:
        self._sim = sim
        self._serving = serving

    def resolve(self, url: str, timeout: float) -> str:
        """`http://<ksvc>.<ns>.svc.cluster.local/p` or `http://<ksvc>.<ns>.<domain>/p` ->
        `http://127.0.0.1:<pod port>/p`, activating the revision if needed; LookupError when
        no ksvc answers that host, TimeoutError when no pod comes up in time."""
        parts = urlsplit(url)
        port = self.pod_port_for_host(parts.hostname or "", timeout, external_only=False)
        return urlunsplit(("http", f"127.0.0.1:{port}", parts.path or "/", parts.query, ""))

    def pod_port_for_host(self, host: str, timeout: float, external_only: bool) -> int:
        """The app port serving `host`; `external_only` is the public gateway's view, where
        cluster-local routes do not exist."""
        namespace, revision = self._route(host.lower().rstrip("."), external_only)
        self._serving.record_request(namespace, revision)
        return self._serving.activate(namespace, revision, timeout)

    def has_open_websocket(self, url: str) -> bool:
        """Whether a websocket (a long request) is open now on the revision serving `url`."""
        try:
            namespace, revision = self._route(
                (urlsplit(url).hostname or "").lower().rstrip("."), external_only=False
            )
        except LookupError:
            return False
        return self._serving.open_requests(namespace, revision) > 0

    @contextlib.contextmanager
    def in_flight(self, host: str, external_only: bool) -> Iterator[None]:
        """A long request (a websocket) is traffic for as long as it lasts: queue-proxy reports
        it to the autoscaler as concurrency, so its revision is not scaled to zero under it."""
        namespace, revision = self._route(host.lower().rstrip("."), external_only)
        self._serving.begin_request(namespace, revision)
        try:
            yield
        finally:
            self._serving.end_request(namespace, revision)

    def _route(self, host: str, external_only: bool) -> tuple[str, str]:
        store = self._sim.store
        if not store.served(NETWORKING_API, "Ingress"):
            raise LookupError(host)
        for ingress in store.list(NETWORKING_API, "Ingress"):
            if not _ready(ingress):
                continue
            for rule in ingress["spec"].get("rules") or []:
                if host not in rule.get("hosts", []):
                    continue
                if external_only and rule.get("visibility") != "ExternalIP":
                    continue
                splits = [
                    split
                    for path in rule.get("http", {}).get("paths", [])
                    for split in path.get("splits", [])
                ]
                if splits:
                    split = _pick(splits)
                    return split["serviceNamespace"], split["serviceName"]
        raise LookupError(host)


def _ready(ingress: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (ingress.get("status") or {}).get("conditions") or []
    )


def _pick(splits: list[dict]) -> dict:
    """A weighted choice by `percent`, as Envoy's weighted clusters do."""
    weights = [split.get("percent", 0) for split in splits]
    if not any(weights):
        return splits[0]
    return random.choices(splits, weights=weights)[0]
