"""Providers: finding Kourier from the host on a cluster the harness did not create; the kind
provider against the kind and docker doubles (the host port Docker bound, one run per cluster
name)."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from cookbook14.catalog import Catalog
from cookbook14.errors import ToolError
from cookbook14.kube import Kube
from cookbook14.options import Options
from cookbook14.plan import build_plan
from cookbook14.providers import (
    ClusterAccess,
    KindProvider,
    claim_cluster_name,
    detect_ingress_endpoint,
    ingress_endpoint_for,
)
from cookbook14.waits import Watched, condition_is_true, wait
from tests.launch import ROOT
from tests.sim.doubles import BIN_DIR, engine_named


def kourier_service(namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kourier", "namespace": namespace},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "3scale-kourier-gateway"},
            "ports": [{"name": "http2", "port": 80, "targetPort": 8080, "nodePort": 30517}],
        },
    }


def test_load_balancer_address_wins(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "knative-serving"}}
    )
    kube.apply([kourier_service("knative-serving")])
    sim_cluster.store.update_status(
        "v1",
        "Service",
        "kourier",
        "knative-serving",
        {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
    )
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) == (
        ("203.0.113.7", 80),
        "kourier Service (knative-serving) load balancer",
    )


def test_pending_load_balancer_falls_back_to_a_node_port(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kourier-system"}}
    )
    kube.apply([kourier_service("kourier-system")])
    node = kube.list("v1", "Node")[0][0]
    internal = [
        a["address"] for a in node["status"].get("addresses", []) if a["type"] == "InternalIP"
    ]
    assert internal, "a kind node has an InternalIP"
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) == (
        (internal[0], 30517),
        "kourier Service (kourier-system) node port on a node's InternalIP",
    )


def test_a_node_port_is_reached_on_the_external_ip_before_the_internal_one(sim_cluster):
    # Cloud nodes list their InternalIP first; only the ExternalIP is reachable from outside.
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kourier-system"}}
    )
    kube.apply([kourier_service("kourier-system")])
    node = kube.list("v1", "Node")[0][0]
    status = dict(node["status"])
    status["addresses"] = [
        {"type": "InternalIP", "address": "10.128.0.7"},
        {"type": "Hostname", "address": "gke-pool-1-abc"},
        {"type": "ExternalIP", "address": "198.51.100.23"},
    ]
    sim_cluster.store.update_status("v1", "Node", node["metadata"]["name"], None, status)
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) == (
        ("198.51.100.23", 30517),
        "kourier Service (kourier-system) node port on a node's ExternalIP",
    )


def test_no_kourier_means_unknown(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) is None


def access(endpoint=None) -> ClusterAccess:
    return ClusterAccess(None, None, endpoint, "existing", "sim", False, {})


def test_ingress_endpoint_prefers_the_option_then_the_kourier_service(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    assert ingress_endpoint_for(access(("10.0.0.9", 8080)), kube) == (
        ("10.0.0.9", 8080),
        "option or kind port mapping",
    )
    assert ingress_endpoint_for(access(), kube) is None
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "knative-serving"}}
    )
    kube.apply([kourier_service("knative-serving")])
    sim_cluster.store.update_status(
        "v1",
        "Service",
        "kourier",
        "knative-serving",
        {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}},
    )
    assert ingress_endpoint_for(access(), kube) == (
        ("lb.example", 80),
        "kourier Service (knative-serving) load balancer",
    )


# -- the kind provider, in this process, with the kind and docker doubles --------------------


@pytest.fixture
def docker_host(tmp_path, monkeypatch, sim_cluster):
    """The doubles first on PATH, with a Docker host (clusters, images) of this test's own."""
    monkeypatch.setenv("PATH", f"{BIN_DIR}:{os.environ['PATH']}")
    monkeypatch.setenv("SIM_KIND_STATE", str(tmp_path / "docker-host"))
    monkeypatch.delenv("SIM_DOCKER_DOWN", raising=False)
    monkeypatch.delenv("KIND_EXPERIMENTAL_PROVIDER", raising=False)
    yield sim_cluster
    listed = subprocess.run(
        [BIN_DIR / "kind", "get", "clusters"], capture_output=True, text=True
    ).stdout.split()
    for name in listed:
        subprocess.run([BIN_DIR / "kind", "delete", "cluster", "--name", name], capture_output=True)


