"""`cookbook14 matrix`: one `pytest suites/` run per version through the kind provider with the
doubles (every kind cluster is a simulated cluster of its own), then the report.

Most runs select 14.1 and 14.2 with -m to stay short (14.2 gives the first figure, Serving's
time to Ready, so the plots have data). The three-version matrix runs the whole chapter; it is
a shared run (tests.launch.CHAPTER_MATRIX): its book column is also test_chapter.py's whole
chapter through the kind provider.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cookbook14.matrix import MatrixRunner
from tests.launch import (
    CHAPTER_MATRIX,
    ROOT,
    cookbook14,
    folder_name,
    kind_clusters,
    matrix_command,
)

# Most matrix tests are about the matrix, not the recipes: two recipes keep them short.
SELECTED = ("-m", "recipe_14_1 or recipe_14_2")
CHAPTER = tuple(f"14.{n}" for n in range(1, 9))


def run_matrix(
    reports: Path, sim, env: dict, *args: str
) -> tuple[subprocess.CompletedProcess, Path]:
    result = subprocess.run(
        matrix_command(reports, sim, *args, select=SELECTED),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    folders = list(reports.glob("matrix-*"))
    assert len(folders) == 1, result.stdout + result.stderr
    return result, folders[0]


def assert_matrix_of(folder: Path, versions: list[str], whole_chapter: bool = False) -> dict:
    matrix = json.loads((folder / "matrix.json").read_text())
    assert [v["label"] for v in matrix["versions"]] == versions
    ran = CHAPTER if whole_chapter else ("14.1", "14.2")
    for version in matrix["versions"]:
        for recipe in CHAPTER:
            expected = "passed" if recipe in ran else "not run"
            assert version["cells"][recipe]["state"] == expected, (version["label"], recipe)
        figures = version["figures"]
        assert figures["Serving time to Ready"] is not None, version["measurements"]
        if whole_chapter:
            assert None not in figures.values(), figures
        else:
            assert figures["first ping event latency"] is None, "not measured: not invented"
    markdown = (folder / "matrix.md").read_text()
    assert "| recipe | " + " | ".join(versions) + " |" in markdown
    if not whole_chapter:
        assert "| time to zero | " + " | ".join("—" for _ in versions) + " |" in markdown
    page = (folder / "matrix.html").read_text()
    assert page.count("<figure><img") >= 1 and "data:image/png;base64," in page
    assert (folder / "figures" / "Serving-time-to-Ready.png").read_bytes()[:4] == b"\x89PNG"
    for version in matrix["versions"]:
        run_folder = next((folder / folder_name(version["label"])).iterdir())
        assert (run_folder / "report.html").exists()
    return matrix


def test_three_versions_one_after_another(suite_run):
    # The whole chapter per version; the book's run is test_chapter.py's run through kind.
    matrix = suite_run(CHAPTER_MATRIX)
    versions = list(CHAPTER_MATRIX.versions)
    assert matrix.result.returncode == 0, matrix.result.stdout + matrix.result.stderr
    written = assert_matrix_of(matrix.folder, versions, whole_chapter=True)
    planned = {v["label"]: v["planned"]["operator"] for v in written["versions"]}
    assert planned == {"book": "1.11.4", "1.14": "1.14.9", "1.23": "1.23.0"}
    found = {v["label"]: v["found"]["kubernetes"] for v in written["versions"]}
    assert found == {"book": "v1.27.3", "1.14": "v1.29.2", "1.23": "v1.36.1"}, "a cluster each"
    assert matrix.clusters_left == [], "every cluster the runs created is deleted"


def test_two_versions_at_once_give_the_same_result(tmp_path, sim_cluster, kind_env):
    versions = ["book", "1.14"]
    result, folder = run_matrix(
        tmp_path, sim_cluster, kind_env, "--versions", ",".join(versions), "--parallel", "2"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert_matrix_of(folder, versions)
    names = {
        line.split("kind cluster ")[1].split(";")[0]
        for line in result.stdout.splitlines()
        if "started on kind cluster" in line
    }
    assert len(names) == 2, result.stdout
    logs = {version: (folder / f"{folder_name(version)}.log").read_text() for version in versions}
    windows = []
    for version in versions:
        summary = json.loads(
            next((folder / folder_name(version)).glob("*/summary.json")).read_text()
        )
        windows.append((summary["run"]["started"], summary["run"]["finished"]))
    (first_start, first_end), (second_start, second_end) = sorted(windows)
    assert second_start <= first_end, f"the runs overlapped in time: {windows}\n{logs}"
    assert kind_clusters(kind_env) == []


def test_the_runs_threads_say_one_line_at_a_time():
    """A second run's line waits for the first one's end (print writes the text, then the
    newline: two runs once came out as one line)."""
    first_inside, release, second_inside = threading.Event(), threading.Event(), threading.Event()
    said: list[str] = []

    def say(message: str) -> None:
        said.append(message)
        if message == "first":
            first_inside.set()
            release.wait(30)
        else:
            second_inside.set()
        said.append("\n")

    runner = MatrixRunner([], [], say=say)
    first = threading.Thread(target=runner.say, args=("first",))
    second = threading.Thread(target=runner.say, args=("second",))
    first.start()
    assert first_inside.wait(30)
    second.start()
    # Absent while the first line is being written: a runner that let it in fails at once.
    assert not second_inside.wait(0.5), said
    release.set()
    first.join(30)
    second.join(30)
    assert said == ["first", "\n", "second", "\n"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_matrix_leaves_no_cluster(tmp_path, sim_cluster, kind_env, signum):
    # A slow simulated cluster (1000 times the default: the operator's pods take ~100 s to
    # start) keeps the runs busy in 14.1 while the interrupt comes, however loaded the machine.
    kind_env["SIM_TIME_SCALE"] = "50.0"
    process = subprocess.Popen(
        matrix_command(
            tmp_path,
            sim_cluster,
            "--versions",
            "book,1.14,1.23",
            "--parallel",
            "2",
            select=SELECTED,
        ),
        cwd=ROOT,
        env=kind_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(kind_clusters(kind_env)) < 2:
        time.sleep(0.5)
    assert len(kind_clusters(kind_env)) == 2, "two runs at once, a cluster each"
    process.send_signal(signum)
    output, _ = process.communicate(timeout=400)
    assert process.returncode == 2, output
    assert kind_clusters(kind_env) == [], output
    folder = next(tmp_path.glob("matrix-*"))
    assert not (folder / "1-23").exists(), "a run not started yet never starts"
    interrupted = [json.loads(path.read_text()) for path in folder.glob("*/*/summary.json")]
    assert len(interrupted) == 2, output
    assert {s["run"]["exit_status"] for s in interrupted} == {2}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--versions", "book,1.24"],
            "ERROR: --knative-version '1.24': Knative 1.24 is not in the catalog; accepted: "
            "book, latest, a minor 1.11..1.23, or an exact 1.Y.Z of one of them "
            "(`cookbook14 releases` prints the entry a new minor needs)",
        ),
        (
            ["--versions", "book,1.14", "--cluster", "existing", "--context", "book=kind-a"],
            "ERROR: --cluster existing needs a context per version, e.g. --context "
            "1.14=my-cluster; none given for 1.14",
        ),
        (
            ["--versions", "book", "--cluster", "existing", "--context", "kind-a"],
            "ERROR: --context 'kind-a' must be VERSION=CONTEXT, e.g. 1.14=kind-a",
        ),
        (["--versions", "book", "--parallel", "0"], "ERROR: --parallel 0 must be a whole number"),
    ],
)
def test_a_bad_matrix_option_is_one_line_and_exit_4(tmp_path, args, expected):
    result = cookbook14("matrix", "--reports-dir", str(tmp_path), *args)
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result.stderr
    assert not list(tmp_path.iterdir()), "nothing ran"


def test_supported_is_the_book_and_the_three_newest_minors():
    result = cookbook14("versions", "--versions", "supported,1.14,book")
    assert json.loads(result.stdout) == ["book", "1.21", "1.22", "1.23", "1.14"]


def test_existing_clusters_get_their_own_context_per_version(tmp_path):
    from cookbook14.matrix import plan_runs

    runs = plan_runs(["book", "1.14"], tmp_path, "existing", {"book": "a", "1.14": "b"})
    commands = [run.command(["-m", "recipe_14_1"], "existing", "/k") for run in runs]
    for command, (version, context) in zip(commands, [("book", "a"), ("1.14", "b")], strict=True):
        assert command[command.index("--knative-version") + 1] == version
        assert command[command.index("--context") + 1] == context
        assert command[command.index("--kubeconfig") + 1] == "/k"
        assert "--cluster-name" not in command
        assert command[-2:] == ["-m", "recipe_14_1"]
    assert len({run.reports for run in runs}) == 2, "each run its own reports"
