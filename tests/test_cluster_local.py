"""A cluster whose config-domain sets no domain (an existing cluster without a load balancer
and without --domain): Knative Services get cluster-local URLs, which Kourier's gateway
answers with 404 from outside. The checks that send requests through Kourier skip, saying
so, and their recipes are incomplete: never failed for the cluster's setup, never passed."""

from __future__ import annotations

from tests.launch import existing, recipes, run_suites

EXPECTED_REASON = "is cluster-local: config-domain sets no domain, so Kourier answers 404"


def test_requests_through_kourier_skip_when_urls_are_cluster_local(sim_cluster, tmp_path):
    result, summary = run_suites(
        tmp_path / "reports", *existing(sim_cluster), "-m", "recipe_14_4 or recipe_14_6"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    by_recipe = recipes(summary)
    for recipe, check in (
        ("14.4", "test_nodeinfo_answers_through_kourier_with_the_nodes_information"),
        ("14.6", "test_sockeye_shows_the_ping_event"),
        ("14.6", "test_kn_alternative_delivers_events"),
    ):
        assert by_recipe[recipe]["outcome"] == "incomplete", by_recipe[recipe]
        outcome = next(c for c in by_recipe[recipe]["checks"] if c["name"] == check)
        assert outcome["outcome"] == "skipped", outcome
        assert EXPECTED_REASON in outcome["message"] and "--domain" in outcome["message"], outcome
