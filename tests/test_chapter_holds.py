"""The end-of-chapter checks (suites/test_chapter_holds.py) through `pytest suites/ -m chapter`
against the simulated cluster: they pass on a cluster where 14.4 and 14.6 hold, are reported
under those recipes, and go red when the harness breaks what those recipes made."""

from __future__ import annotations

import os
from xml.etree import ElementTree

from tests.launch import chapter_on_existing, existing, recipes, run_suites

# The end-of-chapter checks and the recipe each is reported under.
END_OF_CHAPTER = {"test_nodeinfo_still_answers": "14.4", "test_ping_events_still_arrive": "14.6"}
CHAPTER = ("-m", "chapter", "--domain", "127.0.0.1.sslip.io", "--timeout-scale", "0.1")


def _chapter_checks(summary: dict) -> dict[str, dict]:
    by_id = recipes(summary)
    return {c["name"]: c for recipe in ("14.4", "14.6") for c in by_id[recipe]["checks"]}


def test_the_chapter_holds_at_the_end(suite_run):
    # Checked in the book's whole-chapter run (test_chapter.py): the end-of-chapter checks run
    # last there, as in `-m chapter`.
    run = suite_run(chapter_on_existing("book"))
    by_id = recipes(run.summary)
    for name, recipe in END_OF_CHAPTER.items():
        (check,) = [c for c in by_id[recipe]["checks"] if c["name"] == name]
        assert check["outcome"] == "passed", (check, run.output)
    cases = ElementTree.parse(run.folder / "junit.xml").getroot().iter("testcase")
    ran = [case.get("name") for case in cases]
    assert sorted(ran[-2:]) == sorted(END_OF_CHAPTER), f"the last checks run: {ran[-4:]}"


def test_single_recipes_do_not_select_the_chapter_checks(tmp_path, sim_cluster):
    result, summary = run_suites(tmp_path, *existing(sim_cluster), "-m", "recipe_14_1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_chapter_holds" not in result.stdout
    assert recipes(summary)["14.4"]["checks"] == []


def test_a_broken_earlier_recipe_is_caught_at_the_end(tmp_path, sim_cluster):
    env = {**os.environ, "COOKBOOK14_MUTATION": "break-earlier-recipes"}
    result, summary = run_suites(
        tmp_path, *existing(sim_cluster), *CHAPTER, "-p", "tests.harness_mutations", env=env
    )
    assert result.returncode == 1, result.stdout + result.stderr
    checks = _chapter_checks(summary)
    nodeinfo = checks["test_nodeinfo_still_answers"]
    assert nodeinfo["outcome"] == "failed"
    # Deleted in the foreground, the ksvc may still be going when the chapter ends.
    assert any(
        f"kubectl get ksvc nodeinfo: {state}" in nodeinfo["message"]
        for state in ("gone", "being deleted")
    ), nodeinfo["message"]
    ping = checks["test_ping_events_still_arrive"]
    assert ping["outcome"] == "failed"
    assert "at the end of the chapter: no event from" in ping["message"]
    assert recipes(summary)["14.6"]["outcome"] == "failed"
