"""Recipe 14.2 (Install Knative Serving) end to end: `pytest suites/ -m recipe_14_2` against the
simulated cluster, as an existing cluster and through the kind provider with the doubles, for
both install methods; and the failures its checks must catch."""

from __future__ import annotations

import pytest

from tests.launch import (
    CHAPTER_LB_IP,
    CHAPTER_MATRIX,
    CHAPTER_WITH_YAML,
    NODE_FOR,
    SuiteRunSpec,
    chapter_on_existing,
    existing,
    recipes,
    run_suites,
)

ONLY_14_2 = ("-m", "recipe_14_2")
# What each operator installs by default for a CR without spec.version (serving, kourier):
# knative-facts.md's version table, written out here rather than read from the catalog.
OPERATOR_DEFAULTS = {
    "book": ("1.11.0", "1.11.1"),
    "1.14": ("1.14.1", "1.14.0"),
    "1.23": ("1.23.0", "1.23.0"),
}
# What the YAML files of the planned release are (serving, kourier).
PLANNED = {"book": ("1.11.0", "1.11.0"), "1.14": ("1.14.2", "1.14.0"), "1.23": ("1.23.0", "1.23.0")}


def checks_of(summary: dict, recipe: str = "14.2") -> dict[str, dict]:
    return {check["name"]: check for check in recipes(summary)[recipe]["checks"]}


def figures_of(summary: dict) -> dict[str, float]:
    return {m["name"]: m["value"] for m in summary["measurements"] if m["recipe"] == "14.2"}


def serving_run(version: str, method: str) -> SuiteRunSpec:
    """The run a version and install method are checked in: the whole chapter's where
    test_chapter.py makes one, a run of 14.2 alone otherwise (both on a cluster whose
    LoadBalancer Services get an address: the book's DNS step runs too)."""
    if method == "operator":
        return chapter_on_existing(version)
    if version == "book":
        return CHAPTER_WITH_YAML
    return SuiteRunSpec(
        args=("--knative-version", version, "--install-method", method, *ONLY_14_2),
        kubernetes_version=NODE_FOR[version],
        load_balancer_ip=CHAPTER_LB_IP,
    )


@pytest.mark.parametrize("method", ["operator", "yaml"])
@pytest.mark.parametrize("version", ["book", "1.14", "1.23"])
def test_serving_installs_and_passes_on_an_existing_cluster(suite_run, version, method):
    run = suite_run(serving_run(version, method))
    summary = run.summary
    serving = recipes(summary)["14.2"]
    assert serving["outcome"] == "passed", (serving, run.output)
    checks = checks_of(summary)
    assert ("test_yaml_install_runs_the_planned_serving_release" in checks) == (method == "yaml")
    assert checks["test_kourier_answers_from_this_machine"]["outcome"] == "passed"
    for name in ("activator", "net-kourier-controller", "3scale-kourier-gateway"):
        assert checks[f"test_component_is_available[{name}]"]["outcome"] == "passed"
    expected = OPERATOR_DEFAULTS[version] if method == "operator" else PLANNED[version]
    assert (summary["found"]["serving"], summary["found"]["kourier"]) == expected
    facts = serving["step"]["facts"]
    assert facts["kourier_namespace"] == (
        "knative-serving" if method == "operator" else "kourier-system"
    )
    assert facts["kourier_external_ip"] == CHAPTER_LB_IP
    assert facts["default_domain_job"] == "completed"
    assert facts["domains"] == [f"{CHAPTER_LB_IP}.sslip.io"]
    figure = "time_to_ready" if method == "operator" else "time_to_available"
    assert figures_of(summary)[figure] > 0
    deviations = [d for d in summary["deviations"] if d["recipe"] == "14.2"]
    assert deviations and all(d["why"] for d in deviations)
    if method == "operator":
        sequence = facts["ready_sequence"]
        assert ("False", "NotReady") in [(e["ready"], e["reason"]) for e in sequence[:-1]]
        assert (sequence[-1]["ready"], sequence[-1]["version"]) == ("True", expected[0])
        # Operator 1.11.4 shows VERSION as soon as it applied the manifests; from 1.18 on only
        # once the deployments are available.
        waiting = {e["version"] for e in sequence if e["ready"] == "False"}
        assert waiting == ({""} if version == "1.23" else {expected[0]}), sequence


def test_a_rerun_says_knative_serving_was_already_ready(tmp_path, sim_cluster):
    for attempt in ("first", "second"):
        result, summary = run_suites(tmp_path / attempt, *existing(sim_cluster), *ONLY_14_2)
        assert result.returncode == 0, result.stdout + result.stderr
    check = checks_of(summary)["test_knative_serving_goes_from_not_ready_to_ready"]
    assert check["outcome"] == "skipped"
    assert "already Ready when this run applied it" in check["message"]
    facts = recipes(summary)["14.2"]["step"]["facts"]
    assert facts["already_ready"] is True
    assert [e["ready"] for e in facts["ready_sequence"]] == ["True"]
    assert "time_to_ready" not in figures_of(summary), "no figure is made up for a rerun"


KIND_WITH_YAML = SuiteRunSpec(args=("--install-method", "yaml", *ONLY_14_2), provider="kind")


