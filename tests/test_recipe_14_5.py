"""Recipe 14.5 (Install Knative Eventing) end to end: `pytest suites/` against the simulated
cluster, with the operator for the book, 1.14 and 1.23, with the release YAML files, and with
faults that its checks must catch. 14.6 runs in the same runs (it needs 14.5's Eventing)."""

from __future__ import annotations

import pytest

from tests.launch import (
    CHAPTER_WITH_YAML,
    EVENTING_NEVER_READY,
    chapter_on_existing,
    existing,
    recipes,
    run_suites,
)

# Deadlines a tenth of the real ones: the simulated cluster runs at 1/20 of real time, and a
# PingSource "minute" lasts 3 s there (the delivery wait is that many ticks of the schedule).
SCALE = ("--timeout-scale", "0.1")


def checks_of(summary: dict, recipe: str) -> dict[str, dict]:
    return {check["name"]: check for check in recipes(summary)[recipe]["checks"]}


def assert_eventing_and_source_passed(summary: dict, output: str) -> None:
    """Every check of 14.5 and 14.6 passed (with the YAML files there is no KnativeEventing)."""
    for recipe in ("14.5", "14.6"):
        for name, check in checks_of(summary, recipe).items():
            if name == "test_knative_eventing_reaches_ready_true" and check["outcome"] == "skipped":
                assert check["message"] == "--install-method yaml installs no KnativeEventing"
            else:
                assert check["outcome"] == "passed", (check, output)
    assert "test_kn_alternative_delivers_events" in checks_of(summary, "14.6")


@pytest.mark.parametrize(
    ("version", "operator_default"), [("book", "1.11.1"), ("1.14", "1.14.6"), ("1.23", "1.23.0")]
)
def test_eventing_and_a_ping_source_work_with_the_operator(suite_run, version, operator_default):
    # Checked in the version's whole-chapter run (test_chapter.py).
    run = suite_run(chapter_on_existing(version))
    summary = run.summary
    assert_eventing_and_source_passed(summary, run.output)
    # What the operator installs by default, not the newest patch of the minor.
    assert summary["found"]["eventing"] == operator_default
    facts = recipes(summary)["14.6"]["step"]["facts"]
    assert facts["first_event"]["type"] == "dev.knative.sources.ping"
    assert facts["first_event"]["data"] == {"message": "Hello, world!"}
    assert facts["ticks_waited"] == 1
    # kn has no content-type flag: its PingSource's events carry no datacontenttype.
    assert "datacontenttype" not in facts["kn_event"]
    assert facts["kn_event"]["data"] == {"message": "Hello, world!"}
    # Ready went True on the stale 0/0 adapter, then False while it scaled up, then True.
    assert facts["pingsource_ready_transitions"][-3:] == [
        "True",
        "False (MinimumReplicasUnavailable)",
        "True",
    ]
    figures = {(m["recipe"], m["name"]) for m in summary["measurements"]}
    assert ("14.5", "install to Ready") in figures
    assert ("14.6", "PingSource Ready to first event") in figures


def test_eventing_and_a_ping_source_work_with_the_yaml_files(suite_run):
    # Checked in the whole chapter's run with the release files (test_chapter.py).
    run = suite_run(CHAPTER_WITH_YAML)
    assert_eventing_and_source_passed(run.summary, run.output)
    step = recipes(run.summary)["14.5"]["step"]
    assert step["facts"]["eventing_install_method"] == "yaml"
    # Read from the Deployments' labels: the planned exact version of the release files.
    assert run.summary["found"]["eventing"] == "1.11.1"


def test_eventing_that_never_gets_ready_blocks_the_event_recipes(suite_run):
    run = suite_run(EVENTING_NEVER_READY)
    assert run.result.returncode == 1, run.output
    by_id = recipes(run.summary)
    assert by_id["14.5"]["outcome"] == "failed"
    error = by_id["14.5"]["step"]["error"]
    assert (
        error.startswith("timed out after")
        and "KnativeEventing knative-eventing in namespace knative-eventing to have Ready=True"
        in error
    )
    assert "Waiting on deployments: eventing-webhook" in error
    for recipe in ("14.6", "14.7", "14.8"):
        assert by_id[recipe]["outcome"] == "blocked", by_id[recipe]
        assert by_id[recipe]["blocked_by"] == "14.5"
    evidence = (run.folder / "evidence" / "14.5.txt").read_text()
    assert "== KnativeEventing in knative-eventing" in evidence
    assert "ImagePullBackOff" in evidence or "ErrImagePull" in evidence


def test_an_operator_installing_another_eventing_is_caught(tmp_path, make_sim_cluster):
    sim = make_sim_cluster(faults=["eventing-other-version"])
    result, summary = run_suites(tmp_path, *existing(sim), "-m", "recipe_14_5", *SCALE)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = checks_of(summary, "14.5")["test_eventing_version_is_what_the_operator_installs"]
    assert failed["outcome"] == "failed"
    assert (
        "KnativeEventing knative-eventing shows VERSION '1.11.2'; expected 1.11.1"
        in (failed["message"])
    )
    assert summary["found"]["eventing"] == "1.11.2"
