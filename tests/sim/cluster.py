"""SimCluster: the API server plus the background components, as one context manager."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import yaml

from tests.sim import components
from tests.sim.apiserver import ApiServer
from tests.sim.clock import Clock
from tests.sim.faults import Faults
from tests.sim.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
# kind writes a client certificate; the simulation accepts anything, so a token stands in.
DUMMY_TOKEN = "sim-token-not-a-secret"


class SimCluster:
    """A simulated kind cluster: Kubernetes API over HTTP plus the components of the README."""

    def __init__(
        self,
        kubeconfig: Path,
        *,
        time_scale: float = 0.05,
        faults: Iterable[str] = (),
        kubernetes_version: str = "1.27.3",
        cluster_name: str = "kind",
        ingress_port: int | None = None,
        load_balancer_ip: str | None = None,
    ) -> None:
        self.kubeconfig = Path(kubeconfig)
        self.faults = Faults(faults)
        self.clock = Clock(time_scale)
        self.kubernetes_version = kubernetes_version
        self.cluster_name = cluster_name
        self.ingress_port = ingress_port
        # The ingress address LoadBalancer Services get (a cloud's load balancer); None: they
        # stay <pending>, as on kind.
        self.load_balancer_ip = load_balancer_ip
        self.repo_root = REPO_ROOT
        self.store: Store | None = None
        self.api_url: str | None = None
        self.release_mirror: str | None = None
        self.ingress_endpoint: str | None = None
        self.network = None
        self.pod_ports: dict[tuple[str, str], int] = {}
        self._api_server: ApiServer | None = None
        self._started: list = []

    @property
    def context_name(self) -> str:
        return f"kind-{self.cluster_name}"

    def start(self) -> SimCluster:
        if self._api_server is not None:
            raise RuntimeError("SimCluster already started")
        self.store = Store(
            kubernetes_version=self.kubernetes_version, cluster_name=self.cluster_name
        )
        self._api_server = ApiServer(self.store, self.faults, self.kubernetes_version)
        self._api_server.start()
        self.api_url = self._api_server.url
        self._write_kubeconfig()
        try:
            for component in components.default_components():
                component.start(self)
                self._started.append(component)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()
        if self._api_server is not None:
            self._api_server.stop()
            self._api_server = None
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> SimCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _write_kubeconfig(self) -> None:
        """A kubeconfig shaped like the one `kind create cluster` writes."""
        name = self.context_name
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": name, "cluster": {"server": self.api_url}}],
            "users": [{"name": name, "user": {"token": DUMMY_TOKEN}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
        }
        self.kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
