"""Cluster providers: where the cluster comes from and how to leave nothing behind.

Both providers give a kubeconfig (and context) plus, when known, the HOST:PORT where
Kourier's HTTP port is reachable. `kind` creates or reuses a kind cluster through pytest-kind's
KindCluster and deletes only what it created; `existing` uses a given cluster and never deletes
anything.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pytest_kind import KindCluster

from cookbook14.catalog import Catalog, Version
from cookbook14.errors import ToolError
from cookbook14.kube import Kube
from cookbook14.options import Options
from cookbook14.plan import KOURIER_NAMESPACES, MANIFESTS, Plan
from cookbook14.tools import check_docker, kind_version, resolve_kind, run
from cookbook14.waits import Watched, every_condition_true, wait

log = logging.getLogger(__name__)
KOURIER_NODE_PORT = 31080
# Where the harness notes, in the cluster itself, the host port it mapped to Kourier, so that
# a reused cluster is reachable again.
MARKER = ("kube-public", "cookbook14-cluster")


@dataclass
class ClusterAccess:
    kubeconfig: Path | None
    context: str | None
    ingress_endpoint: tuple[str, int] | None
    provider: str
    name: str
    created: bool
    facts: dict
    warnings: list[str] = field(default_factory=list)


class ExistingProvider:
    """A cluster the user already has; the harness never deletes it."""

    name = "existing"

    def __init__(self, options: Options) -> None:
        self.options = options

    def up(self, progress: Callable[[str], None] = log.info) -> ClusterAccess:
        return ClusterAccess(
            kubeconfig=self.options.kubeconfig,
            context=self.options.context,
            ingress_endpoint=self.options.ingress_endpoint,
            provider=self.name,
            name=self.options.context or "current context",
            created=False,
            facts={},
        )

    def export_logs(self, folder: Path) -> None:
        """Nothing to export: the cluster's nodes are not the harness's to read."""

    def down(self) -> None:
        """Never delete what this run did not create."""


class LoggedKindCluster(KindCluster):
    """pytest-kind's KindCluster, with kind's output in the run's log and its failures as
    ToolError: KindCluster's own create and delete print to the terminal, raise
    CalledProcessError, and leave an empty kubeconfig when they reuse a cluster."""

    def __init__(self, name: str, kubeconfig: Path, image: str, kind_path: Path) -> None:
        super().__init__(name, kubeconfig=kubeconfig, image=image, kind_path=kind_path)
        # KindCluster prepares ./.pytest-kind/<name>/ for downloads this harness never makes.
        for folder in (self.path, self.path.parent):
            with suppress(OSError):
                folder.rmdir()

    def exists(self) -> bool:
        return self.name in run([self.kind_path, "get", "clusters"]).stdout.split()

    def create(self, config_file: Path | None = None) -> None:
        """Create the cluster, or write the kubeconfig of the existing one of that name."""
        if self.exists():
            run(
                [
                    self.kind_path,
                    "export",
                    "kubeconfig",
                    "--name",
                    self.name,
                    "--kubeconfig",
                    self.kubeconfig_path,
                ]
            )
            return
        command = [
            self.kind_path,
            "create",
            "cluster",
            f"--name={self.name}",
            f"--kubeconfig={self.kubeconfig_path}",
            "--wait=5m",
        ]
        if self.image:
            command.append(f"--image={self.image}")
        if config_file:
            command += ["--config", config_file]
        run(command, timeout=900)

    def delete(self) -> None:
        run(
            [
                self.kind_path,
                "delete",
                "cluster",
                f"--name={self.name}",
                f"--kubeconfig={self.kubeconfig_path}",
            ],
            timeout=300,
        )


class KindProvider:
    """A kind cluster of the catalog's node image; reused if one of that name exists."""

    name = "kind"

    def __init__(self, options: Options, plan: Plan, catalog: Catalog, run_dir: Path) -> None:
        self.options = options
        self.plan = plan
        self.catalog = catalog
        self.run_dir = run_dir
        self.cluster: LoggedKindCluster | None = None
        self.created = False

    def up(self, progress: Callable[[str], None] = log.info) -> ClusterAccess:
        check_docker()
        needed = Version.parse(self.plan.cluster.kind_version)
        kind = resolve_kind(
            self.options.kind_bin, needed, self.catalog, self.options.mirror, self.options.cache_dir
        )
        name = self.options.cluster_name
        kubeconfig = self.options.kubeconfig or private_kubeconfig(self.options.cache_dir, name)
        image = self.plan.cluster.node_image
        self.cluster = LoggedKindCluster(name, kubeconfig, image, kind)
        reused = self.cluster.exists()
        host_port = None
        config_file = None
        if reused:
            progress(f"reusing kind cluster {name}")
        else:
            host_port = _free_port()
            config_file = self._write_config(host_port)
            progress(f"creating kind cluster {name} ({image}); this takes a minute or two")
            # Set before creating, so that an interrupted creation is cleaned up too.
            self.created = True
        try:
            self.cluster.create(config_file)
        except ToolError as error:
            if "already exist" in str(error):
                # Another run made it in the meantime: it is theirs, not ours to delete.
                self.created = False
            raise
        kube = Kube.from_kubeconfig(kubeconfig, f"kind-{name}")
        # `kind create cluster --wait` only warns when the node is not Ready in time.
        wait(
            kube,
            Watched("v1", "Node"),
            every_condition_true("Ready"),
            self.plan.deadlines["deployment_available"],
            f"the nodes of kind cluster {name} to be Ready",
            progress,
        )
        warnings: list[str] = []
        if reused:
            host_port = _recall_port(kube)
            if host_port is None and self.options.ingress_endpoint is None:
                warnings.append(
                    f"the reused kind cluster {name} was not created by this harness: no host port "
                    "for Kourier is known; give --ingress-endpoint HOST:PORT to reach it"
                )
        else:
            _remember_port(kube, host_port)
        endpoint = self.options.ingress_endpoint or (
            ("127.0.0.1", host_port) if host_port else None
        )
        return ClusterAccess(
            kubeconfig=kubeconfig,
            context=f"kind-{name}",
            ingress_endpoint=endpoint,
            provider=self.name,
            name=name,
            created=self.created,
            facts={
                "kind_version": str(kind_version(kind)),
                # A reused cluster keeps the image it was made with; its nodes tell the version.
                "node_image": "unknown (reused cluster)" if reused else image,
            },
            warnings=warnings,
        )

    def export_logs(self, folder: Path) -> None:
        if self.cluster is None:
            return
        try:
            run([self.cluster.kind_path, "export", "logs", folder, "--name", self.cluster.name])
        except ToolError as error:
            log.warning("could not export kind logs: %s", error)

    def down(self) -> None:
        if self.cluster is None or not self.created or self.options.keep_cluster:
            return
        self.created = False
        self.cluster.delete()

    def _write_config(self, host_port: int) -> Path:
        config = yaml.safe_load((MANIFESTS / "kind-config.yaml").read_text())
        for node in config["nodes"]:
            for mapping in node.get("extraPortMappings", []):
                if mapping["containerPort"] == KOURIER_NODE_PORT:
                    mapping["hostPort"] = host_port
        path = self.run_dir / "kind-config.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path


