"""--cleanup: what a run installed goes from a cluster that stays, and nothing else; and the
simulated API server deletes as the real one does (finalizers, a terminating CRD, foreground
propagation), so that a cleanup that does not wait, or deletes in the wrong order, is caught."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cookbook14.catalog import Catalog
from cookbook14.cleanup import by_step, clean_up, removal_order, split_applied
from cookbook14.kube import Applied, Kube, ObjectRef
from cookbook14.options import Options
from cookbook14.plan import build_plan
from cookbook14.recipes.triggermesh import ADDRESSABLE_RESOLVER
from cookbook14.steps import Status, StepOutcome
from tests.conftest import api_client, config_map, install_crd, wait_until
from tests.launch import (
    ROOT,
    existing,
    kind_args,
    kind_clusters,
    recipes,
    run_suites,
    suites_command,
)
from tests.sim import SimCluster

THING_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}
THING = {"apiVersion": "example.com/v1", "kind": "Thing"}
# Kinds whose objects come and go on their own (records, heartbeats), not installs.
NOT_INVENTORIED = {"Event", "Lease", "EndpointSlice", "Endpoints"}
LOAD_BALANCER_IP = "127.0.0.2"


# -- the simulated API server deletes as upstream does -----------------------------------------


def _custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


def test_a_deleted_crd_terminates_until_its_resources_finalizers_have_run(sim_cluster):
    api = api_client(sim_cluster)
    install_crd(api, THING_CRD)
    custom = _custom(api)
    custom.create_namespaced_custom_object(
        "example.com",
        "v1",
        "default",
        "things",
        {**THING, "metadata": {"name": "held", "finalizers": ["example.com/held"]}},
    )
    extensions = client.ApiextensionsV1Api(api)
    extensions.delete_custom_resource_definition("things.example.com")
    crd = extensions.read_custom_resource_definition("things.example.com")
    assert crd.metadata.deletion_timestamp, "the CRD is Terminating"
    assert "customresourcecleanup.apiextensions.k8s.io" in crd.metadata.finalizers
    terminating = {c.type: c for c in crd.status.conditions}["Terminating"]
    assert (terminating.status, terminating.reason) == ("True", "InstanceDeletionInProgress")
    held = custom.get_namespaced_custom_object("example.com", "v1", "default", "things", "held")
    assert held["metadata"]["deletionTimestamp"], "its resources are being deleted"
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(
            "example.com", "v1", "default", "things", {**THING, "metadata": {"name": "new"}}
        )
    assert refused.value.status == 405
    assert "while custom resource definition is terminating" in refused.value.body
    custom.patch_namespaced_custom_object(
        "example.com", "v1", "default", "things", "held", {"metadata": {"finalizers": None}}
    )

    def gone() -> bool:
        try:
            extensions.read_custom_resource_definition("things.example.com")
        except ApiException as error:
            return error.status == 404
        return False

    assert wait_until(gone)
    assert not sim_cluster.store.served("example.com/v1", "Thing")


def _owned_config_map(name: str, owner: dict, finalizers: list[str] | None = None) -> dict:
    body = config_map(name)
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": True,
        }
    ]
    if finalizers:
        body["metadata"]["finalizers"] = finalizers
    return body


def test_foreground_deletion_keeps_the_owner_until_its_blocking_dependents_are_gone(sim_cluster):
    core = client.CoreV1Api(api_client(sim_cluster))
    owner = core.create_namespaced_config_map("default", config_map("owner")).to_dict()
    owner = {"metadata": {"name": "owner", "uid": owner["metadata"]["uid"]}}
    core.create_namespaced_config_map(
        "default", _owned_config_map("held-dependent", owner, ["example.com/held"])
    )
    core.create_namespaced_config_map("default", _owned_config_map("free-dependent", owner))
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    live = core.read_namespaced_config_map("owner", "default")
    assert live.metadata.deletion_timestamp and live.metadata.finalizers == ["foregroundDeletion"]
    names = {cm.metadata.name for cm in core.list_namespaced_config_map("default").items}
    assert "free-dependent" not in names and "held-dependent" in names
    core.patch_namespaced_config_map(
        "held-dependent", "default", {"metadata": {"finalizers": None}}
    )
    names = {cm.metadata.name for cm in core.list_namespaced_config_map("default").items}
    assert not names & {"owner", "held-dependent"}, "the owner goes with its last dependent"


def test_background_deletion_removes_the_owner_at_once(sim_cluster):
    core = client.CoreV1Api(api_client(sim_cluster))
    owner = core.create_namespaced_config_map("default", config_map("owner")).to_dict()
    owner = {"metadata": {"name": "owner", "uid": owner["metadata"]["uid"]}}
    core.create_namespaced_config_map(
        "default", _owned_config_map("held-dependent", owner, ["example.com/held"])
    )
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Background")
    names = {cm.metadata.name for cm in core.list_namespaced_config_map("default").items}
    assert "owner" not in names and "held-dependent" in names


def test_an_object_made_for_an_owner_already_gone_is_garbage_collected(sim_cluster):
    """A controller acting on a stale view makes a dependent after its owner went."""
    core = client.CoreV1Api(api_client(sim_cluster))
    owner = core.create_namespaced_config_map("default", config_map("owner")).to_dict()
    owner = {"metadata": {"name": "owner", "uid": owner["metadata"]["uid"]}}
    core.delete_namespaced_config_map("owner", "default")
    core.create_namespaced_config_map("default", _owned_config_map("late-dependent", owner))

    def collected() -> bool:
        names = {cm.metadata.name for cm in core.list_namespaced_config_map("default").items}
        return "late-dependent" not in names

    assert wait_until(collected)


# -- what the run created, per recipe, and in which order it goes ------------------------------


def _ref(name: str, kind: str = "ConfigMap", namespace: str | None = "default") -> ObjectRef:
    return ObjectRef("v1", kind, name, namespace)


def test_only_objects_a_first_apply_created_are_the_runs():
    applied = [
        Applied(_ref("made"), True, 1.0),
        Applied(_ref("users"), False, 2.0),
        Applied(_ref("made"), False, 3.0),  # applied again later: still the run's
    ]
    created, found = split_applied(applied)
    assert [record.ref for record in created] == [_ref("made")]
    assert [record.ref for record in found] == [_ref("users")]


def test_objects_belong_to_the_step_running_or_last_started_and_go_from_14_8_back():
    outcomes = {
        recipe: StepOutcome(recipe, recipe, Status.PASSED, started=started, finished=started + 1)
        for recipe, started in (("14.1", 10.0), ("14.2", 20.0), ("14.5", 40.0), ("14.8", 50.0))
    }
    created = [
        Applied(_ref("operator"), True, 10.5),
        Applied(_ref("kn-namespace", "Namespace", None), True, 30.0),  # 14.2's checks
        Applied(_ref("triggermesh"), True, 50.5),
        Applied(_ref("eventing"), True, 40.5),
    ]
    grouped = by_step(created, outcomes)
    assert grouped == {
        "14.1": [_ref("operator")],
        "14.2": [_ref("kn-namespace", "Namespace", None)],
        "14.5": [_ref("eventing")],
        "14.8": [_ref("triggermesh")],
    }
    assert removal_order(grouped) == ["14.8", "14.5", "14.2", "14.1"]


def _plan():
    return build_plan(Options(cluster="existing", timeout_scale=0.05), Catalog.load())


def test_the_addressable_resolver_is_never_deleted_through_triggermesh(sim_cluster):
    """Even when TriggerMesh's copy of the role was applied and created by the run."""
    kube = Kube(api_client(sim_cluster))
    started = time.time()
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": ADDRESSABLE_RESOLVER},
        "rules": [],
    }
    kube.apply([role, config_map("triggermesh-thing")])
    outcomes = {"14.8": StepOutcome("14.8", "TriggerMesh", Status.PASSED, started=started)}
    result = clean_up(kube, _plan(), outcomes, cluster_deleted=False)
    assert result.done == "complete", asdict(result)
    assert kube.get("rbac.authorization.k8s.io/v1", "ClusterRole", ADDRESSABLE_RESOLVER)
    assert kube.get("v1", "ConfigMap", "triggermesh-thing", "default") is None
    left = {entry["object"]: entry["why"] for entry in result.left}
    assert "Eventing's aggregated ClusterRole" in left[f"ClusterRole {ADDRESSABLE_RESOLVER}"]