def kind_provider(sim, tmp_path, name: str) -> KindProvider:
    options = Options(
        cluster="kind",
        cluster_name=name,
        release_mirror=sim.release_mirror,
        cache_dir=tmp_path / "cache",
    )
    catalog = Catalog.load()
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    return KindProvider(options, build_plan(options, catalog), catalog, run_dir)


GATEWAY = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: gateway, namespace: default}
    spec:
      selector: {matchLabels: {app: gateway}}
      template:
        metadata: {labels: {app: gateway}}
        spec:
          containers:
            - name: envoy
              image: docker.io/envoyproxy/envoy:v1.27-latest
              ports: [{name: http2, containerPort: 8080}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: gateway, namespace: default}
    spec:
      type: NodePort
      selector: {app: gateway}
      ports: [{name: http2, port: 80, targetPort: 8080, nodePort: 31080}]
    """
)


@pytest.mark.parametrize(
    ("engine", "kind_release"),
    [
        ("docker", "0.20.0"),
        # kind drives nerdctl from v0.23.0 on (an older one would make the nodes with Docker),
        # and hands it hostPort -1 as 0, which nerdctl's CNI refuses: the harness takes a newer
        # kind than the book's node image needs, and lets kind pick the port.
        ("nerdctl", "0.23.0"),
    ],
)
def test_kourier_is_reached_on_the_host_port_the_engine_bound(
    tmp_path, docker_host, monkeypatch, engine, kind_release
):
    if engine != "docker":
        monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", engine)
        monkeypatch.setenv("PATH", f"{engine_named(tmp_path, engine).parent}:{os.environ['PATH']}")
    provider = kind_provider(docker_host, tmp_path, "hostport")
    said: list[str] = []
    access = provider.up(said.append)
    try:
        assert access.created is True
        assert access.facts["container_engine"] == engine
        assert access.facts["kind_version"] == kind_release
        host, port = access.ingress_endpoint
        bound = subprocess.run(
            [shutil.which(engine), "port", "hostport-control-plane", "31080/tcp"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert bound == f"127.0.0.1:{port}", f"the port {engine} bound, as `{engine} port` shows it"
        # Traffic through that port reaches the cluster's NodePort 31080: a gateway behind it
        # answers as Kourier's Envoy does for an unknown Host.
        kube = Kube.from_kubeconfig(access.kubeconfig, access.context)
        kube.apply(list(yaml.safe_load_all(GATEWAY)))
        wait(
            kube,
            Watched("v1", "Pod", "default", label_selector="app=gateway"),
            condition_is_true("Ready"),
            120,
            "the gateway pod to be Ready",
        )
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.request("GET", "/", headers={"Host": "nothing.example"})
        response = connection.getresponse()
        assert (response.status, response.getheader("server")) == (404, "envoy")
        assert any(line.startswith("pulling node image kindest/node:") for line in said), said
        assert any(line.startswith("creating kind cluster hostport (") for line in said), said
    finally:
        provider.down()


HOLD_THE_NAME = """
import sys, time
from pathlib import Path
from cookbook14.providers import claim_cluster_name
lock = claim_cluster_name(Path(sys.argv[1]), "shared", Path(sys.argv[2]), 10, print)
print("held", flush=True)
time.sleep(60)
"""


def test_a_cluster_name_held_by_another_run_is_waited_for_then_refused(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_NAME, str(tmp_path / "cache"), "/runs/first"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        said: list[str] = []
        with pytest.raises(ToolError) as raised:
            claim_cluster_name(tmp_path / "cache", "shared", tmp_path / "second", 1, said.append)
        assert len(said) == 1
        assert said[0].startswith(
            f"kind cluster shared is in use by another run (pid {holder.pid} on "
        )
        assert said[0].endswith(
            "run /runs/first); waiting up to 1s for it to finish (or give another --cluster-name)"
        )
        message = str(raised.value)
        assert message.startswith(
            f"kind cluster shared was still in use by another run (pid {holder.pid} on "
        )
        assert message.endswith("after 1s; give another --cluster-name, or stop that run")
        assert "\n" not in message
    finally:
        holder.kill()
        holder.wait()
    # The holder died: the OS released its lock, and the name is free at once.
    lock = claim_cluster_name(tmp_path / "cache", "shared", tmp_path / "third", 1, said.append)
    lock.release()
