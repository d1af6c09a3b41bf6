"""The simulated API server through the real kubectl (KUBECONFIG pointing at the sim)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import KUBECTL
from tests.sim import SimCluster

GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.tools.example.com"},
    "spec": {
        "group": "tools.example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "gadgets",
            "singular": "gadget",
            "kind": "Gadget",
            "shortNames": ["gd"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                    {
                        "name": "Ready",
                        "type": "string",
                        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                    },
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
            }
        ],
    },
}
GADGET = {
    "apiVersion": "tools.example.com/v1",
    "kind": "Gadget",
    "metadata": {"name": "g1", "namespace": "default"},
    "spec": {"size": "big"},
}
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        },
    },
}
DISCOVERY_NOISE = ("couldn't get resource list", "memcache", "discovery", "Warning", "error")


class Kubectl:
    def __init__(self, sim: SimCluster, workdir: Path, binary: str = KUBECTL) -> None:
        self.binary = binary
        self.sim = sim
        self.workdir = workdir
        self.env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig), "HOME": str(workdir)}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.binary, "--cache-dir", str(self.workdir / "cache"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check:
            assert result.returncode == 0, result.stderr
            assert not any(word in result.stderr for word in DISCOVERY_NOISE), result.stderr
        return result

    def write(self, name: str, *objects: dict) -> str:
        path = self.workdir / name
        path.write_text(yaml.safe_dump_all(objects))
        return str(path)


@pytest.fixture
def kubectl(sim_cluster: SimCluster, tmp_path: Path) -> Kubectl:
    return Kubectl(sim_cluster, tmp_path)


def install_gadgets(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", kubectl.write("crd.yaml", GADGET_CRD))
    kubectl.run(
        "wait", "--for=condition=Established", "crd/gadgets.tools.example.com", "--timeout=10s"
    )


def test_get_deployment_table_json_and_yaml(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", kubectl.write("deploy.yaml", DEPLOYMENT))
    table = kubectl.run("get", "deployment", "web").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[0] == "web"
    as_json = json.loads(kubectl.run("get", "deployment", "web", "-o", "json").stdout)
    assert as_json["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    as_yaml = yaml.safe_load(kubectl.run("get", "deploy", "web", "-o", "yaml").stdout)
    assert as_yaml["metadata"]["uid"] == as_json["metadata"]["uid"]


def test_custom_resource_printer_columns(kubectl: Kubectl) -> None:
    install_gadgets(kubectl)
    kubectl.run("apply", "-f", kubectl.write("gadget.yaml", GADGET))
    lines = kubectl.run("get", "gadgets").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "READY", "AGE"]
    assert lines[1].split()[:2] == ["g1", "big"]
    by_short_name = json.loads(kubectl.run("get", "gd", "g1", "-o", "json").stdout)
    assert by_short_name["spec"] == {"size": "big"}
    columns = kubectl.run("api-resources", "--api-group=tools.example.com").stdout.splitlines()
    assert columns[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert columns[1].split() == ["gadgets", "gd", "tools.example.com/v1", "true", "Gadget"]


def test_client_side_apply_create_reapply_change(kubectl: Kubectl) -> None:
    path = kubectl.write(
        "cm.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default"},
            "data": {"a": "1", "b": "2"},
        },
    )
    assert "configmap/settings created" in kubectl.run("apply", "-f", path).stdout
    assert "configmap/settings unchanged" in kubectl.run("apply", "-f", path).stdout
    path = kubectl.write(
        "cm.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default"},
            "data": {"a": "3"},
        },
    )
    assert "configmap/settings configured" in kubectl.run("apply", "-f", path).stdout
    data = json.loads(kubectl.run("get", "cm", "settings", "-o", "json").stdout)["data"]
    assert data == {"a": "3"}
    deployment = json.loads(json.dumps(DEPLOYMENT))
    kubectl.run("apply", "-f", kubectl.write("deploy.yaml", deployment))
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert (
        "configured" in kubectl.run("apply", "-f", kubectl.write("deploy.yaml", deployment)).stdout
    )
    image = kubectl.run(
        "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    ).stdout
    assert image == "nginx:1.26"


def test_server_side_apply_and_delete(kubectl: Kubectl) -> None:
    install_gadgets(kubectl)
    path = kubectl.write("gadget.yaml", GADGET)
    assert "serverside-applied" in kubectl.run("apply", "--server-side", "-f", path).stdout
    first = json.loads(kubectl.run("get", "gadget", "g1", "-o", "json").stdout)
    kubectl.run("apply", "--server-side", "-f", path)
    again = json.loads(kubectl.run("get", "gadget", "g1", "-o", "json").stdout)
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    changed = {**GADGET, "spec": {"size": "small"}}
    conflict = kubectl.run(
        "apply",
        "--server-side",
        "--field-manager",
        "other",
        "-f",
        kubectl.write("other.yaml", changed),
        check=False,
    )
    assert conflict.returncode != 0
    assert 'conflict with "kubectl"' in conflict.stderr
    assert '"g1" deleted' in kubectl.run("delete", "-f", path).stdout
    missing = kubectl.run("get", "gadget", "g1", check=False)
    assert 'gadgets.tools.example.com "g1" not found' in missing.stderr


def test_wait_for_condition_set_from_another_thread(kubectl: Kubectl) -> None:
    install_gadgets(kubectl)
    kubectl.run("apply", "-f", kubectl.write("gadget.yaml", GADGET))
    store = kubectl.sim.store

    def become_ready() -> None:
        time.sleep(0.5)
        store.update_status(
            "tools.example.com/v1",
            "Gadget",
            "g1",
            "default",
            {"conditions": [{"type": "Ready", "status": "True"}]},
        )

    threading.Thread(target=become_ready).start()
    result = kubectl.run("wait", "--for=condition=Ready", "gadget/g1", "--timeout=10s")
    assert "gadget.tools.example.com/g1 condition met" in result.stdout


def test_logs_of_a_container(kubectl: Kubectl) -> None:
    kubectl.sim.store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "talker", "namespace": "default"},
            "spec": {
                "containers": [
                    {"name": "app", "image": "busybox"},
                    {"name": "queue-proxy", "image": "busybox"},
                ]
            },
        }
    )
    kubectl.sim.store.append_log("default", "talker", "app", "hello from app")
    assert kubectl.run("logs", "talker", "-c", "app").stdout == "hello from app\n"
    # kubectl itself picks the first container when none is named (the server would refuse).
    defaulted = kubectl.run("logs", "talker", check=False)
    assert defaulted.stderr == 'Defaulted container "app" out of: app, queue-proxy\n'


def test_a_1_32_server_is_discovered_and_applied_to(make_sim_cluster, tmp_path: Path) -> None:
    # Newer kubectls discover through aggregated discovery; gcloud's kubectl dispatcher (as on
    # these machines) runs the kubectl matching the server's minor, so a 1.32 server gets 1.32.
    kubectl = Kubectl(make_sim_cluster(kubernetes_version="1.32.2"), tmp_path)
    install_gadgets(kubectl)
    kubectl.run("apply", "--server-side", "-f", kubectl.write("gadget.yaml", GADGET))
    columns = kubectl.run("api-resources", "--api-group=tools.example.com").stdout.splitlines()
    assert columns[1].split() == ["gadgets", "gd", "tools.example.com/v1", "true", "Gadget"]
    assert kubectl.run("get", "gadgets").stdout.splitlines()[0].split()[:2] == ["NAME", "SIZE"]


def test_strictness_errors_and_warnings_reach_kubectl(kubectl: Kubectl) -> None:
    from tests.sim.store import Denied

    typo = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replica": 2}}
    refused = kubectl.run("apply", "-f", kubectl.write("typo.yaml", typo), check=False)
    assert refused.returncode != 0
    assert 'strict decoding error: unknown field "spec.replica"' in refused.stderr
    mismatch = {
        **DEPLOYMENT,
        "spec": {**DEPLOYMENT["spec"], "selector": {"matchLabels": {"app": "other"}}},
    }
    invalid = kubectl.run("apply", "-f", kubectl.write("mismatch.yaml", mismatch), check=False)
    assert "`selector` does not match template `labels`" in invalid.stderr

    def admit(operation: str, obj: dict, old: dict | None) -> list[str]:
        if obj.get("data", {}).get("mode") == "forbidden":
            raise Denied('admission webhook "cm.example.com" denied the request: forbidden mode')
        return ["configmaps are watched"]

    kubectl.sim.store.add_admission("", "ConfigMap", admit)
    allowed = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}}
    created = kubectl.run("create", "-f", kubectl.write("cm.yaml", allowed), check=False)
    assert created.returncode == 0, created.stderr
    assert "Warning: configmaps are watched" in created.stderr
    denied = {**allowed, "metadata": {"name": "c2"}, "data": {"mode": "forbidden"}}
    rejected = kubectl.run("create", "-f", kubectl.write("denied.yaml", denied), check=False)
    assert rejected.returncode != 0
    assert 'admission webhook "cm.example.com" denied the request: forbidden mode' in (
        rejected.stderr
    )
    bad_label = kubectl.run("label", "configmap", "c1", "tier=a b", check=False)
    assert bad_label.returncode != 0
    held = {**allowed, "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    kubectl.run("create", "-f", kubectl.write("held.yaml", held), check=False)
    kubectl.run("delete", "configmap", "held", "--wait=false", check=False)
    live = json.loads(kubectl.run("get", "configmap", "held", "-o", "json").stdout)
    assert live["metadata"]["deletionTimestamp"]
    kubectl.run(
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
        check=False,
    )
    gone = kubectl.run("get", "configmap", "held", check=False)
    assert 'configmaps "held" not found' in gone.stderr