def test_cleanup_waits_for_finalizers_and_leaves_what_it_found(sim_cluster):
    api = api_client(sim_cluster)
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", config_map("users"))
    kube = Kube(api)
    started = time.time()
    held = config_map("held")
    held["metadata"]["finalizers"] = ["example.com/held"]
    kube.apply([config_map("users"), held])

    # A controller that finalizes a while after the deletion, as the operator does.
    def finalize_later() -> None:
        wait_until(
            lambda: core.read_namespaced_config_map("held", "default").metadata.deletion_timestamp,
            timeout=10,
        )
        time.sleep(0.5)
        core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})

    finalizer = threading.Thread(target=finalize_later)
    finalizer.start()
    outcomes = {"14.4": StepOutcome("14.4", "nodeinfo", Status.PASSED, started=started)}
    result = clean_up(kube, _plan(), outcomes, cluster_deleted=False)
    finalizer.join()
    assert result.done == "complete", asdict(result)
    assert [entry["object"] for entry in result.removed] == ["ConfigMap held in namespace default"]
    assert result.removed[0]["seconds"] >= 0.5, "the removal waited for the finalizer"
    assert core.read_namespaced_config_map("users", "default").data == {"key": "value"}
    assert [(entry["recipe"], entry["object"]) for entry in result.left] == [
        ("14.4", "ConfigMap users in namespace default")
    ]
    assert result.left[0]["why"].startswith("it existed before the run")


