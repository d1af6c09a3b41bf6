"""The whole chapter: `pytest suites/` with no selection installs and checks 14.1 to 14.8 in
order, on an existing cluster for the book's versions and for newer minors, and through the
kind provider with the doubles."""

from __future__ import annotations

import pytest

from tests.launch import existing, kind_args, kind_clusters, recipes, run_suites

CHAPTER = [f"14.{n}" for n in range(1, 9)]
# The Kubernetes each Knative minor needs at least (the sim refuses nothing; the harness does).
NODE_FOR = {"book": "1.27.3", "1.14": "1.29.2", "1.23": "1.34.0"}


def assert_whole_chapter_passed(result, summary) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    by_id = recipes(summary)
    for recipe in CHAPTER:
        assert by_id[recipe]["outcome"] == "passed", by_id[recipe]
        assert by_id[recipe]["step"]["status"] == "passed", by_id[recipe]["step"]
    checks = [check for recipe in CHAPTER for check in by_id[recipe]["checks"]]
    assert checks and {check["outcome"] for check in checks} <= {"passed", "xfailed"}
    assert "not implemented" not in result.stdout


@pytest.mark.parametrize("version", ["book", "1.14", "1.23"])
def test_the_whole_chapter_passes_on_an_existing_cluster(tmp_path, make_sim_cluster, version):
    # A load balancer address for Kourier, so that the book's serving-default-domain Job runs
    # and gives ksvcs a domain reachable through Kourier (a loopback address: nothing dials it).
    sim = make_sim_cluster(kubernetes_version=NODE_FOR[version], load_balancer_ip="127.0.0.2")
    result, summary = run_suites(tmp_path, *existing(sim), "--knative-version", version)
    assert_whole_chapter_passed(result, summary)
    release = summary["knative"]["planned"]
    # What the operator installs for the book's CRs (no spec.version) is what was found.
    assert summary["found"]["serving"] == release["operator_installs"]["serving"]
    assert summary["found"]["eventing"] == release["operator_installs"]["eventing"]
    names = {m["name"] for m in summary["measurements"]}
    assert names, "the chapter's figures are recorded"


def test_the_whole_chapter_passes_through_the_kind_provider(tmp_path, sim_cluster, kind_env):
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "chapter"), env=kind_env
    )
    assert_whole_chapter_passed(result, summary)
    assert summary["cluster"]["created"] is True
    assert kind_clusters(kind_env) == [], "the cluster this run created is deleted"


def test_the_whole_chapter_with_the_release_yaml_files(tmp_path, make_sim_cluster):
    # Serving and Eventing from their release files: every recipe passes but 14.7, which
    # updates the operator's KnativeEventing and so has nothing to update (skipped, with why).
    sim = make_sim_cluster(load_balancer_ip="127.0.0.2")
    result, summary = run_suites(tmp_path, *existing(sim), "--install-method", "yaml")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    by_id = recipes(summary)
    assert by_id["14.7"]["outcome"] == "skipped", by_id["14.7"]
    for recipe in (r for r in CHAPTER if r != "14.7"):
        assert by_id[recipe]["outcome"] == "passed", by_id[recipe]
    assert summary["found"]["serving"] == summary["knative"]["planned"]["serving"]
    assert summary["found"]["eventing"] == summary["knative"]["planned"]["eventing"]
