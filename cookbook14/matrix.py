"""Several Knative versions, one `pytest suites/` run each: one after another, or N at once.

Each run is the README's main command in a subprocess with its own --knative-version, its own
reports folder and, on kind, its own cluster name (on an existing cluster, the context given
for that version). Runs start in sessions of their own, so that Ctrl-C reaches them once, from
here: every running run gets one SIGINT and cleans up as a single run does (its cluster is
deleted, its report written); runs not started yet never start. A cluster that outlives its
run all the same (a run killed after the grace period) is deleted here.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from cookbook14.catalog import Catalog, Version
from cookbook14.errors import UsageError
from cookbook14.options import default_cache_dir

log = logging.getLogger(__name__)
SUITES = Path(__file__).resolve().parent.parent / "suites"
# How long an interrupted run may take to delete its cluster and write its report.
INTERRUPT_GRACE_SECONDS = 300.0
# How many minors `--versions supported` takes besides the book's: upstream supports the
# newest releases (knative.dev/docs "Release schedule"), the harness follows the three newest.
SUPPORTED_MINORS = 3


def expand_versions(text: str, catalog: Catalog) -> list[str]:
    """`book,1.14,latest` or `supported` -> the versions, each checked against the catalog."""
    versions: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        for version in supported_versions(catalog) if item == "supported" else [item]:
            catalog.resolve(version)  # a bad or unknown version is its one-line UsageError
            if version not in versions:
                versions.append(version)
    if not versions:
        raise UsageError(
            f"--versions {text!r} names no version; e.g. book,1.14,latest or supported"
        )
    return versions


def supported_versions(catalog: Catalog) -> list[str]:
    """The book's versions plus the newest catalogued minors."""
    minors = sorted(catalog.minors, key=Version.parse)
    return ["book", *minors[-SUPPORTED_MINORS:]]


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in label.lower())


@dataclass
class VersionRun:
    """One version's run: its command, where its output and report go, how it ended."""

    label: str
    reports: Path
    log: Path
    cluster_name: str | None = None
    context: str | None = None
    returncode: int | None = None
    started: float | None = None
    finished: float | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def folder(self) -> Path | None:
        """Its run folder (the one with summary.json), once the run wrote it."""
        found = sorted(self.reports.glob("*/summary.json"))
        return found[-1].parent if found else None

    def command(self, pytest_args: list[str], cluster: str, kubeconfig: str | None) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(SUITES),
            "-p",
            "no:cacheprovider",
            "--knative-version",
            self.label,
            "--reports-dir",
            str(self.reports),
            "--cluster",
            cluster,
        ]
        if self.cluster_name:
            command += ["--cluster-name", self.cluster_name]
        if self.context:
            command += ["--context", self.context]
        if kubeconfig:
            command += ["--kubeconfig", kubeconfig]
        return command + pytest_args


def plan_runs(
    versions: list[str],
    folder: Path,
    cluster: str,
    contexts: dict[str, str] | None = None,
) -> list[VersionRun]:
    """One run per version, in `folder`: kind clusters get names no other run (of this or
    another matrix) uses; an existing cluster's runs use the contexts given (see check_matrix)."""
    contexts = contexts or {}
    suffix = secrets.token_hex(2)
    return [
        VersionRun(
            label=version,
            reports=folder / _safe(version),
            log=folder / f"{_safe(version)}.log",
            cluster_name=f"cookbook14-{_safe(version)}-{suffix}" if cluster == "kind" else None,
            context=contexts.get(version),
        )
        for version in versions
    ]


def check_matrix(
    versions: list[str], cluster: str, contexts: dict[str, str], parallel: int
) -> None:
    """The matrix's options, refused before anything is made: at least one run at a time; an
    existing cluster needs a context for every version, and only for those."""
    if parallel < 1:
        raise UsageError(f"--parallel {parallel} must be a whole number of at least 1")
    if cluster == "existing":
        missing = [version for version in versions if version not in contexts]
        if missing:
            raise UsageError(
                "--cluster existing needs a context per version, e.g. --context "
                f"{missing[0]}=my-cluster; none given for {', '.join(missing)}"
            )
    unknown = sorted(set(contexts) - set(versions))
    if unknown:
        raise UsageError(f"--context given for {', '.join(unknown)}, which is not in --versions")


