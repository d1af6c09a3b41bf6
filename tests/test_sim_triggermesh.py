"""Self-tests of the simulated TriggerMesh v1.26.0 release files (recipe 14.8).

The files come from the release mirror over HTTP, are applied with the real kubectl, and the
result is read back through discovery and the official kubernetes client.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import yaml
from kubernetes import client

from tests.conftest import api_client, mirror_url, run_kubectl
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
