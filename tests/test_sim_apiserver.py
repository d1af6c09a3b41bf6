"""The simulated API server through the official kubernetes client and raw HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.conftest import api_client
from tests.sim import SimCluster
from tests.sim.apiserver import jsonpath_values, table_cells, table_columns
from tests.sim.mirror import eventing as eventing_files
from tests.sim.mirror import knative_core
from tests.sim.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wd"],
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": False,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            },
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
            },
        ],
    },
}


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def config_map(name: str, namespace: str = "default", **labels: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"key": "value"},
    }


def wait_until(predicate: Callable[[], object], timeout: float = 3.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def install_widget_crd(api: client.ApiClient) -> None:
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(WIDGET_CRD)

    def established() -> bool:
        crd = extensions.read_custom_resource_definition("widgets.example.com")
        return any(
            c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])
        )

    wait_until(established)


def test_version_and_discovery(sim_cluster: SimCluster) -> None:
    api = api_client(sim_cluster)
    assert client.VersionApi(api).get_code().git_version == "v1.27.3"
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert groups["apps"].preferred_version.version == "v1"
    core = client.CoreV1Api(api).get_api_resources()
    names = {r.name: r for r in core.resources}
    assert {"pods", "pods/log", "pods/status", "namespaces", "configmaps"} <= set(names)
    assert names["pods"].short_names == ["po"]
    assert names["namespaces"].namespaced is False
    nodes = client.CoreV1Api(api).list_node().items
    assert [n.metadata.name for n in nodes] == ["kind-control-plane"]
    assert nodes[0].status.node_info.kubelet_version == "v1.27.3"


def test_crud_and_error_statuses(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    created = core.create_namespaced_config_map("default", config_map("one"))
    assert created.metadata.uid and created.metadata.resource_version
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_config_map("default", config_map("one"))
    assert exists.value.status == 409
    assert status_of(exists.value)["reason"] == "AlreadyExists"
    assert status_of(exists.value)["message"] == 'configmaps "one" already exists'
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_config_map("nope", "default")
    assert status_of(missing.value)["message"] == 'configmaps "nope" not found'
    with pytest.raises(ApiException) as bad_name:
        core.create_namespaced_config_map("default", config_map("Bad_Name"))
    assert bad_name.value.status == 422
    assert status_of(bad_name.value)["details"]["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_config_map("ghost", config_map("one", "ghost"))
    assert status_of(no_namespace.value)["message"] == 'namespaces "ghost" not found'
    stale = core.read_namespaced_config_map("one", "default")
    stale.data = {"key": "new"}
    core.replace_namespaced_config_map("one", "default", stale)
    stale.data = {"key": "newer"}
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_config_map("one", "default", stale)
    assert conflict.value.status == 409
    assert "the object has been modified" in status_of(conflict.value)["message"]
    core.delete_namespaced_config_map("one", "default")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("one", "default")
    unserved = requests.get(f"{sim_cluster.api_url}/apis/nothing.example.com/v1/things")
    assert unserved.status_code == 404
    assert unserved.json()["message"] == "the server could not find the requested resource"
    not_allowed = requests.put(
        f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps", json={}
    )
    assert not_allowed.status_code == 405


def test_label_and_field_selectors(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    core.create_namespaced_config_map("default", config_map("a", tier="web", env="prod"))
    core.create_namespaced_config_map("default", config_map("b", tier="db", env="prod"))
    core.create_namespaced_config_map("default", config_map("c", tier="web"))

    def names(**kwargs: str) -> list[str]:
        items = core.list_namespaced_config_map("default", **kwargs).items
        return sorted(i.metadata.name for i in items if i.metadata.name in "abc")

    assert names(label_selector="tier=web") == ["a", "c"]
    assert names(label_selector="tier==web,env") == ["a"]
    assert names(label_selector="tier!=web") == ["b"]
    assert names(label_selector="tier in (db, web),!env") == ["c"]
    assert names(label_selector="tier notin (web)") == ["b"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b") == ["a", "c"]
    core.create_namespaced_event(
        "default",
        {
            "metadata": {"name": "e1"},
            "involvedObject": {"kind": "Pod", "name": "p1", "namespace": "default"},
            "reason": "Started",
            "message": "Started container",
            "type": "Normal",
        },
    )
    events = core.list_namespaced_event(
        "default", field_selector="involvedObject.kind=Pod,involvedObject.name=p1"
    ).items
    assert [e.metadata.name for e in events] == ["e1"]
    with pytest.raises(ApiException) as unsupported:
        core.list_namespaced_config_map("default", field_selector="spec.nothing=1")
    assert unsupported.value.status == 400


def test_watch_from_resource_version(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    listing = core.list_namespaced_config_map("default")
    core.create_namespaced_config_map("default", config_map("watched"))
    core.patch_namespaced_config_map("watched", "default", {"data": {"key": "changed"}})
    core.delete_namespaced_config_map("watched", "default")
    seen = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map,
        "default",
        resource_version=listing.metadata.resource_version,
        timeout_seconds=1,
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:
            break
    assert seen == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]


def test_too_old_resource_version_is_410_in_stream(sim_cluster: SimCluster) -> None:
    store = sim_cluster.store
    for index in range(1100):
        store.create(config_map(f"churn-{index}"))
    response = requests.get(
        f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true", "resourceVersion": "2"},
        stream=True,
        timeout=5,
    )
    event = json.loads(next(response.iter_lines()))
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith("too old resource version: 2 (")


def test_watch_bookmarks_and_timeout(sim_cluster: SimCluster) -> None:
    started = time.monotonic()
    response = requests.get(
        f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps",
        params={
            "watch": "1",
            "resourceVersion": sim_cluster.store.resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "1",
        },
        stream=True,
        timeout=5,
    )
    events = [json.loads(line) for line in response.iter_lines() if line]
    assert time.monotonic() - started < 3
    assert events and all(e["type"] == "BOOKMARK" for e in events)


def test_status_subresource(sim_cluster: SimCluster) -> None:
    api = api_client(sim_cluster)
    install_widget_crd(api)
    custom = client.CustomObjectsApi(api)
    widget = custom.create_namespaced_custom_object(
        "example.com",
        "v1",
        "default",
        "widgets",
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 1},
            "status": {"ignored": True},
        },
    )
    assert "status" not in widget
    assert widget["metadata"]["generation"] == 1
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    patched = custom.patch_namespaced_custom_object_status(
        "example.com", "v1", "default", "widgets", "w", status
    )
    assert patched["status"]["conditions"][0]["status"] == "True"
    assert patched["metadata"]["generation"] == 1
    spec_change = custom.patch_namespaced_custom_object(
        "example.com",
        "v1",
        "default",
        "widgets",
        "w",
        {"spec": {"size": 2}, "status": {"conditions": []}},
    )
    assert spec_change["metadata"]["generation"] == 2
    assert spec_change["status"]["conditions"][0]["status"] == "True"
    old_version = custom.get_namespaced_custom_object(
        "example.com", "v1alpha1", "default", "widgets", "w"
    )
    assert old_version["apiVersion"] == "example.com/v1alpha1"


def _apply(
    sim: SimCluster, path: str, body: dict, manager: str | None, force: bool = False
) -> requests.Response:
    params = {"fieldManager": manager} if manager else {}
    if force:
        params["force"] = "true"
    return requests.patch(
        f"{sim.api_url}{path}",
        params=params,
        data=json.dumps(body),
        headers={"Content-Type": "application/apply-patch+yaml"},
        timeout=5,
    )


def test_server_side_apply(sim_cluster: SimCluster) -> None:
    path = "/api/v1/namespaces/default/configmaps/applied"
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "applied", "namespace": "default"},
        "data": {"a": "1", "b": "2"},
    }
    created = _apply(sim_cluster, path, body, "alice")
    assert created.status_code == 201
    revision = created.json()["metadata"]["resourceVersion"]
    unchanged = _apply(sim_cluster, path, body, "alice")
    assert unchanged.status_code == 200
    assert unchanged.json()["metadata"]["resourceVersion"] == revision
    conflict = _apply(sim_cluster, path, {**body, "data": {"a": "other"}}, "bob")
    assert conflict.status_code == 409
    assert conflict.json()["reason"] == "Conflict"
    assert conflict.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "alice": .data.a'
    )
    forced = _apply(sim_cluster, path, {**body, "data": {"a": "other"}}, "bob", force=True)
    assert forced.json()["data"] == {"a": "other", "b": "2"}
    managers = {e["manager"]: e for e in forced.json()["metadata"]["managedFields"]}
    assert managers["bob"]["fieldsV1"] == {"f:data": {"f:a": {}}}
    assert managers["alice"]["fieldsV1"] == {"f:data": {"f:b": {}}}
    shrunk = _apply(sim_cluster, path, {**body, "data": {"c": "3"}}, "alice")
    assert shrunk.json()["data"] == {"a": "other", "c": "3"}
    no_manager = _apply(sim_cluster, path, body, None)
    assert no_manager.status_code == 422
    assert "fieldManager" in no_manager.json()["message"]
    dry = _apply(
        sim_cluster,
        "/api/v1/namespaces/default/configmaps/dry",
        {**body, "metadata": {"name": "dry", "namespace": "default"}},
        "alice",
    )
    assert dry.status_code == 201
    requests.get(f"{sim_cluster.api_url}{path}", timeout=5).raise_for_status()


def test_server_side_apply_conflict_with_an_updater(sim_cluster: SimCluster) -> None:
    apps = client.AppsV1Api(api_client(sim_cluster))
    path = "/apis/apps/v1/namespaces/default/deployments/ssa"
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa", "namespace": "default"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "ssa"}},
            "template": {
                "metadata": {"labels": {"app": "ssa"}},
                "spec": {"containers": [{"name": "app", "image": "app:1"}]},
            },
        },
    }
    assert _apply(sim_cluster, path, deployment, "deployer").status_code == 201
    apps.patch_namespaced_deployment(
        "ssa",
        "default",
        {
            "spec": {
                "replicas": 0,
                "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}},
            }
        },
        field_manager="hand-edit",
    )
    changed = json.loads(json.dumps(deployment))
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "app:3"
    conflict = _apply(sim_cluster, path, changed, "deployer")
    assert conflict.status_code == 409
    assert conflict.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "hand-edit" using apps/v1:'
        ' .spec.template.spec.containers[name="app"].image'
    )


def test_merge_strategic_and_json_patches(sim_cluster: SimCluster) -> None:
    apps = client.AppsV1Api(api_client(sim_cluster))
    apps.create_namespaced_deployment(
        "default",
        {
            "metadata": {"name": "patched"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "p"}},
                "template": {
                    "metadata": {"labels": {"app": "p"}},
                    "spec": {
                        "containers": [
                            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                            {"name": "b", "image": "b:1"},
                        ]
                    },
                },
            },
        },
    )
    # The kubernetes client sends strategic merge patch for dict bodies.
    apps.patch_namespaced_deployment(
        "patched",
        "default",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}
                }
            }
        },
    )
    containers = apps.read_namespaced_deployment("patched", "default").spec.template.spec.containers
    assert [c.name for c in containers] == ["a", "b"]
    assert [e.name for e in containers[0].env] == ["X", "Y"]
    assert containers[0].image == "a:1"
    url = f"{sim_cluster.api_url}/apis/apps/v1/namespaces/default/deployments/patched"
    merge = requests.patch(
        url,
        data=json.dumps({"metadata": {"labels": {"m": "1"}}}),
        headers={"Content-Type": "application/merge-patch+json"},
        timeout=5,
    )
    assert merge.json()["metadata"]["labels"] == {"m": "1"}
    delete_b = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "b", "$patch": "delete"}],
                    "$setElementOrder/containers": [{"name": "a"}],
                }
            }
        }
    }
    strategic = requests.patch(
        url,
        data=json.dumps(delete_b),
        timeout=5,
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert [c["name"] for c in strategic.json()["spec"]["template"]["spec"]["containers"]] == ["a"]
    json_patch = requests.patch(
        url,
        data=json.dumps(
            [
                {"op": "replace", "path": "/spec/replicas", "value": 0},
                {"op": "add", "path": "/metadata/annotations", "value": {"j": "p"}},
            ]
        ),
        timeout=5,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert json_patch.json()["metadata"]["annotations"] == {"j": "p"}


def test_crd_establishment_serving_and_deletion(sim_cluster: SimCluster) -> None:
    api = api_client(sim_cluster)
    extensions = client.ApiextensionsV1Api(api)
    custom = client.CustomObjectsApi(api)
    extensions.create_custom_resource_definition(WIDGET_CRD)
    crd = wait_until(
        lambda: next(
            (
                c
                for c in extensions.read_custom_resource_definition(
                    "widgets.example.com"
                ).status.conditions
                or []
                if c.type == "Established" and c.status == "True"
            ),
            None,
        )
    )
    assert crd.reason == "InitialNamesAccepted"
    assert crd.message == "the initial names have been accepted"
    resources = custom.get_api_resources("example.com", "v1").resources
    assert [r.name for r in resources] == ["widgets", "widgets/status"]
    alpha = {r.name for r in custom.get_api_resources("example.com", "v1alpha1").resources}
    assert alpha == {"widgets"}
    group = next(
        g for g in client.ApisApi(api).get_api_versions().groups if g.name == "example.com"
    )
    assert group.preferred_version.version == "v1"
    dynamic = DynamicClient(api)
    widgets = dynamic.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(
        body={
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {},
        },
        namespace="default",
    )
    assert [w.metadata.name for w in widgets.get(namespace="default").items] == ["w1"]
    extensions.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(ApiException) as gone:
        custom.get_api_resources("example.com", "v1")
    assert gone.value.status == 404
    assert not sim_cluster.store.served("example.com/v1", "Widget")


def test_namespace_deletion_cascades(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    core.create_namespace({"metadata": {"name": "doomed"}})
    assert wait_until(lambda: core.read_namespaced_service_account("default", "doomed"))
    core.create_namespaced_config_map("doomed", config_map("inside", "doomed"))
    core.delete_namespace("doomed")
    with pytest.raises(ApiException) as forbidden:
        core.create_namespaced_config_map("doomed", config_map("late", "doomed"))
    assert forbidden.value.status in (403, 404)

    def gone() -> bool:
        try:
            core.read_namespace("doomed")
        except ApiException as error:
            return error.status == 404
        return False

    wait_until(gone)
    assert sim_cluster.store.get("v1", "ConfigMap", "inside", "doomed") is None
    with pytest.raises(ApiException) as immortal:
        core.delete_namespace("default")
    assert immortal.value.status == 403


def test_owner_reference_garbage_collection(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    owner = core.create_namespaced_config_map("default", config_map("owner"))
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
        "controller": True,
    }
    child = config_map("child")
    child["metadata"]["ownerReferences"] = [reference]
    child_uid = core.create_namespaced_config_map("default", child).metadata.uid
    grandchild = config_map("grandchild")
    grandchild["metadata"]["ownerReferences"] = [{**reference, "name": "child", "uid": child_uid}]
    core.create_namespaced_config_map("default", grandchild)
    core.delete_namespaced_config_map("owner", "default")
    remaining = {c.metadata.name for c in core.list_namespaced_config_map("default").items}
    assert not remaining & {"owner", "child", "grandchild"}


def test_pod_logs(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "two-containers"},
            "spec": {
                "containers": [
                    {"name": "app", "image": "busybox"},
                    {"name": "sidecar", "image": "busybox"},
                ]
            },
        },
    )
    for line in ("one", "two", "three"):
        sim_cluster.store.append_log("default", "two-containers", "app", line)
    assert (
        core.read_namespaced_pod_log("two-containers", "default", container="app")
        == "one\ntwo\nthree\n"
    )
    assert (
        core.read_namespaced_pod_log("two-containers", "default", container="app", tail_lines=1)
        == "three\n"
    )
    with pytest.raises(ApiException) as ambiguous:
        core.read_namespaced_pod_log("two-containers", "default")
    assert ambiguous.value.status == 400
    assert status_of(ambiguous.value)["message"] == (
        "a container name must be specified for pod two-containers, choose one of: [app sidecar]"
    )


def test_table_output(sim_cluster: SimCluster) -> None:
    response = requests.get(
        f"{sim_cluster.api_url}/api/v1/namespaces",
        timeout=5,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    body = response.json()
    assert body["kind"] == "Table"
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert body["rows"][0]["cells"][:2] == ["default", "Active"]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def _store_serving(store: Store, crds: list[dict]) -> None:
    """Install `crds` into `store` and wait until their kinds are served."""
    for definition in crds:
        store.create(definition)
    wait_until(
        lambda: all(
            store.served(
                f"{d['spec']['group']}/{d['spec']['versions'][0]['name']}",
                d["spec"]["names"]["kind"],
            )
            for d in crds
        )
    )


def test_knative_service_gets_no_core_service_defaults() -> None:
    store = Store()
    try:
        _store_serving(
            store,
            [
                d
                for d in knative_core.serving_crd_objects("1.11.0")
                if d["spec"]["names"]["kind"] == "Service"
            ],
        )
        ksvc = store.create(
            {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Service",
                "metadata": {"name": "hello", "namespace": "default"},
                "spec": {"template": {"spec": {"containers": [{"image": "example/hello"}]}}},
            }
        )
        assert ksvc["spec"] == {"template": {"spec": {"containers": [{"image": "example/hello"}]}}}
        assert "status" not in ksvc

        core = store.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "hello", "namespace": "default"},
                "spec": {"ports": [{"port": 80}]},
            }
        )
        assert core["spec"]["type"] == "ClusterIP"
        assert core["spec"]["clusterIP"].startswith("10.96.")
        assert core["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    finally:
        store.close()


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_node_port_and_load_balancer_services_get_node_ports(service_type: str) -> None:
    store = Store()
    try:
        created = store.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "gateway", "namespace": "default"},
                "spec": {
                    "type": service_type,
                    "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
                },
            }
        )
        node_ports = [port["nodePort"] for port in created["spec"]["ports"]]
        assert all(30000 <= port <= 32767 for port in node_ports)
        assert len(set(node_ports)) == 2
        assert created["status"] == {"loadBalancer": {}}
    finally:
        store.close()


def test_printer_columns_read_bracketed_escaped_keys() -> None:
    labels = {
        "serving.knative.dev/configuration": "hello",
        "serving.knative.dev/configurationGeneration": "2",
        "app": "hello",
    }
    revision = {"metadata": {"labels": labels}}
    for expression, expected in (
        (r".metadata.labels['serving\.knative\.dev/configuration']", ["hello"]),
        (r'.metadata.labels["serving\.knative\.dev/configurationGeneration"]', ["2"]),
        (r".metadata.labels.serving\.knative\.dev/configuration", ["hello"]),
        (".metadata.labels['app']", ["hello"]),
        (".metadata.labels['serving.knative.dev/configuration']", ["hello"]),
        (r".metadata.labels['serving\.knative\.dev/missing']", []),
    ):
        assert jsonpath_values(revision, expression) == expected, expression

    store = Store()
    try:
        _store_serving(
            store,
            [
                d
                for d in knative_core.serving_crd_objects("1.11.0")
                if d["spec"]["names"]["kind"] == "Revision"
            ],
        )
        store.create(
            {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Revision",
                "metadata": {"name": "hello-00002", "namespace": "default", "labels": labels},
                "spec": {"containers": [{"image": "example/hello"}]},
            }
        )
        rtype = store.resource_type("serving.knative.dev/v1", "Revision")
        [revision] = store.list("serving.knative.dev/v1", "Revision", "default")
        row = dict(
            zip(
                [c["name"] for c in table_columns(rtype)], table_cells(rtype, revision), strict=True
            )
        )
        assert row["Config Name"] == "hello"
        assert row["Generation"] == "2"
    finally:
        store.close()


def test_creation_timestamp_printer_columns_are_dates() -> None:
    definition = knative_core.crd(
        "example.com",
        "gadgets",
        "Gadget",
        ["v1"],
        {},
        columns=[
            ("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            ("Age", ".metadata.creationTimestamp"),
        ],
    )
    columns = definition["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["type"]) for c in columns] == [("Ready", "string"), ("Age", "date")]
    for crd in eventing_files.eventing_crd_objects("1.11.0"):
        for column in crd["spec"]["versions"][0].get("additionalPrinterColumns") or []:
            if column["name"] == "Age":
                assert column["type"] == "date", crd["metadata"]["name"]

    store = Store()
    try:
        _store_serving(store, [definition])
        store.create(
            {
                "apiVersion": "example.com/v1",
                "kind": "Gadget",
                "metadata": {"name": "g", "namespace": "default"},
            }
        )
        rtype = store.resource_type("example.com/v1", "Gadget")
        [gadget] = store.list("example.com/v1", "Gadget", "default")
        assert table_cells(rtype, gadget)[-1] in ("0s", "1s", "2s")
    finally:
        store.close()


def test_api_5xx_burst(make_sim_cluster: Callable[..., SimCluster]) -> None:
    sim = make_sim_cluster(faults=["api-5xx-burst"])
    url = f"{sim.api_url}/api/v1/namespaces/default/configmaps"
    codes = [requests.get(url, timeout=5).status_code for _ in range(13)]
    assert codes[:9] == [200] * 9
    assert codes[9:12] == [503, 503, 503]
    assert codes[12] == 200
    sim.faults.arm_5xx_burst(1, code=500)
    armed = requests.get(url, timeout=5)
    assert armed.status_code == 500
    assert armed.json()["kind"] == "Status"


def test_runtime_armed_burst_is_a_503_status(sim_cluster: SimCluster) -> None:
    sim_cluster.faults.arm_5xx_burst(2)
    url = f"{sim_cluster.api_url}/api/v1/namespaces"
    first, second, third = (requests.get(url, timeout=5) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json()["reason"] == "ServiceUnavailable"


def test_drop_watches(make_sim_cluster: Callable[..., SimCluster]) -> None:
    sim = make_sim_cluster(faults=["drop-watches"])
    store = sim.store
    revision = store.resource_version

    def write_later() -> None:
        time.sleep(0.1)
        store.create(config_map("first"))
        store.create(config_map("second"))

    writer = threading.Thread(target=write_later)
    writer.start()
    response = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true", "resourceVersion": revision},
        stream=True,
        timeout=5,
    )
    events = [json.loads(line) for line in response.iter_lines() if line]
    writer.join()
    assert [e["object"]["metadata"]["name"] for e in events] == ["first"]
    resumed = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={
            "watch": "true",
            "resourceVersion": events[0]["object"]["metadata"]["resourceVersion"],
        },
        stream=True,
        timeout=5,
    )
    assert [
        json.loads(line)["object"]["metadata"]["name"] for line in resumed.iter_lines() if line
    ] == ["second"]
    started = time.monotonic()
    idle = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true", "resourceVersion": store.resource_version},
        stream=True,
        timeout=5,
    )
    assert list(idle.iter_lines()) == []
    assert time.monotonic() - started < 3


def test_unknown_fault_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="accepted: .*drop-watches"):
        SimCluster(tmp_path / "kubeconfig", faults=["made-up"])


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_command_line_starts_and_stops_cleanly(tmp_path: Path) -> None:
    # How fast it starts is measured by benchmarks/speed.py, not asserted here.
    kubeconfig = tmp_path / "cli.kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sim", "--kubeconfig", str(kubeconfig)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SIM_FAULTS": ""},
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["kubeconfig"] == str(kubeconfig)
        assert set(ready) == {"kubeconfig", "release_mirror", "ingress_endpoint"}
        server = next(
            line.split()[-1] for line in kubeconfig.read_text().splitlines() if "server:" in line
        )
        assert requests.get(f"{server}/version", timeout=5).json()["gitVersion"] == "v1.27.3"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not _port_open(server)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_rejects_bad_arguments(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.sim",
            "--kubeconfig",
            str(tmp_path / "k"),
            "--faults",
            "nonsense",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "nonsense" in result.stderr


def test_follow_logs_streams_new_lines(sim_cluster: SimCluster) -> None:
    store = sim_cluster.store
    store.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "follower", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        }
    )
    store.append_log("default", "follower", "app", "before")
    response = requests.get(
        f"{sim_cluster.api_url}/api/v1/namespaces/default/pods/follower/log",
        params={"follow": "true"},
        stream=True,
        timeout=5,
    )
    lines = response.iter_lines()
    assert next(lines) == b"before"
    store.append_log("default", "follower", "app", "after")
    assert next(lines) == b"after"
    response.close()


def test_stop_closes_open_watches_and_leaves_no_threads(tmp_path: Path) -> None:
    sim = SimCluster(tmp_path / "kubeconfig").start()
    response = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true"},
        stream=True,
        timeout=5,
    )
    keep_alive = requests.Session()
    keep_alive.get(f"{sim.api_url}/api/v1/namespaces", timeout=5)
    sim.stop()
    list(response.iter_lines())
    assert not _port_open(sim.api_url)
    leftovers = [
        t.name
        for t in threading.enumerate()
        if "process_request" in t.name or t.name == "sim-apiserver"
    ]
    assert leftovers == []
    keep_alive.close()


# --- admission, finalizers, schemas and built-in strictness -----------------------------------

GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["version"],
                                "properties": {
                                    "version": {"type": "string"},
                                    "replicas": {"type": "integer"},
                                    "enabled": {"type": "boolean"},
                                    "mode": {"type": "string", "enum": ["fast", "slow"]},
                                    "tags": {"type": "array", "items": {"type": "string"}},
                                    "labels": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "config": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {"phase": {"type": "string"}},
                            },
                        },
                    }
                },
            }
        ],
    },
}
GADGETS = "/apis/example.com/v1/namespaces/default/gadgets"


def install_crd(api: client.ApiClient, crd: dict) -> None:
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(crd)

    def established() -> bool:
        live = extensions.read_custom_resource_definition(crd["metadata"]["name"])
        return any(
            c.type == "Established" and c.status == "True" for c in (live.status.conditions or [])
        )

    wait_until(established)


def gadget(name: str, **spec: object) -> dict:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Gadget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def warnings_of(response: requests.Response) -> list[str]:
    raw = response.raw.headers.getlist("Warning") if response.raw else []
    return [json.loads(value.split(" - ", 1)[1]) for value in raw]


def test_admission_defaults_denies_and_warns_on_every_write(sim_cluster: SimCluster) -> None:
    from tests.sim.store import Denied

    install_crd(api_client(sim_cluster), GADGET_CRD)
    seen: list[tuple[str, str | None]] = []

    def admit(operation: str, obj: dict, old: dict | None) -> list[str]:
        seen.append((operation, old["spec"].get("version") if old else None))
        if obj["spec"].get("version") == "bad":
            raise Denied(
                'admission webhook "validation.example.com" denied the request: bad version'
            )
        obj["spec"].setdefault("mode", "fast")
        return [f"gadget {operation.lower()}d"]

    sim_cluster.store.add_admission("example.com", "Gadget", admit)
    base = sim_cluster.api_url + GADGETS
    created = requests.post(base, json=gadget("g1", version="1"), stream=True)
    assert created.status_code == 201
    assert created.json()["spec"]["mode"] == "fast"
    assert warnings_of(created) == ["gadget created"]
    denied = requests.post(base, json=gadget("g2", version="bad"))
    assert denied.status_code == 400
    assert denied.json()["reason"] == "BadRequest"
    assert denied.json()["message"] == (
        'admission webhook "validation.example.com" denied the request: bad version'
    )
    assert requests.post(f"{base}?dryRun=All", json=gadget("g3", version="bad")).status_code == 400
    live = requests.get(f"{base}/g1").json()
    live["spec"]["mode"] = "slow"
    put = requests.put(f"{base}/g1", json=live, stream=True)
    assert put.status_code == 200 and warnings_of(put) == ["gadget updated"]
    merge = requests.patch(
        f"{base}/g1",
        data=json.dumps({"spec": {"version": "bad"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert merge.status_code == 400
    json_patch = requests.patch(
        f"{base}/g1",
        data=json.dumps([{"op": "remove", "path": "/spec/mode"}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert json_patch.json()["spec"]["mode"] == "fast"  # defaulted again by admission
    applied = requests.patch(
        f"{base}/g1?fieldManager=tester&force=true",
        data=json.dumps({**gadget("g1", version="bad")}),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert applied.status_code == 400
    before = len(seen)
    status = requests.patch(
        f"{base}/g1/status",
        data=json.dumps({"status": {"phase": "Ready"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status.status_code == 200 and len(seen) == before  # not for /status
    assert ("UPDATE", "1") in seen
    with pytest.raises(Denied):
        sim_cluster.store.create(gadget("g4", version="bad"))
    core = f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps"
    denials: list[str] = []

    def deny_configmaps(operation: str, obj: dict, old: dict | None) -> list[str]:
        if obj.get("data", {}).get("key") == "deny":
            denials.append(operation)
            raise Denied('admission webhook "cm.example.com" denied the request: no')
        return []

    sim_cluster.store.add_admission("", "ConfigMap", deny_configmaps)
    requests.post(core, json=config_map("cm1"))
    strategic = requests.patch(
        f"{core}/cm1",
        data=json.dumps({"data": {"key": "deny"}}),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert strategic.status_code == 400 and denials == ["UPDATE"]


def test_finalizers_hold_deletion_until_emptied(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    store = sim_cluster.store
    held = config_map("held")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    created = core.create_namespaced_config_map("default", held)
    assert created.metadata.finalizers == ["example.com/hold"]
    events: list[tuple[str, dict]] = []
    watch_from = created.metadata.resource_version
    response = requests.delete(f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps/held")
    assert response.status_code == 200
    body = response.json()
    assert body["metadata"]["deletionTimestamp"]
    assert body["metadata"]["deletionGracePeriodSeconds"] == 0
    still = core.read_namespaced_config_map("held", "default")
    assert still.metadata.deletion_timestamp is not None
    # No new finalizers on an object being deleted (ValidateNoNewFinalizers).
    with pytest.raises(ApiException) as added:
        core.patch_namespaced_config_map(
            "held", "default", {"metadata": {"finalizers": ["example.com/hold", "more"]}}
        )
    assert added.value.status == 422
    assert (
        "no new finalizers can be added if the object is being deleted"
        in (status_of(added.value)["message"])
    )
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("held", "default")
    assert gone.value.status == 404
    stream = store.watch("v1", "ConfigMap", "default", watch_from)
    while (event := stream.next(0.2)) is not None:
        events.append(event)
    stream.close()
    assert [e[0] for e in events] == ["MODIFIED", "MODIFIED", "DELETED"]
    # Garbage collection: a dependent with a finalizer is only marked.
    owner = core.create_namespaced_config_map("default", config_map("owner"))
    dependent = config_map("dependent")
    dependent["metadata"]["finalizers"] = ["example.com/hold"]
    dependent["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    ]
    core.create_namespaced_config_map("default", dependent)
    core.delete_namespaced_config_map("owner", "default")
    marked = core.read_namespaced_config_map("dependent", "default")
    assert marked.metadata.deletion_timestamp is not None


def test_namespace_terminating_waits_for_finalizers(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    core.create_namespace({"metadata": {"name": "held-ns"}})
    held = config_map("held", "held-ns")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    core.create_namespaced_config_map("held-ns", held)
    core.create_namespaced_config_map("held-ns", config_map("plain", "held-ns"))
    core.delete_namespace("held-ns")

    def finalizers_remaining() -> object:
        ns = core.read_namespace("held-ns")
        return next(
            (
                c
                for c in ns.status.conditions or []
                if c.type == "NamespaceFinalizersRemaining" and c.status == "True"
            ),
            None,
        )

    remaining = wait_until(finalizers_remaining)
    assert remaining.message == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1"
        " resource instances"
    )
    assert core.read_namespace("held-ns").status.phase == "Terminating"
    names = [c.metadata.name for c in core.list_namespaced_config_map("held-ns").items]
    assert names == ["held"]
    core.patch_namespaced_config_map("held", "held-ns", {"metadata": {"finalizers": []}})

    def namespace_gone() -> bool:
        try:
            core.read_namespace("held-ns")
        except ApiException as error:
            return error.status == 404
        return False

    wait_until(namespace_gone)


def test_custom_resources_are_validated_and_pruned(sim_cluster: SimCluster) -> None:
    install_crd(api_client(sim_cluster), GADGET_CRD)
    base = sim_cluster.api_url + GADGETS
    wrong_type = requests.post(base, json=gadget("g", version=1.5))
    assert wrong_type.status_code == 422
    assert wrong_type.json()["message"] == (
        'Gadget.example.com "g" is invalid: spec.version: Invalid value: "number":'
        ' spec.version in body must be of type string: "number"'
    )
    several = requests.post(base, json=gadget("g", replicas="two", mode="medium")).json()
    assert several["message"] == (
        'Gadget.example.com "g" is invalid: [spec.version: Required value,'
        ' spec.replicas: Invalid value: "string": spec.replicas in body must be of type'
        ' integer: "string", spec.mode: Unsupported value: "medium": supported values:'
        ' "fast", "slow"]'
    )
    assert {c["field"] for c in several["details"]["causes"]} == {
        "spec.version",
        "spec.replicas",
        "spec.mode",
    }
    nested = requests.post(base, json=gadget("g", version="1", tags=["a", 2], labels={"x": True}))
    assert [c["field"] for c in nested.json()["details"]["causes"]] == [
        "spec.tags[1]",
        "spec.labels.x",
    ]
    created = requests.post(
        base,
        json={
            **gadget("g", version="1", enabled=True, extra="dropped", config={"any": {"x": 1}}),
            "other": "dropped",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert "extra" not in body["spec"] and "other" not in body
    assert body["spec"]["config"] == {"any": {"x": 1}}
    strict = requests.post(
        f"{base}?fieldValidation=Strict", json=gadget("s", version="1", extra="no")
    )
    assert strict.status_code == 400
    assert 'unknown field "spec.extra"' in strict.json()["message"]
    # PUT without resourceVersion: custom resources allow no unconditional update.
    unconditional = requests.put(f"{base}/g", json=gadget("g", version="2"))
    assert unconditional.status_code == 422
    assert unconditional.json()["message"] == (
        'Gadget.example.com "g" is invalid: metadata.resourceVersion: Invalid value: 0x0:'
        " must be specified for an update"
    )


def test_labels_and_annotations_are_validated(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    with pytest.raises(ApiException) as bad_value:
        core.create_namespaced_config_map("default", config_map("bad", app="has space"))
    assert bad_value.value.status == 422
    assert status_of(bad_value.value)["message"] == (
        'ConfigMap "bad" is invalid: metadata.labels: Invalid value: "has space": a valid label'
        " must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and"
        " must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value', "
        " or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    )
    bad_key = config_map("bad")
    bad_key["metadata"]["labels"] = {"Example.com/app": "x", "-x": "y"}
    with pytest.raises(ApiException) as keys:
        core.create_namespaced_config_map("default", bad_key)
    messages = [c["message"] for c in status_of(keys.value)["details"]["causes"]]
    assert messages[0].startswith('Invalid value: "Example.com/app": prefix part a lowercase')
    assert messages[1].startswith('Invalid value: "-x": name part must consist of')
    long_value = config_map("long", app="x" * 64)
    with pytest.raises(ApiException) as too_long:
        core.create_namespaced_config_map("default", long_value)
    assert "must be no more than 63 characters" in status_of(too_long.value)["message"]
    core.create_namespaced_config_map("default", config_map("good", **{"a.b/c_d": ""}))
    with pytest.raises(ApiException):
        core.patch_namespaced_config_map("good", "default", {"metadata": {"labels": {"x": "!"}}})


def deployment(name: str, selector: dict, template_labels: dict) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "selector": selector,
            "template": {
                "metadata": {"labels": template_labels},
                "spec": {"containers": [{"name": "app", "image": "nginx"}]},
            },
        },
    }


def test_deployment_selector_must_match_and_is_immutable(sim_cluster: SimCluster) -> None:
    apps = client.AppsV1Api(api_client(sim_cluster))
    with pytest.raises(ApiException) as mismatch:
        apps.create_namespaced_deployment(
            "default", deployment("web", {"matchLabels": {"app": "web"}}, {"app": "other"})
        )
    assert mismatch.value.status == 422
    assert status_of(mismatch.value)["message"] == (
        'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value:'
        ' map[string]string{"app":"other"}: `selector` does not match template `labels`'
    )
    apps.create_namespaced_deployment(
        "default", deployment("web", {"matchLabels": {"app": "web"}}, {"app": "web", "v": "1"})
    )
    with pytest.raises(ApiException) as immutable:
        apps.patch_namespaced_deployment(
            "web",
            "default",
            {
                "spec": {
                    "selector": {"matchLabels": {"app": "web", "v": "1"}},
                }
            },
        )
    assert status_of(immutable.value)["message"] == (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value:'
        ' v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"1"},'
        " MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    )
    missing = requests.post(
        f"{sim_cluster.api_url}/apis/apps/v1/namespaces/default/deployments",
        json=deployment("nosel", None, {"a": "b"}),
    )
    assert missing.status_code == 422
    assert missing.json()["details"]["causes"][0]["field"] == "spec.selector"


def test_request_errors_are_4xx_not_5xx(sim_cluster: SimCluster) -> None:
    base = f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps"
    with_rv = config_map("rv")
    with_rv["metadata"]["resourceVersion"] = "5"
    created = requests.post(base, json=with_rv)
    # k8s.io/apiserver etcd3 store Create: a plain error, hence a 500 with an empty reason.
    assert created.status_code == 500
    assert created.json()["message"] == "resourceVersion should not be set on objects to be created"
    assert created.json()["reason"] == ""
    requests.post(base, json=config_map("victim"))
    malformed = requests.delete(f"{base}/victim", data=b"{not json")
    assert malformed.status_code == 400 and malformed.json()["reason"] == "BadRequest"
    bad_timeout = requests.get(f"{base}?watch=true&timeoutSeconds=abc")
    assert bad_timeout.status_code == 400
    bad_validation = requests.post(f"{base}?fieldValidation=Loud", json=config_map("x"))
    assert bad_validation.status_code == 400


def test_watch_selector_transitions(sim_cluster: SimCluster) -> None:
    core = client.CoreV1Api(api_client(sim_cluster))
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", config_map("moving", tier="front"))
    core.patch_namespaced_config_map(
        "moving", "default", {"metadata": {"labels": {"tier": "back"}}}
    )
    core.patch_namespaced_config_map(
        "moving", "default", {"metadata": {"labels": {"tier": "front"}}}
    )
    response = requests.get(
        f"{sim_cluster.api_url}/api/v1/namespaces/default/configmaps",
        params={
            "watch": "true",
            "resourceVersion": start,
            "labelSelector": "tier=front",
            "timeoutSeconds": "1",
        },
    )
    events = [json.loads(line) for line in response.text.splitlines() if line]
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED"]
    # DELETED carries the previous content at the new resourceVersion.
    assert events[1]["object"]["metadata"]["labels"] == {"tier": "front"}
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(
        events[0]["object"]["metadata"]["resourceVersion"]
    )


def test_strict_and_warned_unknown_fields_of_builtins(sim_cluster: SimCluster) -> None:
    base = f"{sim_cluster.api_url}/apis/apps/v1/namespaces/default/deployments"
    body = deployment("typo", {"matchLabels": {"a": "b"}}, {"a": "b"})
    body["spec"]["replica"] = 2
    body["extra"] = True
    strict = requests.post(f"{base}?fieldValidation=Strict", json=body)
    assert strict.status_code == 400
    assert strict.json()["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:'
        ' unknown field "extra", unknown field "spec.replica"'
    )
    warned = requests.post(base, json=body, stream=True)
    assert warned.status_code == 201
    assert warnings_of(warned) == ['unknown field "extra"', 'unknown field "spec.replica"']
    assert "replica" not in warned.json()["spec"] and "extra" not in warned.json()


def test_events_are_served_by_both_event_apis(sim_cluster: SimCluster) -> None:
    api = api_client(sim_cluster)
    client.CoreV1Api(api).create_namespaced_event(
        "default",
        {
            "metadata": {"name": "ev1", "namespace": "default"},
            "eventTime": "2024-05-01T10:00:00.000000Z",
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Started",
            "message": "Started container",
            "type": "Normal",
            "count": 2,
            "source": {"component": "kubelet"},
        },
    )
    new_api = client.EventsV1Api(api).read_namespaced_event("ev1", "default")
    assert new_api.regarding.name == "p"
    assert new_api.note == "Started container"
    assert new_api.deprecated_count == 2
    assert new_api.deprecated_source.component == "kubelet"
    client.EventsV1Api(api).create_namespaced_event(
        "default",
        {
            "metadata": {"name": "ev2", "namespace": "default"},
            "eventTime": "2024-05-01T10:00:00.000000Z",
            "reportingController": "example.com/ctl",
            "reportingInstance": "ctl-1",
            "action": "Sync",
            "regarding": {"kind": "Pod", "name": "q", "namespace": "default"},
            "reason": "Synced",
            "note": "done",
            "type": "Normal",
        },
    )
    old_api = client.CoreV1Api(api).read_namespaced_event("ev2", "default")
    assert old_api.involved_object.name == "q" and old_api.message == "done"
    assert old_api.reporting_component == "example.com/ctl"
    names = [e.metadata.name for e in client.CoreV1Api(api).list_namespaced_event("default").items]
    assert {"ev1", "ev2"} <= set(names)
    listed = client.EventsV1Api(api).list_namespaced_event("default").items
    assert {e.metadata.name for e in listed} >= {"ev1", "ev2"}
