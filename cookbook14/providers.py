"""Cluster providers: where the cluster comes from and how to leave nothing behind.

Both providers give a kubeconfig (and context) plus, when known, the HOST:PORT where
Kourier's HTTP port is reachable. `kind` creates or reuses a kind cluster through pytest-kind's
KindCluster and deletes only what it created; `existing` uses a given cluster and never deletes
anything.

One kind cluster name has one user at a time on a machine: a run holds a lock on the name
(in the cache folder) from its look for the cluster until the process ends, and a second run
of the same name waits for it (saying so, up to a scaled deadline). So a run never deletes a
cluster another run uses, and two runs never race to create one.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import socket
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout
from pytest_kind import KindCluster

from cookbook14.catalog import Catalog, Version
from cookbook14.errors import ToolError
from cookbook14.kube import Kube
from cookbook14.options import Options
from cookbook14.plan import KOURIER_NAMESPACES, Plan
from cookbook14.timestamps import utc_iso
from cookbook14.tools import (
    check_docker,
    kind_version,
    published_port,
    pull_node_image,
    resolve_kind,
    run,
)
from cookbook14.waits import Watched, condition_is_true, wait

log = logging.getLogger(__name__)
KOURIER_NODE_PORT = 31080


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


class ClusterLeftBehind(ToolError):
    """The cluster this run created could not be deleted."""

    def __init__(self, message: str, name: str, command: str) -> None:
        super().__init__(message)
        self.name = name
        # What deletes it, for the person to run.
        self.command = command


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

    def export_kubeconfig(self) -> None:
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

    def create(self, config_file: Path | None = None, timeout: float = 900) -> bool:
        """Create the cluster (True), or, when one of that name exists by the time kind looks,
        write its kubeconfig and leave it to whoever made it (False).

        --retain: without it kind deletes every node of the name when provisioning fails
        (pkg/cluster/internal/create/create.go), so its logs are gone before anyone exports
        them; the caller exports the logs, then deletes.
        """
        command = [
            self.kind_path,
            "create",
            "cluster",
            f"--name={self.name}",
            f"--kubeconfig={self.kubeconfig_path}",
            "--wait=5m",
            "--retain",
        ]
        if self.image:
            command.append(f"--image={self.image}")
        if config_file:
            command += ["--config", config_file]
        try:
            run(command, timeout=timeout)
        except ToolError as error:
            # kind checks for the name before it provisions anything (alreadyExists), so
            # nothing of the other cluster was touched.
            if "already exist for a cluster with the name" not in str(error):
                raise
            self.export_kubeconfig()
            return False
        return True

    def delete_command(self) -> list[str]:
        """`kind delete cluster` for this cluster: what delete runs, and what a person runs
        when the run could not."""
        return [
            str(self.kind_path),
            "delete",
            "cluster",
            f"--name={self.name}",
            f"--kubeconfig={self.kubeconfig_path}",
        ]

    def delete(self) -> None:
        # Half done, a deletion leaves the cluster behind: a Ctrl-C waits for its end.
        run(self.delete_command(), timeout=300, finish_on_interrupt=True)


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
        # Held until this process ends (the OS drops it even on a crash), so that the
        # cluster this run uses or deletes is never another run's.
        self.name_lock: FileLock | None = None

    def up(self, progress: Callable[[str], None] = log.info) -> ClusterAccess:
        runtime = check_docker()
        warnings: list[str] = []
        needed = Version.parse(self.plan.cluster.kind_version)
        kind = resolve_kind(
            self.options.kind_bin,
            needed,
            self.catalog,
            self.options.mirror,
            self.options.cache_dir,
            warn=warnings.append,
            needed_by=self.plan.cluster.kind_needed_by,
        )
        name = self.options.cluster_name
        self.name_lock = claim_cluster_name(
            self.options.cache_dir,
            name,
            self.run_dir,
            self.plan.deadlines["cluster_in_use"],
            progress,
        )
        kubeconfig = self.options.kubeconfig or private_kubeconfig(self.options.cache_dir, name)
        image = self.plan.cluster.node_image
        config = Path(self.plan.cluster.kind_config)
        self.cluster = LoggedKindCluster(name, kubeconfig, image, kind)
        reused = self.cluster.exists()
        if reused:
            progress(f"reusing kind cluster {name}")
            self.cluster.export_kubeconfig()
        else:
            pull_node_image(runtime, image, self.plan.deadlines["node_image_pull"], progress)
            deadline = self.plan.deadlines["kind_create"]
            progress(f"creating kind cluster {name} ({image}); up to {deadline:.0f}s")
            # Set before creating, so that an interrupted creation is cleaned up too.
            self.created = True
            self.created = self.cluster.create(config, deadline)
            if not self.created:
                reused = True
                progress(f"kind cluster {name} was made meanwhile, not by this harness: reusing it")
        kube = Kube.from_kubeconfig(kubeconfig, f"kind-{name}")
        # `kind create cluster --wait` only warns when the node is not Ready in time.
        wait(
            kube,
            Watched("v1", "Node"),
            condition_is_true("Ready"),
            self.plan.deadlines["deployment_available"],
            f"the nodes of kind cluster {name} to be Ready",
            progress,
        )
        # hostPort -1 in kind-config.yaml: the container runtime binds a free port itself (kind
        # common.PortOrGetFreePort), and binds another one when the node container restarts
        # (nerdctl's 0: kind's pick), so the port is asked of the runtime on every run.
        try:
            host_port = published_port(runtime, f"{name}-control-plane", KOURIER_NODE_PORT)
        except ToolError as error:
            host_port = None
            if self.options.ingress_endpoint is None and not reused:
                raise ToolError(
                    f"the kind cluster {name} this run created publishes no host port for "
                    f"Kourier's NodePort {KOURIER_NODE_PORT}, though its {config.name} maps "
                    f"it ({error}); see the Ports of `{runtime.name} inspect {name}-control-plane`"
                    ". Where the container engine cannot publish ports to this machine (a "
                    "remote engine), give --ingress-endpoint HOST:PORT, the address at which "
                    f"this machine reaches the node's port {KOURIER_NODE_PORT}"
                ) from None
            if self.options.ingress_endpoint is None:
                warnings.append(
                    f"the reused kind cluster {name} publishes no host port for Kourier's "
                    f"NodePort {KOURIER_NODE_PORT} (not created by this harness?): give "
                    f"--ingress-endpoint HOST:PORT to reach it ({error})"
                )
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
                # docker unless KIND_EXPERIMENTAL_PROVIDER chose podman or nerdctl.
                "container_engine": runtime.name,
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
        try:
            self.cluster.delete()
        except ToolError as error:
            self.created = False
            raise ClusterLeftBehind(
                str(error), self.cluster.name, shlex.join(self.cluster.delete_command())
            ) from None
        # Only now: a Ctrl-C that came before kind started leaves `created`, and the end of
        # the session deletes again (kind deletes a missing cluster without complaint).
        self.created = False


def claim_cluster_name(
    cache_dir: Path,
    name: str,
    run_dir: Path,
    deadline: float,
    progress: Callable[[str], None],
) -> FileLock:
    """The lock of kind cluster `name` on this machine, waiting (with a progress line) while
    another run holds it. Who holds it is written beside the lock, for the waiting run to say."""
    folder = cache_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / f"kind-{name}.lock")
    holder = folder / f"kind-{name}.holder.json"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        other = _holder_of(holder)
        progress(
            f"kind cluster {name} is in use by another run ({other}); waiting up to "
            f"{deadline:.0f}s for it to finish (or give another --cluster-name)"
        )
        try:
            lock.acquire(timeout=deadline)
        except Timeout:
            raise ToolError(
                f"kind cluster {name} was still in use by another run ({_holder_of(holder)}) "
                f"after {deadline:.0f}s; give another --cluster-name, or stop that run"
            ) from None
    holder.write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": utc_iso(),
                "run": str(run_dir),
            }
        )
    )
    return lock


def _holder_of(holder: Path) -> str:
    try:
        known = json.loads(holder.read_text())
        return f"pid {known['pid']} on {known['host']} since {known['since']}, run {known['run']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown run"


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


def detect_ingress_endpoint(
    kube: Kube, namespaces: tuple[str, ...]
) -> tuple[tuple[str, int], str] | None:
    """Where Kourier's HTTP port is reachable, read from its Service, and how that was learned:
    the load balancer's address on port 80, else a node address with the NodePort of port 80.
    A node's ExternalIP is preferred to any InternalIP: cloud nodes list the internal one
    first, and it is unreachable from outside their network."""
    for namespace in namespaces:
        service = kube.get("v1", "Service", "kourier", namespace)
        if service is None:
            continue
        port = next((p for p in service["spec"].get("ports", []) if p.get("port") == 80), None)
        for ingress in service.get("status", {}).get("loadBalancer", {}).get("ingress") or []:
            address = ingress.get("ip") or ingress.get("hostname")
            if address:
                return (address, 80), f"kourier Service ({namespace}) load balancer"
        if port and port.get("nodePort"):
            nodes, _ = kube.list("v1", "Node")
            addresses = [
                address for node in nodes for address in node.get("status", {}).get("addresses", [])
            ]
            for kind in ("ExternalIP", "InternalIP"):
                for address in addresses:
                    if address.get("type") == kind and address.get("address"):
                        return (address["address"], int(port["nodePort"])), (
                            f"kourier Service ({namespace}) node port on a node's {kind}"
                        )
    return None


def ingress_endpoint_for(access: ClusterAccess, kube: Kube) -> tuple[tuple[str, int], str] | None:
    """Where Kourier answers from this machine and how that was learned: --ingress-endpoint
    or kind's port mapping first, else the kourier Service; None if neither tells."""
    if access.ingress_endpoint is not None:
        return access.ingress_endpoint, "option or kind port mapping"
    return detect_ingress_endpoint(kube, KOURIER_NAMESPACES)
