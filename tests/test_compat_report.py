"""`cookbook14 report` and `cookbook14 compare` on run folders of real runs against the
simulated cluster: a passing one, and one where Serving never gets Ready (fault
serving-never-ready), so 14.2 fails and 14.4, which needs it, is blocked."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import html5lib
import pytest

from cookbook14 import compat
from tests.launch import ROOT, existing, run_suites
from tests.sim import SimCluster

SELECTED = ("-m", "recipe_14_1 or recipe_14_2 or recipe_14_4")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Run folders: `good` (14.1, 14.2, 14.4 against a healthy cluster), `broken` (the same
    against a cluster whose KnativeServing never gets Ready; deadlines at a fiftieth)."""
    folders = {}
    for name, faults, extra in (
        ("good", [], ()),
        ("broken", ["serving-never-ready"], ("--timeout-scale", "0.02")),
    ):
        kubeconfig = tmp_path_factory.mktemp(f"sim-{name}") / "kubeconfig"
        reports = tmp_path_factory.mktemp(f"reports-{name}")
        with SimCluster(kubeconfig, faults=faults) as sim:
            result, _ = run_suites(reports, *existing(sim), *SELECTED, *extra)
        assert result.returncode == (0 if name == "good" else 1), result.stdout + result.stderr
        folders[name] = next(reports.iterdir())
    return folders


def cookbook14(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cookbook14.cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_report_shows_the_failed_cell_with_its_cause_and_the_blocked_ones(runs, tmp_path):
    result = cookbook14("report", runs["broken"], "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    matrix = json.loads((tmp_path / "matrix.json").read_text())
    (column,) = matrix["versions"]
    cells = column["cells"]
    assert cells["14.1"]["state"] == "passed"
    assert cells["14.2"]["state"] == "failed"
    assert cells["14.2"]["detail"].startswith("timed out after"), cells["14.2"]
    assert "KnativeServing" in cells["14.2"]["detail"]
    assert cells["14.4"] == {**cells["14.4"], "state": "blocked", "detail": "blocked by 14.2"}
    assert cells["14.3"]["state"] == "not run"
    markdown = (tmp_path / "matrix.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| 14.2 "))
    assert "❌ failed: timed out after" in row
    assert "⛔ blocked by 14.2" in next(
        line for line in markdown.splitlines() if line.startswith("| 14.4 ")
    )
    assert "blocked by 14.2" in (tmp_path / "matrix.html").read_text()


def test_a_deviation_is_marked_in_its_cell(runs, tmp_path):
    compat.write_matrix(compat.build_matrix([runs["good"]]), tmp_path)
    (column,) = json.loads((tmp_path / "matrix.json").read_text())["versions"]
    # On an existing cluster 14.2 does not run serving-default-domain.yaml: a deviation.
    assert column["cells"]["14.2"]["deviations"], column["cells"]["14.2"]
    row = next(
        line for line in (tmp_path / "matrix.md").read_text().splitlines() if "| 14.2 " in line
    )
    assert row.rstrip(" |").endswith(compat.DEVIATION_MARK)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.open: list[str] = []
        self.unbalanced: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name == "href"]
        if tag not in ("meta", "img", "br", "hr", "link", "input"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.unbalanced.append(tag)


def valid_html(text: str) -> _Links:
    """html5lib in strict mode raises on any parse error; the stdlib parser checks balance."""
    html5lib.HTMLParser(strict=True).parse(text)
    links = _Links()
    links.feed(text)
    assert links.unbalanced == [] and links.open == [], (links.unbalanced, links.open)
    return links


def test_the_pages_are_valid_html_and_every_evidence_link_exists(runs, tmp_path):
    result = cookbook14("report", runs["good"], runs["broken"], "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    valid_html((tmp_path / "matrix.html").read_text())
    for folder in runs.values():
        links = valid_html((folder / "report.html").read_text()).links
        assert "summary.json" in links and "junit.xml" in links
        for link in links:
            assert (folder / link).is_file(), f"{folder / 'report.html'} links {link}"
    broken = valid_html((runs["broken"] / "report.html").read_text()).links
    assert "evidence/14.2.txt" in broken, "the failed step's evidence is linked"


def test_compare_names_the_newly_broken_recipe_and_exits_1(runs):
    result = cookbook14("compare", runs["good"], runs["broken"])
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Fixed:", 1)[0]
    assert "14.2 ❌ failed: timed out after" in broken
    assert "14.4 ⛔ blocked by 14.2" in broken
    assert "14.1" not in broken


def test_compare_exits_0_when_nothing_newly_broke(runs, tmp_path):
    # The other way round everything that failed got fixed; a matrix.json works as input too.
    compat.write_matrix(compat.build_matrix([runs["good"]]), tmp_path)
    result = cookbook14("compare", runs["broken"], tmp_path / "matrix.json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Newly broken: none" in result.stdout
    assert "14.2 now incomplete (was failed)" in result.stdout  # its domain check skips here
    same = cookbook14("compare", runs["good"], runs["good"])
    assert same.returncode == 0 and "Newly broken: none" in same.stdout


def test_a_markedly_slower_figure_is_named_but_does_not_fail(runs):
    baseline = compat.load(runs["good"])
    slower = copy.deepcopy(baseline)
    figure = slower.columns[0].figure("Serving time to Ready")
    assert figure is not None
    was = figure["value"]
    figure["value"] = was * compat.WORSE_FACTOR + compat.WORSE_SECONDS
    comparison = compat.compare(baseline, slower)
    assert comparison.newly_broken == []
    assert [line.split(" s ")[0] for line in comparison.worse] == [
        f"book: Serving time to Ready {figure['value']:g}"
    ]
    figure["value"] = was + compat.WORSE_SECONDS / 2  # jitter, not markedly worse
    assert compat.compare(baseline, slower).worse == []


def test_a_newly_failed_check_is_named(runs):
    baseline = compat.load(runs["good"])
    new = copy.deepcopy(baseline)
    cell = new.columns[0].cells["14.1"]
    check = next(iter(cell.checks))
    cell.checks[check] = "failed"
    cell.state, cell.detail = "failed", "AssertionError: something"
    comparison = compat.compare(baseline, new)
    assert f"book: 14.1 check {check} failed" in comparison.newly_broken


def test_report_of_a_folder_without_runs_is_one_line_and_exit_4(tmp_path):
    result = cookbook14("report", tmp_path)
    assert result.returncode == 4
    assert (
        result.stderr == f"ERROR: {tmp_path} holds no run folder (no summary.json in or below it)\n"
    )
