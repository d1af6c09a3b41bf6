"""Recipe 14.8 end to end: `pytest suites/ --cluster existing` against the simulated cluster,
with the operator, for the book's versions and newer minors; TriggerMesh's images failing to
pull; and Eventing's addressable-resolver ClusterRole after TriggerMesh."""

from __future__ import annotations

import os

import pytest

from cookbook14.catalog import Catalog
from cookbook14.errors import WaitTimeout
from cookbook14.kube import Kube
from cookbook14.options import Options
from cookbook14.plan import build_plan
from cookbook14.recipes import triggermesh
from cookbook14.report import CheckResult, RunReport
from cookbook14.steps import Status, StepOutcome
from tests.launch import EVENTING_NEVER_READY, chapter_on_existing, existing, recipes, run_suites

ONLY_14_8 = ("-m", "recipe_14_8")
GROUP_COUNTS = {
    "sources.triggermesh.io": 38,
    "targets.triggermesh.io": 34,
    "flow.triggermesh.io": 5,
    "routing.triggermesh.io": 2,
    "extensions.triggermesh.io": 1,
}
RBAC = "rbac.authorization.k8s.io/v1"
UNHEALTHY = "14.8: TriggerMesh is unmaintained (the company dissolved in late 2023"


def _counts(summary: dict) -> dict[str, float]:
    return {
        m["name"].removeprefix("kinds served by "): m["value"]
        for m in summary["measurements"]
        if m["recipe"] == "14.8" and m["name"].startswith("kinds served by ")
    }


def test_recipe_14_8_passes_and_records_the_kinds_per_group(suite_run):
    # Checked in the book's whole-chapter run (test_chapter.py).
    run = suite_run(chapter_on_existing("book"))
    summary = run.summary
    recipe = recipes(summary)["14.8"]
    assert recipe["outcome"] == "passed", (recipe, run.output)
    assert {c["outcome"] for c in recipe["checks"]} == {"passed"}, recipe["checks"]
    assert len(recipe["checks"]) == 6
    assert _counts(summary) == GROUP_COUNTS
    assert recipe["step"]["facts"]["kinds_served"] == GROUP_COUNTS
    assert recipe["step"]["facts"]["addressable_resolver_before"]["rules"], "nothing to keep"
    assert recipe["step"]["facts"]["skipped"] == [
        "ClusterRole addressable-resolver from "
        f"{run.sim.release_mirror}/triggermesh/triggermesh/releases/download/v1.26.0/"
        "triggermesh.yaml: Eventing's exists"
    ]
    assert any(
        d["recipe"] == "14.8" and "addressable-resolver" in d["what"] for d in summary["deviations"]
    )
    assert not [w for w in summary["warnings"] if w.startswith(UNHEALTHY)]


def test_unpullable_triggermesh_images_are_an_expected_failure(tmp_path, make_sim_cluster):
    sim = make_sim_cluster(faults=["triggermesh-image-pull"])
    result, summary = run_suites(tmp_path, *existing(sim), *ONLY_14_8)
    assert result.returncode == 0, result.stdout + result.stderr
    recipe = recipes(summary)["14.8"]
    assert recipe["outcome"] == "passed", recipe
    outcomes = {c["name"]: c for c in recipe["checks"]}
    pods = outcomes.pop("test_triggermesh_controller_and_webhook_run")
    assert pods["outcome"] == "xfailed"
    assert "gcr.io/triggermesh/triggermesh-controller:v1.26.0" in pods["message"]
    assert "ImagePullBackOff" in pods["message"]
    assert {c["outcome"] for c in outcomes.values()} == {"passed"}
    warnings = [w for w in summary["warnings"] if w.startswith(UNHEALTHY)]
    assert len(warnings) == 1 and "gcr.io/triggermesh/triggermesh-webhook:v1.26.0" in warnings[0]
    assert "1 xfailed" in result.stdout


@pytest.mark.parametrize("knative", ["book", "1.14", "1.23"])
def test_recipes_14_7_and_14_8_pass_with_the_operator(suite_run, knative):
    # Checked in the version's whole-chapter run (test_chapter.py).
    run = suite_run(chapter_on_existing(knative))
    by_id = recipes(run.summary)
    for recipe in ("14.7", "14.8"):
        assert by_id[recipe]["outcome"] == "passed", (by_id[recipe], run.output)
    assert _counts(run.summary) == GROUP_COUNTS


def test_eventing_never_ready_blocks_14_7_and_14_8(suite_run):
    # The run of test_recipe_14_5.py's test of the same fault.
    run = suite_run(EVENTING_NEVER_READY)
    assert run.result.returncode == 1, run.output
    by_id = recipes(run.summary)
    assert by_id["14.5"]["outcome"] == "failed"
    for recipe in ("14.7", "14.8"):
        assert by_id[recipe]["outcome"] == "blocked", by_id[recipe]
        assert by_id[recipe]["blocked_by"] == "14.5"