def test_a_deletion_that_never_finishes_stops_the_cleanup_and_says_what_is_left(sim_cluster):
    kube = Kube(api_client(sim_cluster))
    started = time.time()
    stuck = config_map("stuck")
    stuck["metadata"]["finalizers"] = ["example.com/never"]
    kube.apply([config_map("first"), stuck])
    outcomes = {"14.6": StepOutcome("14.6", "event source", Status.PASSED, started=started)}
    result = clean_up(kube, _plan(), outcomes, cluster_deleted=False)
    assert result.done == "incomplete"
    assert result.error.startswith(
        "cleanup stopped at ConfigMap stuck in namespace default: timed out after"
    ), result.error
    assert [entry["object"] for entry in result.left] == [
        "ConfigMap stuck in namespace default",
        "ConfigMap first in namespace default",
    ]


def test_a_stop_request_ends_a_deletion_that_waits_and_says_what_is_left(sim_cluster):
    """A signal during the cleanup (deferred by the session) stops it within a progress
    interval, even in the middle of a deletion that waits for a finalizer."""
    kube = Kube(api_client(sim_cluster))
    started = time.time()
    stuck = config_map("stuck")
    stuck["metadata"]["finalizers"] = ["example.com/never"]
    kube.apply([config_map("first"), stuck])
    outcomes = {"14.6": StepOutcome("14.6", "event source", Status.PASSED, started=started)}
    asked = threading.Event()
    threading.Timer(1.0, asked.set).start()
    plan = build_plan(Options(cluster="existing"), Catalog.load())  # 120 s deadlines
    began = time.monotonic()
    result = clean_up(kube, plan, outcomes, cluster_deleted=False, stop_requested=asked.is_set)
    assert time.monotonic() - began < plan.deadlines["object_deleted"] / 4
    assert result.done == "interrupted"
    assert result.error == "cleanup interrupted while removing ConfigMap stuck in namespace default"
    assert [entry["object"] for entry in result.left] == [
        "ConfigMap stuck in namespace default",
        "ConfigMap first in namespace default",
    ]
    assert kube.get("v1", "ConfigMap", "first", "default") is not None


def test_a_cluster_the_run_deletes_needs_no_cleanup(sim_cluster):
    kube = Kube(api_client(sim_cluster))
    kube.apply([config_map("made")])
    result = clean_up(kube, _plan(), {}, cluster_deleted=True)
    assert result.done.startswith("not needed")
    assert kube.get("v1", "ConfigMap", "made", "default") is not None