def private_kubeconfig(cache_dir: Path, cluster_name: str) -> Path:
    """Where the kubeconfig of a kind cluster goes: the cache, readable by this user only. It
    holds the cluster's admin key, so never the run folder, which CI uploads as an artifact."""
    folder = cache_dir / "kubeconfigs"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / f"{cluster_name}.yaml"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    return path


def make_provider(options: Options, plan: Plan, catalog: Catalog, run_dir: Path):
    if options.cluster == "kind":
        return KindProvider(options, plan, catalog, run_dir)
    return ExistingProvider(options)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _remember_port(kube: Kube, host_port: int) -> None:
    namespace, name = MARKER
    kube.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": {"kourier-host-port": json.dumps(host_port)},
            }
        ]
    )


def _recall_port(kube: Kube) -> int | None:
    namespace, name = MARKER
    marker = kube.get("v1", "ConfigMap", name, namespace)
    value = (marker or {}).get("data", {}).get("kourier-host-port")
    return int(value) if value else None


def detect_ingress_endpoint(kube: Kube, namespaces: tuple[str, ...]) -> tuple[str, int] | None:
    """Where Kourier's HTTP port is reachable, read from its Service: the load balancer's
    address on port 80, else a node address with the NodePort of port 80."""
    for namespace in namespaces:
        service = kube.get("v1", "Service", "kourier", namespace)
        if service is None:
            continue
        port = next((p for p in service["spec"].get("ports", []) if p.get("port") == 80), None)
        for ingress in service.get("status", {}).get("loadBalancer", {}).get("ingress") or []:
            address = ingress.get("ip") or ingress.get("hostname")
            if address:
                return address, 80
        if port and port.get("nodePort"):
            nodes, _ = kube.list("v1", "Node")
            for node in nodes:
                for address in node.get("status", {}).get("addresses", []):
                    if address.get("type") in ("ExternalIP", "InternalIP"):
                        return address["address"], int(port["nodePort"])
    return None


def ingress_endpoint_for(access: ClusterAccess, kube: Kube) -> tuple[tuple[str, int], str] | None:
    """Where Kourier answers from this machine and how that was learned: --ingress-endpoint
    or kind's port mapping first, else the kourier Service; None if neither tells."""
    if access.ingress_endpoint is not None:
        return access.ingress_endpoint, "option or kind port mapping"
    detected = detect_ingress_endpoint(kube, KOURIER_NAMESPACES)
    return (detected, "kourier Service") if detected else None
