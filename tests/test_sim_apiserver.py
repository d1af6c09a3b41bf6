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