# -- the whole chapter, with --cleanup, on a cluster that has things of its own ------------------


def inventory(sim: SimCluster) -> set[tuple[str, str, str, str]]:
    """Every stored object but events and heartbeats, as (group, kind, namespace, name)."""
    found = set()
    for rtype in sim.store.resource_types():
        if rtype.kind in NOT_INVENTORIED or not rtype.storage_version:
            continue
        for obj in sim.store.list(rtype.api_version, rtype.kind):
            meta = obj["metadata"]
            found.add((rtype.group, rtype.kind, meta.get("namespace") or "", meta["name"]))
    return found


def _users_things(sim: SimCluster) -> None:
    api = api_client(sim)
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "users-team"}})
    core.create_namespaced_config_map("users-team", config_map("settings", "users-team"))
    core.create_namespaced_config_map("default", config_map("users-settings"))
    client.RbacAuthorizationV1Api(api).create_cluster_role(
        {"metadata": {"name": "users-reader"}, "rules": []}
    )
    install_crd(api, THING_CRD)
    _custom(api).create_namespaced_custom_object(
        "example.com", "v1", "users-team", "things", {**THING, "metadata": {"name": "mine"}}
    )


def test_cleanup_after_the_whole_chapter_leaves_what_was_there_and_a_rerun_passes(
    make_sim_cluster, tmp_path
):
    # A load balancer address for Kourier: the book's default-domain Job runs (one more thing
    # to remove) and ksvcs get a domain reachable through Kourier.
    sim = make_sim_cluster(load_balancer_ip=LOAD_BALANCER_IP)
    _users_things(sim)
    before = inventory(sim)
    deleted_at: dict[str, float] = {}

    def note(event_type: str, obj: dict) -> None:
        meta = obj.get("metadata", {})
        if obj.get("kind") == "KnativeEventing" and meta.get("deletionTimestamp"):
            deleted_at.setdefault("KnativeEventing", time.monotonic())
        if (
            event_type == "DELETED"
            and obj.get("kind") == "ClusterRole"
            and meta.get("name") == ADDRESSABLE_RESOLVER
        ):
            deleted_at.setdefault(ADDRESSABLE_RESOLVER, time.monotonic())

    unsubscribe = sim.store.subscribe(note)
    try:
        result, summary = run_suites(tmp_path / "first", *existing(sim), "--fast", "--cleanup")
    finally:
        unsubscribe()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    cleanup = summary["cluster"]["cleanup"]
    assert cleanup["done"] == "complete", cleanup
    operator_crds = {
        entry["object"]
        for entry in cleanup["removed"]
        if entry.get("why", "").startswith("installed by the Knative Operator")
    }
    assert "CustomResourceDefinition services.serving.knative.dev" in operator_crds
    assert "CustomResourceDefinition pingsources.sources.knative.dev" in operator_crds
    after = inventory(sim)
    assert after - before == set(), f"left by the run: {sorted(after - before)}"
    assert before - after == set(), f"removed though there before: {sorted(before - after)}"
    order = [entry["recipe"] for entry in cleanup["removed"]]
    assert order == sorted(order, key=lambda r: tuple(map(int, r.split("."))), reverse=True)
    assert {"14.8", "14.5", "14.2", "14.1"} <= set(order)
    resolver = f"ClusterRole {ADDRESSABLE_RESOLVER}"
    assert not [e for e in cleanup["removed"] if e["object"] == resolver], cleanup["removed"]
    # Eventing's role goes with Eventing (its operator's finalizer), not before.
    assert deleted_at[ADDRESSABLE_RESOLVER] >= deleted_at["KnativeEventing"], deleted_at

    rerun, summary = run_suites(tmp_path / "rerun", *existing(sim), "--fast", "--cleanup")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-2000:]
    by_id = recipes(summary)
    assert all(recipe["outcome"] == "passed" for recipe in by_id.values()), by_id
    assert summary["cluster"]["cleanup"]["done"] == "complete"
    assert inventory(sim) == before


