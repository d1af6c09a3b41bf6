"""Admission, finalizers, schema validation and pruning, and built-in strictness of the
simulated API server, as the real one enforces them."""

from __future__ import annotations

import json

import pytest
import requests
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conftest import (
    api_client,
    config_map,
    install_crd,
    status_of,
    wait_until,
)
from tests.sim import SimCluster

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
