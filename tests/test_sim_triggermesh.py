"""Self-tests of the simulated TriggerMesh v1.26.0 release files (recipe 14.8).

The files come from the release mirror over HTTP, are applied with the real kubectl, and the
result is read back through discovery and the official kubernetes client.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import pytest
import yaml
from kubernetes import client

from tests.conftest import KUBECTL, api_client, mirror_url, run_kubectl
from tests.sim import SimCluster
from tests.sim.mirror import eventing as release_files

TAG = "v1.26.0"
GROUP_COUNTS = {
    "sources.triggermesh.io": 38,
    "targets.triggermesh.io": 34,
    "flow.triggermesh.io": 5,
    "routing.triggermesh.io": 2,
    "extensions.triggermesh.io": 1,
}
WAIT_SECONDS = 60.0


def _kubectl(sim: SimCluster, *args: str) -> str:
    return run_kubectl(sim, *args, timeout=120)


def _url(sim: SimCluster, filename: str) -> str:
    return mirror_url(sim, "triggermesh", "triggermesh", TAG, filename)


def _available(apps: client.AppsV1Api, name: str) -> bool:
    deployment = apps.read_namespaced_deployment(name, "triggermesh")
    return any(
        c.type == "Available" and c.status == "True" for c in deployment.status.conditions or []
    )


def test_crds_file_has_the_real_shape() -> None:
    body = release_files.asset("triggermesh", "triggermesh", TAG, "triggermesh-crds.yaml", None)
    crds = list(yaml.safe_load_all(body))
    assert Counter(crd["spec"]["group"] for crd in crds) == GROUP_COUNTS
    for crd in crds:
        assert crd["spec"]["scope"] == "Namespaced"
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"]
        assert "shortNames" not in crd["spec"]["names"]


def test_webhooks_fail_closed() -> None:
    body = release_files.asset("triggermesh", "triggermesh", TAG, "triggermesh.yaml", None)
    configurations = [
        obj for obj in yaml.safe_load_all(body) if obj["kind"].endswith("WebhookConfiguration")
    ]
    assert configurations
    assert {hook["failurePolicy"] for obj in configurations for hook in obj["webhooks"]} == {"Fail"}


def test_applied_release_serves_the_groups_and_runs(sim_cluster: SimCluster) -> None:
    _kubectl(sim_cluster, "apply", "-f", _url(sim_cluster, "triggermesh-crds.yaml"))
    _kubectl(sim_cluster, "apply", "-f", _url(sim_cluster, "triggermesh.yaml"))

    api = api_client(sim_cluster)
    custom, apps = client.CustomObjectsApi(api), client.AppsV1Api(api)
    for group, count in GROUP_COUNTS.items():
        resources = custom.get_api_resources(group, "v1alpha1").resources
        kinds = {r.kind for r in resources if "/" not in r.name}
        assert len(kinds) == count, group
        assert all(r.namespaced and not r.short_names for r in resources if "/" not in r.name)
    listing = _kubectl(sim_cluster, "api-resources", "--api-group=sources.triggermesh.io")
    assert "AWSCloudWatchLogsSource" in listing
    listing = _kubectl(sim_cluster, "api-resources", "--api-group=targets.triggermesh.io")
    assert "AWSComprehendTarget" in listing

    deadline = time.monotonic() + WAIT_SECONDS
    waiting = ["triggermesh-controller", "triggermesh-webhook"]
    while waiting and time.monotonic() < deadline:
        waiting = [name for name in waiting if not _available(apps, name)]
        time.sleep(0.05)
    if waiting:
        pytest.fail(f"not Available within {WAIT_SECONDS:.0f}s: {', '.join(waiting)}")


def test_v1_26_0_targets_are_the_tags_own() -> None:
    body = release_files.asset("triggermesh", "triggermesh", TAG, "triggermesh-crds.yaml", None)
    kinds = {crd["spec"]["names"]["kind"] for crd in yaml.safe_load_all(body)}
    assert "SolaceTarget" in kinds
    assert "AlibabaOSSTarget" not in kinds


def test_its_addressable_resolver_is_a_copy_of_eventings_aggregated_role() -> None:
    body = release_files.asset("triggermesh", "triggermesh", TAG, "triggermesh.yaml", None)
    roles = {
        obj["metadata"]["name"]: obj
        for obj in yaml.safe_load_all(body)
        if obj["kind"] == "ClusterRole"
    }
    resolver = roles["addressable-resolver"]
    assert resolver["metadata"]["labels"] == {"app.kubernetes.io/part-of": "triggermesh"}
    assert resolver["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {"duck.knative.dev/addressable": "true"}}]
    }
    assert resolver["rules"] == []
    own = roles["triggermesh-addressable-resolver"]
    assert own["metadata"]["labels"]["duck.knative.dev/addressable"] == "true"
    assert "solacetargets" in own["rules"][0]["resources"]


EVENTINGS_RESOLVER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: addressable-resolver
  labels: {app.kubernetes.io/name: knative-eventing}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {duck.knative.dev/addressable: "true"}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: channel-addressable-resolver
  labels: {duck.knative.dev/addressable: "true"}
rules:
- apiGroups: [messaging.knative.dev]
  resources: [channels, channels/status]
  verbs: [get, list, watch]
"""
CHANNEL_RULE = {
    "apiGroups": ["messaging.knative.dev"],
    "resources": ["channels", "channels/status"],
    "verbs": ["get", "list", "watch"],
}


