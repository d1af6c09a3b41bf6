"""Recipes 14.3 and 14.4 end to end: `pytest suites/ -m "recipe_14_3 or recipe_14_4"` against
the simulated cluster (as an existing cluster, and through the kind provider with the doubles),
for the book's Knative, 1.14 and 1.23; and with faults, each turning the right check red with its
cause while the checks that depend on it are reported blocked."""

from __future__ import annotations

import os
import threading

import pytest

from cookbook14.catalog import Catalog
from cookbook14.errors import HarnessError
from cookbook14.options import Options
from cookbook14.plan import WINDOW_ANNOTATION, build_plan
from cookbook14.recipes.service import (
    steady_traffic,
    unreachable_through_kourier,
    why_not_ready,
)
from tests.conftest import StoreChanges
from tests.launch import (
    CHAPTER_MATRIX,
    chapter_on_existing,
    existing,
    recipes,
    run_suites,
)
from tests.test_sim_operator import SERVING_CR, install_serving
from tests.test_sim_serving import _serving_controller, create_ksvc, nodeinfo

SELECT = ("-m", "recipe_14_3 or recipe_14_4")
DOMAIN = ("--domain", "127.0.0.1.sslip.io")
# Deadlines for fault runs: the simulation runs 20 times faster than real time.
QUICK = ("--timeout-scale", "0.05")
FIGURES = ("time_to_zero", "cold_start_latency", "warm_latency")


@pytest.fixture
def cache_env(tmp_path) -> dict:
    """The environment of a run that downloads kn into a cache of its own."""
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}


@pytest.mark.parametrize(("fast", "window"), [(False, None), (True, "6s")])
def test_the_plan_carries_the_window_annotation_only_with_fast(fast, window):
    step = build_plan(Options(fast=fast), Catalog.load()).step("14.4")
    (document,) = step.applies[0].documents
    annotations = document["spec"]["template"].get("metadata", {}).get("annotations", {})
    assert annotations.get(WINDOW_ANNOTATION) == window
    assert step.implemented and step.applies[0].namespace == "default"
    book = build_plan(Options(), Catalog.load()).step("14.4").applies[0].documents[0]
    assert "metadata" not in book["spec"]["template"], "the book's nodeinfo.yaml, unchanged"


class OneKsvc:
    """A cluster with only a nodeinfo ksvc in it (for the step's diagnosis)."""

    def __init__(self, conditions: list[dict]) -> None:
        self.ksvc = {"metadata": {"name": "nodeinfo"}, "status": {"conditions": conditions}}

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None):
        return self.ksvc if (kind, name, namespace) == ("Service", "nodeinfo", "default") else None


def test_a_ksvc_failing_without_pods_is_explained_by_its_ready_condition():
    message = (
        'Revision "nodeinfo-00001" failed with message: Unable to fetch image '
        '"functions/nodeinfo:latest": failed to resolve image to digest: 429 Too Many Requests.'
    )
    failed = OneKsvc(
        [{"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": message}]
    )
    assert why_not_ready(failed) == f"Ready=False (RevisionFailed): {message}"
    waiting = OneKsvc([{"type": "Ready", "status": "Unknown", "reason": "RevisionMissing"}])
    assert why_not_ready(waiting) == ""


def checks(summary: dict, recipe: str) -> dict[str, dict]:
    return {check["name"]: check for check in recipes(summary)[recipe]["checks"]}


def figures(summary: dict) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for measurement in summary["measurements"]:
        if measurement["recipe"] == "14.4":
            found.setdefault(measurement["name"], []).append(measurement["value"])
    return found


def assert_14_3_and_14_4_passed(summary: dict, output: str) -> None:
    for recipe in ("14.3", "14.4"):
        outcome = recipes(summary)[recipe]
        assert outcome["outcome"] == "passed", (outcome, output)
        assert {c["outcome"] for c in outcome["checks"]} == {"passed"}, outcome["checks"]


