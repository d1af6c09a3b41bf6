"""The whole chapter: `pytest suites/` with no selection installs and checks 14.1 to 14.8 in
order, on an existing cluster for the book's versions and for newer minors, and through the
kind provider with the doubles (a column of test_matrix.py's matrix). The recipe files check their recipe in these same runs
(tests.launch.chapter_on_existing and friends, shared through the `suite_run` fixture)."""

from __future__ import annotations

import pytest

from tests.launch import (
    CHAPTER_MATRIX,
    CHAPTER_WITH_YAML,
    SuiteRun,
    chapter_on_existing,
    recipes,
)

CHAPTER = [f"14.{n}" for n in range(1, 9)]


def assert_whole_chapter_passed(run: SuiteRun) -> None:
    assert run.result.returncode == 0, run.output
    by_id = recipes(run.summary)
    for recipe in CHAPTER:
        assert by_id[recipe]["outcome"] == "passed", by_id[recipe]
        assert by_id[recipe]["step"]["status"] == "passed", by_id[recipe]["step"]
    checks = [check for recipe in CHAPTER for check in by_id[recipe]["checks"]]
    assert checks and {check["outcome"] for check in checks} <= {"passed", "xfailed"}
    assert "not implemented" not in run.result.stdout


@pytest.mark.parametrize("version", ["book", "1.14", "1.23"])
def test_the_whole_chapter_passes_on_an_existing_cluster(suite_run, version):
    # A load balancer address for Kourier, so that the book's serving-default-domain Job runs
    # and gives ksvcs a domain reachable through Kourier.
    run = suite_run(chapter_on_existing(version))
    assert_whole_chapter_passed(run)
    summary = run.summary
    release = summary["knative"]["planned"]
    # What the operator installs for the book's CRs (no spec.version) is what was found.
    assert summary["found"]["serving"] == release["operator_installs"]["serving"]
    assert summary["found"]["eventing"] == release["operator_installs"]["eventing"]
    names = {m["name"] for m in summary["measurements"]}
    assert names, "the chapter's figures are recorded"


def test_the_whole_chapter_passes_through_the_kind_provider(suite_run):
    # The book's run of test_matrix.py's matrix: `pytest suites/ --cluster kind` as users run it.
    run = suite_run(CHAPTER_MATRIX).column("book")
    assert_whole_chapter_passed(run)
    assert run.summary["cluster"]["created"] is True
    assert run.clusters_left == [], "the cluster this run created is deleted"


def test_the_whole_chapter_with_the_release_yaml_files(suite_run):
    # Serving and Eventing from their release files: every recipe passes but 14.7, which
    # updates the operator's KnativeEventing and so has nothing to update (skipped, with why).
    run = suite_run(CHAPTER_WITH_YAML)
    assert run.result.returncode == 0, run.output
    by_id = recipes(run.summary)
    assert by_id["14.7"]["outcome"] == "skipped", by_id["14.7"]
    for recipe in (r for r in CHAPTER if r != "14.7"):
        assert by_id[recipe]["outcome"] == "passed", by_id[recipe]
    assert run.summary["found"]["serving"] == run.summary["knative"]["planned"]["serving"]
    assert run.summary["found"]["eventing"] == run.summary["knative"]["planned"]["eventing"]
