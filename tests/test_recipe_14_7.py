"""Recipe 14.7 end to end (`pytest suites/ --cluster existing` against the simulated cluster)
and the checks' logic: the KnativeEventing's Ready across the change, the GitHub source in the
CR's namespace, and --install-method yaml, where the recipe does not apply."""

from __future__ import annotations

from cookbook14.catalog import Catalog
from cookbook14.options import Options
from cookbook14.plan import build_plan
from cookbook14.recipes.github_source import went_not_ready_then_ready
from tests.launch import CHAPTER_WITH_YAML, chapter_on_existing, recipes


def _state(observed: int, ready: str, reason: str = "") -> dict:
    return {"generation": 2, "observed_generation": observed, "ready": ready, "reason": reason}


def test_recipe_14_7_passes_with_the_operator(suite_run):
    # Checked in the book's whole-chapter run (test_chapter.py).
    run = suite_run(chapter_on_existing("book"))
    recipe = recipes(run.summary)["14.7"]
    assert recipe["outcome"] == "passed", (recipe, run.output)
    assert [c["outcome"] for c in recipe["checks"]] == ["passed"] * 3
    facts = recipe["step"]["facts"]
    assert (facts["generation_before"], facts["generation_after"]) == (1, 2)
    at_two = [s for s in facts["ready_sequence"] if s["observed_generation"] == 2]
    assert at_two[0]["ready"] == "False"
    assert at_two[0]["message"] == "Waiting on deployments: github-webhook"
    assert at_two[-1]["ready"] == "True"

    # What the operator installed, read from the simulated cluster itself.
    store = run.sim.store
    assert store.get("v1", "Namespace", "knative-sources") is None
    controller = store.get(
        "apps/v1", "StatefulSet", "github-controller-manager", "knative-eventing"
    )
    assert controller["metadata"]["labels"] == {
        "contrib.eventing.knative.dev/release": "v1.11.0",
        "control-plane": "github-controller-manager",
    }
    webhook = store.get("apps/v1", "Deployment", "github-webhook", "knative-eventing")
    assert webhook["metadata"]["labels"] == {"contrib.eventing.knative.dev/release": "v1.11.0"}


def test_with_the_yaml_install_14_7_is_skipped_not_passed(suite_run):
    # Checked in the whole chapter's run with the release files (test_chapter.py).
    run = suite_run(CHAPTER_WITH_YAML)
    summary = run.summary
    recipe = recipes(summary)["14.7"]
    assert recipe["outcome"] == "skipped", (recipe, run.output)
    assert {c["outcome"] for c in recipe["checks"]} == {"skipped"}
    assert all(
        c["message"].startswith("not applicable with --install-method yaml")
        for c in recipe["checks"]
    )
    assert any(
        d["recipe"] == "14.7" and d["what"].startswith("not applicable")
        for d in summary["deviations"]
    )
    assert run.sim.store.get("apps/v1", "Deployment", "github-webhook", "knative-eventing") is None


def test_not_ready_then_ready_needs_both_at_the_new_generation():
    stale = [_state(1, "True")]
    assert not went_not_ready_then_ready(stale, 2)
    only_true = [_state(1, "True"), _state(2, "True")]
    assert not went_not_ready_then_ready(only_true, 2)
    still_waiting = [_state(1, "True"), _state(2, "False", "NotReady")]
    assert not went_not_ready_then_ready(still_waiting, 2)
    seen = [_state(1, "True"), _state(2, "False", "NotReady"), _state(2, "True")]
    assert went_not_ready_then_ready(seen, 2)


def test_the_yaml_install_plans_no_14_7_and_says_why():
    operator = build_plan(Options(), Catalog.load()).step("14.7")
    assert operator.method == "operator" and operator.implemented
    assert operator.applies[0].documents[0]["spec"] == {"source": {"github": {"enabled": True}}}
    plan = build_plan(Options(install_method="yaml"), Catalog.load())
    step = plan.step("14.7")
    assert (step.method, step.applies, step.waits) == ("yaml", (), ())
    assert [d.recipe for d in plan.deviations if d.what.startswith("not applicable")] == ["14.7"]