def test_book_passes_with_two_cold_starts_and_records_the_figures(suite_run):
    # Checked in the book's whole-chapter run (test_chapter.py), made with --cold-starts 2.
    run = suite_run(chapter_on_existing("book"))
    summary = run.summary
    assert_14_3_and_14_4_passed(summary, run.output)
    assert len(checks(summary, "14.3")) == 5
    reported = checks(summary, "14.4")
    # Its seven checks, and the end of the chapter's check that nodeinfo still answers.
    assert len(reported) == 8 and "test_nodeinfo_still_answers" in reported
    kn = recipes(summary)["14.3"]["step"]["facts"]
    assert kn["kn_version"] == "1.11.0" and summary["found"]["kn"] == "1.11.0"
    assert kn["kn_supported_apis"]["serving"] == [
        "serving.knative.dev/v1 (knative-serving v1.11.0)"
    ]
    measured = figures(summary)
    # Book defaults: stable window 60 s + grace period 30 s + queue-proxy's drain 30 s.
    assert measured["expected_time_to_zero"][0] == 120.0
    assert len(measured["time_to_zero"]) == 2, "two cold starts: two scale-to-zero cycles"
    # Counted until the last pod is gone, its drain included: at least the stable window, the
    # 3 s re-check and the 30 s drain, at the simulation's speed (twenty times real time).
    assert min(measured["time_to_zero"]) >= run.sim.clock.scaled(60 + 3 + 30) * 0.9
    assert len(measured["cold_start_latency"]) == len(measured["warm_latency"]) == 2
    for name in FIGURES:
        low, middle, high = (measured[f"{name}_{stat}"][0] for stat in ("min", "median", "max"))
        assert low <= middle <= high
        assert low == min(measured[name]) and high == max(measured[name])
    assert not any(d["recipe"] == "14.4" for d in summary["deviations"])
    namespaces = {ns["metadata"]["name"] for ns in run.sim.store.list("v1", "Namespace")}
    assert "cookbook14-kn" not in namespaces, "the kn alternative's namespace is removed"


@pytest.mark.parametrize(
    ("version", "kn"),
    [("1.14", "1.14.0"), ("1.23", "1.23.0")],
    ids=["knative-1.14", "knative-1.23"],
)
def test_newer_knative_passes_and_fast_is_a_deviation(suite_run, version, kn):
    # Checked in the version's whole-chapter run (test_chapter.py), made with --fast.
    run = suite_run(chapter_on_existing(version))
    summary = run.summary
    assert_14_3_and_14_4_passed(summary, run.output)
    assert summary["found"]["kn"] == kn
    fast = [d for d in summary["deviations"] if d["recipe"] == "14.4"]
    assert len(fast) == 1 and "autoscaling.knative.dev/window: 6s" in fast[0]["what"]
    # The 6 s window: 6 + grace period 30 + drain 30.
    assert figures(summary)["expected_time_to_zero"] == [66.0]


def test_passes_through_the_kind_provider(suite_run):
    # The whole chapter's run through the kind provider (the book's run of test_matrix.py's
    # matrix, checked in test_chapter.py).
    run = suite_run(CHAPTER_MATRIX).column("book")
    assert_14_3_and_14_4_passed(run.summary, run.output)
    assert run.summary["cluster"]["created"] is True
    assert run.clusters_left == []


