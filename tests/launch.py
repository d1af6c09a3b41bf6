"""One way to run the main job from the self-tests: `pytest suites/` in a subprocess against
the simulated cluster, as an existing cluster or through the kind provider with the doubles.

The runs are the slow part of the self-tests. A run that several tests check (each its own
recipe of it) is named here by a spec (SuiteRunSpec, MatrixSpec) and made once per session
by tests/conftest.py's `suite_run` fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.sim import SimCluster
from tests.sim.doubles import BIN_DIR

ROOT = Path(__file__).resolve().parent.parent
# The Kubernetes each Knative minor needs at least (the sim refuses nothing; the harness does).
NODE_FOR = {"book": "1.27.3", "1.14": "1.29.2", "1.23": "1.34.0"}
# The address the simulated cloud gives LoadBalancer Services in the shared chapter runs, so
# that the book's serving-default-domain Job runs (a loopback address: nothing dials it).
CHAPTER_LB_IP = "127.0.0.2"


def cookbook14(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The `cookbook14` console script, as users run it, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "cookbook14.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def suites_command(reports: Path, *args: str) -> list[str]:
    """`pytest suites/` as users run it, with this test's reports folder."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "suites/",
        "-p",
        "no:cacheprovider",
        "--reports-dir",
        str(reports),
        *args,
    ]


