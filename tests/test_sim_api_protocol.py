"""The simulated API server speaks the Kubernetes REST protocol: discovery, CRUD, selectors,
watches, status, server-side apply, patches, CRDs, garbage collection, logs and events."""

from __future__ import annotations

import json
import time

import pytest
import requests
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from tests.conftest import (
    WIDGET_CRD,
    api_client,
    config_map,
    install_crd,
    status_of,
    wait_until,
)
from tests.sim import SimCluster


def test_version_and_discovery_list_the_served_groups(sim_cluster: SimCluster) -> None:
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


def test_objects_are_created_read_updated_and_deleted_with_real_error_statuses(
    sim_cluster: SimCluster,
) -> None:
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


def test_lists_filter_by_label_and_field_selectors(sim_cluster: SimCluster) -> None:
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


def test_a_watch_starts_after_the_given_resource_version(sim_cluster: SimCluster) -> None:
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


def test_a_too_old_resource_version_is_answered_410_in_the_stream(sim_cluster: SimCluster) -> None:
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


def test_a_watch_sends_bookmarks_and_ends_at_its_timeout(sim_cluster: SimCluster) -> None:
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


def test_status_is_written_through_the_status_subresource(sim_cluster: SimCluster) -> None:
    api = api_client(sim_cluster)
    install_crd(api, WIDGET_CRD)
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


def test_server_side_apply_creates_merges_and_records_managers(sim_cluster: SimCluster) -> None:
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


def test_server_side_apply_conflicts_with_fields_an_updater_owns(sim_cluster: SimCluster) -> None:
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


def test_a_patch_is_applied_again_when_a_controller_writes_in_between(
    sim_cluster: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch without a resourceVersion never gets 409 from a concurrent write (the apiserver
    re-reads and re-applies it); one that names an old resourceVersion does."""
    core = client.CoreV1Api(api_client(sim_cluster))
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "raced"}, "data": {"user": "1"}}
    )
    store = sim_cluster.store
    update = store.update
    raced: list[str] = []

    def controller_writes_first(obj: dict, *args, **kwargs) -> dict:
        if not raced:
            live = store.get("v1", "ConfigMap", "raced", "default")
            raced.append(live["metadata"]["resourceVersion"])
            update({**live, "data": {**live["data"], "controller": "1"}})
        return update(obj, *args, **kwargs)

    monkeypatch.setattr(store, "update", controller_writes_first)
    patched = core.patch_namespaced_config_map("raced", "default", {"data": {"user": "2"}})
    assert raced, "the controller's write did not land between the patch's read and write"
    assert patched.data == {"user": "2", "controller": "1"}
    with pytest.raises(ApiException) as stale:
        core.patch_namespaced_config_map(
            "raced", "default", {"metadata": {"resourceVersion": raced[0]}, "data": {"user": "3"}}
        )
    assert stale.value.status == 409


def test_merge_strategic_and_json_patches_change_objects(sim_cluster: SimCluster) -> None:
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


def test_a_crd_is_established_served_and_removed_with_its_objects(sim_cluster: SimCluster) -> None:
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


def test_deleting_a_namespace_deletes_its_objects(sim_cluster: SimCluster) -> None:
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


def test_owned_objects_are_garbage_collected(sim_cluster: SimCluster) -> None:
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


def test_pod_logs_are_served_per_container(sim_cluster: SimCluster) -> None:
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


def test_following_a_log_streams_new_lines(sim_cluster: SimCluster) -> None:
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


def test_malformed_requests_are_answered_4xx_not_5xx(sim_cluster: SimCluster) -> None:
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


def test_a_selector_watch_sees_objects_enter_and_leave(sim_cluster: SimCluster) -> None:
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