@pytest.mark.parametrize("method", ["operator", "yaml"])
def test_serving_passes_through_the_kind_provider(suite_run, method):
    # With the operator: the whole chapter's run through the kind provider (the book's run of
    # test_matrix.py's matrix, checked in test_chapter.py).
    if method == "operator":
        run = suite_run(CHAPTER_MATRIX).column("book")
    else:
        run = suite_run(KIND_WITH_YAML)
    summary = run.summary
    assert recipes(summary)["14.2"]["outcome"] == "passed", run.output
    checks = checks_of(summary)
    assert checks["test_kourier_answers_from_this_machine"]["outcome"] == "passed"
    assert summary["found"]["serving"] == "1.11.0"
    whats = " ".join(d["what"] for d in summary["deviations"])
    assert "kourier-ingress-nodeport" in whats and "127.0.0.1.sslip.io" in whats
    assert run.clusters_left == [], "the cluster this run created is deleted"


def test_a_serving_that_never_gets_ready_fails_14_2_and_blocks_14_4_and_14_6(
    tmp_path, make_sim_cluster
):
    sim = make_sim_cluster(faults=["serving-never-ready"])
    result, summary = run_suites(
        tmp_path,
        *existing(sim),
        "--timeout-scale",
        "0.02",
        "-m",
        "recipe_14_2 or recipe_14_4 or recipe_14_6",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    by_id = recipes(summary)
    assert by_id["14.2"]["outcome"] == "failed"
    first = by_id["14.2"]["checks"][0]
    assert first["outcome"] == "error"
    assert first["message"].startswith(
        "step 14.2 (Install Knative Serving) failed: timed out after"
    ), first
    error = by_id["14.2"]["step"]["error"]
    assert "KnativeServing knative-serving in namespace knative-serving to have Ready=True" in error
    assert "Waiting on deployments: activator" in error
    evidence = next(tmp_path.glob("*/evidence/14.2.txt")).read_text()
    assert "== KnativeServing in knative-serving" in evidence
    assert "ImagePullBackOff" in evidence or "ErrImagePull" in evidence, evidence
    assert "== logs of pods -l name=knative-operator in default" in evidence
    for recipe in ("14.4", "14.6"):
        assert by_id[recipe]["blocked_by"] == "14.2", by_id[recipe]
        implemented = [
            c for c in by_id[recipe]["checks"] if not c["message"].startswith("not implemented")
        ]
        assert all(c["message"].startswith("blocked by failed step 14.2") for c in implemented)
        if implemented:
            assert by_id[recipe]["outcome"] == "blocked"


def test_a_serving_version_other_than_the_operators_default_is_caught(tmp_path, make_sim_cluster):
    sim = make_sim_cluster(faults=["serving-other-version"])
    result, summary = run_suites(tmp_path, *existing(sim), *ONLY_14_2)
    assert result.returncode == 1, result.stdout + result.stderr
    check = checks_of(summary)["test_knative_serving_shows_the_version_its_operator_installs"]
    assert check["outcome"] == "failed"
    assert (
        "kubectl get KnativeServing knative-serving shows VERSION 1.11.1; operator 1.11.4 "
        "installs 1.11.0 by default" in check["message"]
    ), check
    assert summary["found"]["serving"] == "1.11.1"


def test_an_operator_patch_the_catalog_does_not_know_skips_the_version_check(
    tmp_path, make_sim_cluster
):
    sim = make_sim_cluster(kubernetes_version="1.29.2")
    result, summary = run_suites(
        tmp_path, *existing(sim), "--knative-version", "1.14.2", *ONLY_14_2
    )
    assert result.returncode == 0, result.stdout + result.stderr
    check = checks_of(summary)["test_knative_serving_shows_the_version_its_operator_installs"]
    assert check["outcome"] == "skipped"
    assert "does not know which Serving operator 1.14.2 installs" in check["message"]


def test_without_a_load_balancer_ip_the_default_domain_job_is_skipped(tmp_path, sim_cluster):
    result, summary = run_suites(tmp_path, *existing(sim_cluster), *ONLY_14_2)
    assert result.returncode == 0, result.stdout + result.stderr
    serving = recipes(summary)["14.2"]
    # Without a domain and without a load balancer, the book's DNS step cannot be done.
    assert serving["outcome"] == "incomplete", serving
    checks = checks_of(summary)
    assert [n for n, c in checks.items() if c["outcome"] != "passed"] == [
        "test_domain_is_configured"
    ]
    domain = checks["test_domain_is_configured"]
    assert domain["outcome"] == "skipped"
    assert "no external IP (EXTERNAL-IP <pending>)" in domain["message"]
    assert serving["step"]["facts"]["kourier_external_ip"] == "<pending>"
    assert sim_cluster.store.get("batch/v1", "Job", "default-domain", "knative-serving") is None


@pytest.mark.parametrize("method", ["operator", "yaml"])
def test_domain_option_is_configured_and_merged(tmp_path, make_sim_cluster, method):
    sim = make_sim_cluster()
    result, summary = run_suites(
        tmp_path,
        *existing(sim),
        "--install-method",
        method,
        "--domain",
        "example.test",
        *ONLY_14_2,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = checks_of(summary)
    assert checks["test_domain_is_configured"]["outcome"] == "passed"
    assert checks["test_kourier_is_the_ingress_class"]["outcome"] == "passed"
    assert recipes(summary)["14.2"]["outcome"] == "passed"
    assert recipes(summary)["14.2"]["step"]["facts"]["default_domain_job"].startswith("not run")
    data = sim.store.get("v1", "ConfigMap", "config-domain", "knative-serving")["data"]
    assert set(data) == {"_example", "example.test"}
    assert any(d["why"] == "--domain was given" for d in summary["deviations"])