def _resolver(sim: SimCluster) -> dict:
    return sim.store.get("rbac.authorization.k8s.io/v1", "ClusterRole", "addressable-resolver")


def _wait_for_rules(sim: SimCluster, wanted: list) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while _resolver(sim).get("rules") != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return _resolver(sim)


def test_applying_its_resolver_over_eventings_is_what_the_api_server_does(
    sim_cluster: SimCluster,
) -> None:
    """kube-controller-manager aggregates Eventing's role (field manager
    clusterrole-aggregation-controller owns `rules`, an atomic list); TriggerMesh's copy
    applied server-side conflicts on `rules` without force, and with force takes them, the
    aggregation controller then takes them back. Its labels stay on the role."""
    apply = ("apply", "--server-side", "-f", "-")
    run_kubectl(sim_cluster, *apply, "--field-manager=operator", stdin=EVENTINGS_RESOLVER)
    role = _wait_for_rules(sim_cluster, [CHANNEL_RULE])
    owners = {e["manager"]: e["fieldsV1"] for e in role["metadata"]["managedFields"]}
    assert owners["clusterrole-aggregation-controller"] == {"f:rules": {}}

    body = release_files.asset("triggermesh", "triggermesh", TAG, "triggermesh.yaml", None)
    copy = next(
        text
        for text in body.decode().split("\n---\n")
        if "name: addressable-resolver\n" in text and "kind: ClusterRole\n" in text
    )
    refused = subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(sim_cluster.kubeconfig),
            *apply,
            "--field-manager=cookbook14",
        ],
        input=copy,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert 'conflict with "clusterrole-aggregation-controller"' in refused.stderr
    assert ".rules" in refused.stderr

    run_kubectl(sim_cluster, *apply, "--force-conflicts", "--field-manager=cookbook14", stdin=copy)
    role = _wait_for_rules(sim_cluster, [CHANNEL_RULE])
    assert role["rules"] == [CHANNEL_RULE]
    assert role["metadata"]["labels"]["app.kubernetes.io/part-of"] == "triggermesh"
    owners = {e["manager"]: e["fieldsV1"] for e in role["metadata"]["managedFields"]}
    assert owners["clusterrole-aggregation-controller"] == {"f:rules": {}}
    assert "f:app.kubernetes.io/part-of" in owners["cookbook14"]["f:metadata"]["f:labels"]


def test_image_pull_fault_leaves_its_pods_in_image_pull_back_off(make_sim_cluster) -> None:
    sim = make_sim_cluster(faults=["triggermesh-image-pull"])
    _kubectl(sim, "apply", "-f", _url(sim, "triggermesh-crds.yaml"))
    _kubectl(sim, "apply", "-f", _url(sim, "triggermesh.yaml"))
    core = client.CoreV1Api(api_client(sim))
    deadline = time.monotonic() + WAIT_SECONDS
    waiting: list = []
    while len(waiting) < 2 and time.monotonic() < deadline:
        pods = core.list_namespaced_pod("triggermesh").items
        waiting = [
            (pod, status)
            for pod in pods
            for status in pod.status.container_statuses or []
            if status.state.waiting and status.state.waiting.reason == "ImagePullBackOff"
        ]
        time.sleep(0.05)
    assert len(waiting) == 2, [pod.status for pod, _ in waiting]
    for pod, status in waiting:
        image = f"gcr.io/triggermesh/{pod.metadata.labels['app']}:v1.26.0"
        assert status.image == image
        assert image in status.state.waiting.message
        assert "403 Forbidden" in status.state.waiting.message
        events = core.list_namespaced_event(
            "triggermesh", field_selector=f"involvedObject.name={pod.metadata.name}"
        ).items
        assert {"Failed", "BackOff"} <= {event.reason for event in events}
        assert any(f'Failed to pull image "{image}"' in event.message for event in events)