def run_suites(
    reports: Path, *args: str, env: dict | None = None, timeout: float = 600
) -> tuple[subprocess.CompletedProcess, dict]:
    """Run `pytest suites/` to its end; its output and the one summary.json it wrote."""
    result = subprocess.run(
        suites_command(reports, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    summaries = list(reports.glob("*/summary.json"))
    assert len(summaries) == 1, result.stdout + result.stderr
    return result, json.loads(summaries[0].read_text())


def existing(sim) -> list[str]:
    host, port = sim.ingress_endpoint.rsplit(":", 1)
    return [
        "--cluster",
        "existing",
        "--kubeconfig",
        str(sim.kubeconfig),
        "--release-mirror",
        sim.release_mirror,
        "--ingress-endpoint",
        f"{host}:{port}",
    ]


def recipes(summary: dict) -> dict[str, dict]:
    return {recipe["id"]: recipe for recipe in summary["recipes"]}


def kind_args(sim, name: str, *extra: str) -> list[str]:
    return [
        "--cluster",
        "kind",
        "--cluster-name",
        name,
        "--release-mirror",
        sim.release_mirror,
        *extra,
    ]


def kind_clusters(env: dict) -> list[str]:
    return subprocess.run(
        [BIN_DIR / "kind", "get", "clusters"], env=env, capture_output=True, text=True
    ).stdout.split()


@dataclass(frozen=True)
class SuiteRunSpec:
    """One `pytest suites/` run on a simulated cluster of its own. Tests asking for an equal
    spec share one run (the `suite_run` fixture), each asserting on its part of the result."""

    args: tuple[str, ...] = ()
    kubernetes_version: str = "1.27.3"
    load_balancer_ip: str | None = None
    faults: tuple[str, ...] = ()
    # "existing": the cluster given with --cluster existing; "kind": through the kind provider
    # with the doubles (the cluster made here only serves the release mirror).
    provider: str = "existing"


@dataclass
class SuiteRun:
    """What a shared run left: its output, summary.json, run folder and (stopped) cluster,
    whose store still answers reads."""

    result: subprocess.CompletedProcess
    summary: dict
    folder: Path
    sim: SimCluster
    # The kind clusters still there after the run (kind provider only; then deleted).
    clusters_left: list[str]

    @property
    def output(self) -> str:
        """The run's output, for assertion messages."""
        return self.result.stdout[-6000:] + self.result.stderr[-3000:]


def chapter_on_existing(version: str) -> SuiteRunSpec:
    """The whole chapter for `version` on an existing cluster: shared by test_chapter.py and the
    recipe files that check one recipe of it. The book's run makes two cold starts (14.4's
    figures); the newer minors' run uses --fast (14.4's deviation)."""
    extra = ("--cold-starts", "2") if version == "book" else ("--fast",)
    return SuiteRunSpec(
        args=("--knative-version", version, *extra),
        kubernetes_version=NODE_FOR[version],
        load_balancer_ip=CHAPTER_LB_IP,
    )


# The whole chapter with Serving and Eventing from their release files (book's versions).
CHAPTER_WITH_YAML = SuiteRunSpec(args=("--install-method", "yaml"), load_balancer_ip=CHAPTER_LB_IP)
# The event recipes on a cluster whose KnativeEventing never gets Ready (deadlines at a
# fiftieth): 14.5 fails, 14.6 to 14.8 are blocked (test_recipe_14_5.py and _14_8.py).
EVENTING_NEVER_READY = SuiteRunSpec(
    args=(
        "-m",
        "recipe_14_5 or recipe_14_6 or recipe_14_7 or recipe_14_8",
        "--timeout-scale",
        "0.02",
    ),
    faults=("eventing-never-ready",),
)


def kind_env_in(folder: Path) -> dict:
    """The environment of a run through the kind provider: the doubles first on PATH, kind's
    state and the download cache in `folder` (nothing shared with another test or session)."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}:{env['PATH']}"
    env["SIM_KIND_STATE"] = str(folder / "kind-state")
    env["XDG_CACHE_HOME"] = str(folder / "cache")
    env.pop("SIM_DOCKER_DOWN", None)
    return env


def delete_kind_clusters(env: dict) -> None:
    """Whatever a test left, no simulated kind cluster outlives it."""
    for name in kind_clusters(env):
        subprocess.run(
            [BIN_DIR / "kind", "delete", "cluster", "--name", name], env=env, capture_output=True
        )


def run_spec(spec: SuiteRunSpec | MatrixSpec, folder: Path) -> SuiteRun | MatrixRun:
    """Start the spec's cluster, run the suites against it to the end, stop the cluster."""
    if isinstance(spec, MatrixSpec):
        return run_matrix_spec(spec, folder)
    sim = SimCluster(
        folder / "kubeconfig",
        kubernetes_version=spec.kubernetes_version,
        load_balancer_ip=spec.load_balancer_ip,
        faults=spec.faults,
    )
    reports = folder / "reports"
    with sim:
        if spec.provider == "kind":
            env = kind_env_in(folder)
            try:
                result, summary = run_suites(
                    reports, *kind_args(sim, "shared-run", *spec.args), env=env
                )
                left = kind_clusters(env)
            finally:
                delete_kind_clusters(env)
        else:
            env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
            result, summary = run_suites(reports, *existing(sim), *spec.args, env=env)
            left = []
    (run_folder,) = (path.parent for path in reports.glob("*/summary.json"))
    return SuiteRun(result, summary, run_folder, sim, left)


def matrix_command(reports: Path, sim, *args: str, select: tuple[str, ...] = ()) -> list[str]:
    """`cookbook14 matrix` with this test's reports folder and the sim's release mirror;
    `select` goes to each version's `pytest suites/`."""
    return [
        sys.executable,
        "-m",
        "cookbook14.cli",
        "matrix",
        "--reports-dir",
        str(reports),
        *args,
        "--release-mirror",
        sim.release_mirror,
        *select,
    ]


def folder_name(label: str) -> str:
    """The folder (and log name) the matrix gives a version's run."""
    return "".join(ch if ch.isalnum() else "-" for ch in label)


@dataclass(frozen=True)
class MatrixSpec:
    """`cookbook14 matrix --versions ...` through the kind provider with the doubles (every
    kind cluster is a simulated cluster of its own): shared like a SuiteRunSpec."""

    versions: tuple[str, ...]
    select: tuple[str, ...] = ()


@dataclass
class MatrixRun:
    """What a shared matrix left: its output, its matrix-* folder, the kind clusters still
    there afterwards (then deleted) and the stopped cluster that served the release mirror."""

    result: subprocess.CompletedProcess
    folder: Path
    sim: SimCluster
    clusters_left: list[str]

    def column(self, label: str) -> SuiteRun:
        """The matrix's `pytest suites/ --cluster kind` run of one version, its log as output."""
        (path,) = (self.folder / folder_name(label)).glob("*/summary.json")
        summary = json.loads(path.read_text())
        log = (self.folder / f"{folder_name(label)}.log").read_text()
        result = subprocess.CompletedProcess(
            self.result.args, summary["run"]["exit_status"], stdout=log, stderr=""
        )
        return SuiteRun(result, summary, path.parent, self.sim, self.clusters_left)


# The whole chapter for the book and the two newer minors, one version after another, through
# the kind provider: test_matrix.py checks the matrix, and the book's column is the whole
# chapter's run through the kind provider that test_chapter.py and the recipe files check.
CHAPTER_MATRIX = MatrixSpec(versions=("book", "1.14", "1.23"))


def run_matrix_spec(spec: MatrixSpec, folder: Path) -> MatrixRun:
    """Run the matrix to its end with a cluster serving the release mirror, then stop it."""
    env = kind_env_in(folder)
    reports = folder / "reports"
    with SimCluster(folder / "kubeconfig") as sim:
        try:
            result = subprocess.run(
                matrix_command(
                    reports, sim, "--versions", ",".join(spec.versions), select=spec.select
                ),
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            left = kind_clusters(env)
        finally:
            delete_kind_clusters(env)
    folders = list(reports.glob("matrix-*"))
    assert len(folders) == 1, result.stdout + result.stderr
    return MatrixRun(result, folders[0], sim, left)