def test_cleanup_after_the_chapter_with_the_release_yaml_files_leaves_what_was_there(
    make_sim_cluster, tmp_path
):
    sim = make_sim_cluster(load_balancer_ip=LOAD_BALANCER_IP)
    _users_things(sim)
    before = inventory(sim)
    result, summary = run_suites(
        tmp_path / "yaml", *existing(sim), "--install-method", "yaml", "--fast", "--cleanup"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert summary["cluster"]["cleanup"]["done"] == "complete", summary["cluster"]["cleanup"]
    after = inventory(sim)
    assert after - before == set(), f"left by the run: {sorted(after - before)}"
    assert before - after == set(), f"removed though there before: {sorted(before - after)}"


# -- kind: a cluster the run created goes anyway; a kept one is cleaned up ----------------------


def test_a_kind_cluster_the_run_created_is_deleted_rather_than_cleaned(
    tmp_path, sim_cluster, kind_env
):
    result, summary = run_suites(
        tmp_path / "reports",
        *kind_args(sim_cluster, "gone", "-m", "recipe_14_1", "--cleanup"),
        env=kind_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["cluster"]["cleanup"]["done"].startswith("not needed"), summary["cluster"]
    assert kind_clusters(kind_env) == []


def test_a_kept_kind_cluster_is_cleaned_up(tmp_path, sim_cluster, kind_env):
    before = inventory(sim_cluster)
    result, summary = run_suites(
        tmp_path / "reports",
        *kind_args(sim_cluster, "kept", "--keep-cluster", "-m", "recipe_14_1", "--cleanup"),
        env=kind_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cleanup = summary["cluster"]["cleanup"]
    assert cleanup["done"] == "complete", cleanup
    assert {entry["recipe"] for entry in cleanup["removed"]} == {"14.1"}
    assert kind_clusters(kind_env) == ["kept"]
    assert inventory(sim_cluster) == before


def test_ctrl_c_during_the_cleanup_stops_it_and_summary_json_says_what_is_left(
    make_sim_cluster, tmp_path
):
    sim = make_sim_cluster()
    core_apps = client.AppsV1Api(api_client(sim))

    def hold(event_type: str, obj: dict) -> None:
        # The operator's Deployment gets a finalizer nobody removes: its deletion never ends.
        meta = obj.get("metadata", {})
        if (event_type, obj.get("kind"), meta.get("name")) == (
            "ADDED",
            "Deployment",
            "knative-operator",
        ):
            hold_it = {"metadata": {"finalizers": ["test/hold"]}}
            threading.Timer(
                0.1,
                core_apps.patch_namespaced_deployment,
                (meta["name"], meta["namespace"], hold_it),
            ).start()

    unsubscribe = sim.store.subscribe(hold)
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        suites_command(reports, *existing(sim), "-m", "recipe_14_1", "--cleanup"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while not any("cleanup: removing what 14.1 created" in line for line in lines):
            assert process.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        # The cleanup waits for the held Deployment's deletion: the interrupt lands there.
        wait_until(
            lambda: [
                deployment
                for deployment in sim.store.list("apps/v1", "Deployment")
                if deployment["metadata"]["name"] == "knative-operator"
                and deployment["metadata"].get("deletionTimestamp")
            ],
            timeout=60,
            what="the cleanup deleting Deployment knative-operator",
        )
        os.killpg(process.pid, signal.SIGINT)
        signalled = time.monotonic()
        assert process.wait(timeout=60) == 2, "".join(lines)
        assert time.monotonic() - signalled < 20, "stopped within a progress interval"
    finally:
        unsubscribe()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    summary = json.loads(next(reports.glob("*/summary.json")).read_text())
    cleanup = summary["cluster"]["cleanup"]
    assert cleanup["done"] == "interrupted", cleanup
    assert cleanup["error"].startswith("cleanup interrupted while removing Deployment knative-op")
    assert cleanup["left"][0]["object"].startswith("Deployment knative-operator"), cleanup["left"]
    assert cleanup["error"] in summary["warnings"]