def test_taking_eventings_role_over_is_caught(tmp_path, sim_cluster):
    """The harness mutated to apply TriggerMesh's addressable-resolver with forced conflicts:
    the role is TriggerMesh's afterwards (the aggregation controller refills its rules, as
    kube-controller-manager does), and the takeover check goes red with evidence."""
    env = {**os.environ, "COOKBOOK14_MUTATION": "force-resolver"}
    result, summary = run_suites(
        tmp_path, *existing(sim_cluster), *ONLY_14_8, "-p", "tests.harness_mutations", env=env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    recipe = recipes(summary)["14.8"]
    assert recipe["outcome"] == "failed"
    outcomes = {c["name"]: c for c in recipe["checks"]}
    takeover = outcomes["test_addressable_resolver_is_still_eventings"]
    assert takeover["outcome"] == "failed"
    assert "label app.kubernetes.io/part-of: (none) -> triggermesh" in takeover["message"]
    assert outcomes["test_addressable_resolver_still_grants_eventings_rules"]["outcome"] == "passed"
    assert recipe["step"]["facts"]["skipped"] == []
    evidence = next(
        tmp_path.glob("*/evidence/14.8-test_addressable_resolver_is_still_eventings.txt")
    ).read_text()
    assert "== ClusterRole in the cluster" in evidence
    assert "app.kubernetes.io/part-of: triggermesh" in evidence
    role = sim_cluster.store.get(RBAC, "ClusterRole", "addressable-resolver")
    managers = {entry["manager"] for entry in role["metadata"]["managedFields"]}
    assert {"cookbook14", "clusterrole-aggregation-controller"} <= managers


def test_rules_check_fails_when_eventings_role_loses_its_aggregation(sim_cluster):
    """A copy without the aggregation rule put over Eventing's role (a replace, as an old
    manifest with static rules would do): the rules it granted are gone and stay gone."""
    store = sim_cluster.store
    granted = [{"apiGroups": ["messaging.knative.dev"], "resources": ["*"], "verbs": ["get"]}]
    store.create(
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": "channels", "labels": {"duck.knative.dev/addressable": "true"}},
            "rules": granted,
        }
    )
    store.create(
        {
            "apiVersion": RBAC,
            "kind": "ClusterRole",
            "metadata": {"name": "addressable-resolver"},
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"duck.knative.dev/addressable": "true"}}]
            },
            "rules": [],
        }
    )
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    assert triggermesh.wait_for_rules(kube, granted, 5.0)["rules"] == granted
    replaced = store.get(RBAC, "ClusterRole", "addressable-resolver")
    replaced.pop("aggregationRule")
    replaced["rules"] = []
    store.update(replaced)
    with pytest.raises(WaitTimeout, match="to grant the 1 rules it granted before 14.8"):
        triggermesh.wait_for_rules(kube, granted, 1.0)
    role = kube.get(RBAC, "ClusterRole", "addressable-resolver")
    assert triggermesh.rules_missing(granted, role) == granted


def test_14_8_waits_for_its_crds_not_for_triggermeshs_pods():
    plan = build_plan(Options(), Catalog.load())
    step = plan.step("14.8")
    assert step.implemented and step.waits == ()
    assert [a.source.rsplit("/", 1)[1] for a in step.applies] == [
        "triggermesh-crds.yaml",
        "triggermesh.yaml",
    ]
    assert plan.deadlines["cluster_role_aggregated"] > 0
    assert {"knative-eventing", "triggermesh"} <= set(step.evidence.namespaces)


def test_an_expected_failure_leaves_the_recipe_passed_and_a_carried_root_failure_blocked(
    tmp_path,
):
    plan = build_plan(Options(), Catalog.load())
    report = RunReport("run", tmp_path, plan)
    report.record_step(StepOutcome("14.8", "Install TriggerMesh event sources", Status.PASSED))
    report.checks += [
        CheckResult("test_triggermesh_sources_are_served", "14.8", "passed", 0.1),
        CheckResult("test_triggermesh_controller_and_webhook_run", "14.8", "xfailed", 0.1, "x"),
    ]
    assert report.recipe_outcome("14.8") == "passed"
    report.checks.append(
        CheckResult("test_addressable_resolver_is_still_eventings", "14.8", "failed", 0.1)
    )
    assert report.recipe_outcome("14.8") == "failed"
    report.record_step(
        StepOutcome("14.7", "Enable more event sources", Status.BLOCKED, blocked_by="14.5")
    )
    report.checks.append(CheckResult("test_githubsources_are_served", "14.7", "failed", 0.1))
    assert report.recipe_outcome("14.7") == "blocked"


def test_workloads_that_never_run_for_another_reason_time_out(sim_cluster):
    """No pod at all (as when admission or a quota refuses them): not an image pull, so the
    pods check fails instead of expecting the failure."""
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "triggermesh"}}
    )
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    with pytest.raises(WaitTimeout, match="each of triggermesh-controller, triggermesh-webhook"):
        triggermesh.wait_for_workloads(kube, 1.0)


def test_pull_failures_name_the_image_and_the_registrys_message():
    pod = {
        "metadata": {"name": "triggermesh-webhook-5d5df6c7-gv2j4"},
        "status": {
            "containerStatuses": [
                {
                    "name": "webhook",
                    "image": "gcr.io/triggermesh/triggermesh-webhook:v1.26.0",
                    "state": {"waiting": {"reason": "ErrImagePull", "message": "403 Forbidden"}},
                },
                {
                    "name": "sidecar",
                    "image": "x",
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                },
            ]
        },
    }
    failures = triggermesh.pull_failures([pod])
    assert [(f.container, f.reason) for f in failures] == [("webhook", "ErrImagePull")]
    reason = triggermesh.pull_failure_reason(failures)
    assert reason.startswith("TriggerMesh is unmaintained")
    assert "gcr.io/triggermesh/triggermesh-webhook:v1.26.0 cannot be pulled" in reason
    assert "(403 Forbidden)" in reason