def test_no_scale_down_turns_scale_to_zero_red_and_blocks_the_cold_start(
    tmp_path, make_sim_cluster, cache_env
):
    sim = make_sim_cluster(faults=["no-scale-down"])
    result, summary = run_suites(
        tmp_path / "r", *existing(sim), *DOMAIN, *QUICK, "-m", "recipe_14_4", env=cache_env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    found = checks(summary, "14.4")
    red = found["test_nodeinfo_scales_to_zero_without_traffic"]
    assert red["outcome"] == "failed"
    assert red["message"].startswith("cookbook14.recipes.service.NodeinfoError: pods never went:")
    assert "nodeinfo-00001-deployment-" in red["message"]
    blocked = found["test_the_next_request_starts_a_new_pod"]
    assert blocked["outcome"] == "skipped"
    assert blocked["message"].startswith(
        "blocked by failed check test_nodeinfo_scales_to_zero_without_traffic: pods never went"
    )
    others = [c for n, c in found.items() if n not in (red["name"], blocked["name"])]
    assert {c["outcome"] for c in others} == {"passed"}
    evidence = next((tmp_path / "r").glob("*/evidence/14.4-test_nodeinfo_scales_to_zero*"))
    text = evidence.read_text()
    assert "kind: PodAutoscaler" in text and "logs of user-container" in text


def test_unpullable_nodeinfo_fails_the_step_with_the_registrys_reason(
    tmp_path, make_sim_cluster, cache_env
):
    sim = make_sim_cluster(faults=["nodeinfo-image-pull"])
    result, summary = run_suites(
        tmp_path / "r", *existing(sim), *DOMAIN, *QUICK, "-m", "recipe_14_4", env=cache_env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    outcome = recipes(summary)["14.4"]
    assert outcome["outcome"] == "failed"
    first, *later = outcome["checks"]
    assert first["outcome"] == "error"
    assert first["message"].startswith(
        "step 14.4 (Create a Knative Service) failed: ksvc nodeinfo never became Ready: pod "
        "nodeinfo-00001-deployment-"
    )
    assert "container user-container is ImagePullBackOff" in first["message"]
    assert "429 Too Many Requests" in first["message"]
    assert later and all(c["message"].startswith("blocked by failed step 14.4") for c in later)
    evidence = next((tmp_path / "r").glob("*/evidence/14.4.txt")).read_text()
    assert "Failed to pull image" in evidence


def test_an_arm64_node_is_named_as_the_cause_and_warned_about(
    tmp_path, make_sim_cluster, cache_env
):
    sim = make_sim_cluster()
    node = sim.store.list("v1", "Node")[0]
    node["status"]["nodeInfo"]["architecture"] = "arm64"
    sim.store.update_status("v1", "Node", node["metadata"]["name"], None, node["status"])
    result, summary = run_suites(
        tmp_path / "r", *existing(sim), *DOMAIN, *QUICK, "-m", "recipe_14_4", env=cache_env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    first = recipes(summary)["14.4"]["checks"][0]
    assert "container user-container is CrashLoopBackOff" in first["message"]
    assert "exec /usr/bin/fwatchdog: exec format error" in first["message"]
    warning = (
        "functions/nodeinfo:latest is published for linux/amd64 only; this cluster's nodes are "
        f"{node['metadata']['name']} (arm64)"
    )
    assert first["message"].split("\n")[0].endswith(warning)
    assert f"14.4: {warning}" in summary["warnings"]


def test_a_rerun_on_the_same_cluster_passes_again(tmp_path, sim_cluster, cache_env):
    """The second run finds nodeinfo at zero and the kn namespace gone, then made again."""
    for attempt in ("first", "second"):
        result, summary = run_suites(
            tmp_path / attempt, *existing(sim_cluster), *DOMAIN, *SELECT, env=cache_env
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert_14_3_and_14_4_passed(summary, result.stdout + result.stderr)


def test_a_service_without_a_url_fails_rather_than_skips():
    """A cluster-local URL is a reason to skip the checks through Kourier; no URL is a broken
    Service, and the check that needs it fails."""
    with pytest.raises(HarnessError, match="Knative Service sockeye has no URL"):
        unreachable_through_kourier("sockeye", "")
    assert "cluster-local" in unreachable_through_kourier(
        "sockeye", "http://sockeye.default.svc.cluster.local"
    )
    assert unreachable_through_kourier("sockeye", "http://sockeye.default.example.com") is None


def test_steady_traffic_keeps_a_short_window_revision_at_one_pod(make_sim_cluster, monkeypatch):
    """14.4's 2/2 check looks at nodeinfo's pod under steady traffic: with --fast's 6 s window a
    single request lets the pod go before a loaded machine lists it. Held for twice the time
    the autoscaler takes to zero without traffic (window, 3 s re-check, 6 s grace), the
    revision never leaves one pod; no request is in flight once the block has ended. At a time
    scale of 0.2 the window is 1.2 real seconds: a sender thread left unscheduled for a moment
    on a loaded machine is not taken for a pause in the traffic."""
    sim_cluster = make_sim_cluster(time_scale=0.2)
    config = {**SERVING_CR["spec"]["config"], "autoscaler": {"scale-to-zero-grace-period": "6s"}}
    install_serving(sim_cluster, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": config}})
    create_ksvc(sim_cluster, nodeinfo("sleepy", window="6s"))
    serving = _serving_controller(sim_cluster)
    requests_seen: list[str] = []
    record_request = serving.record_request

    def count(namespace: str, revision: str) -> None:
        requests_seen.append(revision)
        record_request(namespace, revision)

    monkeypatch.setattr(serving, "record_request", count)
    deployment = StoreChanges(
        sim_cluster,
        lambda obj: (
            obj["kind"] == "Deployment" and obj["metadata"]["name"] == "sleepy-00001-deployment"
        ),
    )
    host, port = sim_cluster.ingress_endpoint.rsplit(":", 1)
    with steady_traffic((host, int(port)), "sleepy.default.127.0.0.1.sslip.io", 30) as failures:
        threading.Event().wait(sim_cluster.clock.scaled(6 + 3 + 6) * 2)
    assert failures == []
    replicas = [obj["spec"]["replicas"] for _, _, _, obj in deployment.changes()]
    assert 0 not in replicas, f"the revision scaled to zero under steady traffic: {replicas}"
    assert len(requests_seen) > 1, f"steady traffic sent {len(requests_seen)} request(s)"
    assert not [t for t in threading.enumerate() if t.name.startswith("steady traffic to ")]