class MatrixRunner:
    """Runs the planned runs, at most `parallel` at a time, and stops them all on Ctrl-C."""

    def __init__(
        self,
        runs: list[VersionRun],
        pytest_args: list[str],
        cluster: str = "kind",
        kubeconfig: str | None = None,
        parallel: int = 1,
        say: Callable[[str], None] = print,
    ) -> None:
        self.runs = runs
        self.pytest_args = pytest_args
        self.cluster = cluster
        self.kubeconfig = kubeconfig
        self.parallel = parallel
        self._say = say
        self._saying = threading.Lock()
        self.interrupted = False
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def say(self, message: str) -> None:
        """One line at a time: the runs' threads report at once, and print() writes a line
        and its newline apart (two runs' lines came out run together)."""
        with self._saying:
            self._say(message)

    def run(self) -> bool:
        """True when every run ran to its end; False when interrupted (Ctrl-C or SIGTERM)."""
        if not SUITES.is_dir():
            raise UsageError(
                f"{SUITES} is missing: run cookbook14 matrix from a checkout of the harness"
            )
        previous = signal.signal(signal.SIGTERM, _interrupt)
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="matrix")
        try:
            futures = [pool.submit(self._one, run) for run in self.runs]
            pending = set(futures)
            while pending:
                # A timed wait, so that the main thread sees Ctrl-C while runs go on.
                _, pending = wait(pending, timeout=0.5)
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            self.interrupted = True
            self.say("interrupted: stopping every run (each deletes the cluster it created)")
            self._stop.set()
            self._forward_interrupt()
        finally:
            pool.shutdown(wait=True)
            signal.signal(signal.SIGTERM, previous)
            self._delete_leftover_clusters()
        return not self.interrupted

    def _one(self, run: VersionRun) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            run.reports.mkdir(parents=True, exist_ok=True)
            command = run.command(self.pytest_args, self.cluster, self.kubeconfig)
            log.info("starting %s", " ".join(command))
            run.started = time.monotonic()
            with run.log.open("wb") as output:
                run.process = subprocess.Popen(
                    command,
                    cwd=SUITES.parent,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        where = f"kind cluster {run.cluster_name}" if run.cluster_name else f"context {run.context}"
        self.say(f"[{run.label}] started on {where}; output in {run.log}")
        run.returncode = run.process.wait()
        run.finished = time.monotonic()
        self.say(
            f"[{run.label}] finished with exit status {run.returncode} in "
            f"{run.finished - run.started:.0f}s; report in {run.folder or run.reports}"
        )

    def _forward_interrupt(self) -> None:
        with self._lock:
            running = [r for r in self.runs if r.process and r.process.poll() is None]
        for run in running:
            run.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
        for run in running:
            try:
                run.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.say(
                    f"[{run.label}] did not stop within {INTERRUPT_GRACE_SECONDS:.0f}s; killed"
                )
                os.killpg(run.process.pid, signal.SIGKILL)
                run.process.wait()

    def _delete_leftover_clusters(self) -> None:
        """Clusters named for this matrix that still exist: a run could not delete its own."""
        names = [run.cluster_name for run in self.runs if run.cluster_name and run.started]
        if not names or ("--keep-cluster" in self.pytest_args and not self.interrupted):
            return
        kind = _kind_binary(self.pytest_args)
        if kind is None:
            return
        try:
            existing = subprocess.run(
                [kind, "get", "clusters"], capture_output=True, text=True, timeout=120
            ).stdout.split()
        except (OSError, subprocess.SubprocessError) as error:
            self.say(f"could not list kind clusters to clean up: {error}")
            return
        for name in names:
            if name in existing:
                self.say(f"deleting kind cluster {name}, left by its run")
                subprocess.run(
                    [kind, "delete", "cluster", "--name", name], capture_output=True, timeout=300
                )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _kind_binary(pytest_args: list[str]) -> str | None:
    """The kind the runs used: --kind-bin, else one the harness downloaded, else PATH's."""
    for index, arg in enumerate(pytest_args):
        if arg == "--kind-bin" and index + 1 < len(pytest_args):
            return pytest_args[index + 1]
        if arg.startswith("--kind-bin="):
            return arg.split("=", 1)[1]
    downloaded = sorted(
        path
        # kind/<version>/<source>/kind-<os>-<arch> (assets.cached_binary keeps one per source)
        for path in (default_cache_dir() / "kind").glob("*/*/kind-*")
        if path.is_file() and path.suffix not in (".sha256", ".part") and os.access(path, os.X_OK)
    )
    if downloaded:
        return str(downloaded[-1])
    return shutil.which("kind")
