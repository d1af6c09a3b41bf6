"""Speed figures of the harness and of the simulated cluster, printed, never asserted.

    .venv/bin/python benchmarks/speed.py [--runs N]

- simulated cluster start-up (`python -m tests.sim` until its JSON line), goal: under 3 s;
- `pytest suites/` (the whole chapter, 14.1-14.8 and the end-of-chapter checks) against the
  simulated cluster at its default time scale (a real minute lasts 3 s), goal: under 60 s,
  with each recipe's duration and outcome from the run's summary.json. Kourier gets a load
  balancer address (a loopback one), so the book's serving-default-domain Job runs and gives
  the ksvcs a domain, as on a cloud cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_simulated_cluster(folder: Path) -> tuple[subprocess.Popen, dict, float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sim",
            "--kubeconfig",
            str(folder / "kubeconfig"),
            "--load-balancer-ip",
            "127.0.0.2",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SIM_FAULTS": ""},
    )
    ready = json.loads(process.stdout.readline())
    return process, ready, time.monotonic() - started


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def startup_figures(runs: int) -> list[float]:
    figures = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            process, _, seconds = start_simulated_cluster(Path(folder))
            stop(process)
            figures.append(seconds)
    return figures


def suites_figures() -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as folder:
        process, ready, _ = start_simulated_cluster(Path(folder))
        try:
            started = time.monotonic()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "suites/",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "--cluster",
                    "existing",
                    "--kubeconfig",
                    ready["kubeconfig"],
                    "--release-mirror",
                    ready["release_mirror"],
                    "--ingress-endpoint",
                    ready["ingress_endpoint"],
                    "--reports-dir",
                    str(Path(folder) / "reports"),
                ],
                cwd=ROOT,
                capture_output=True,
                check=False,
            )
            seconds = time.monotonic() - started
            summary = json.loads(next(Path(folder).glob("reports/*/summary.json")).read_text())
        finally:
            stop(process)
    return seconds, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="start-ups to measure (default 5)")
    runs = parser.parse_args().runs
    startups = startup_figures(runs)
    print(
        f"simulated cluster start-up over {runs} runs: median {statistics.median(startups):.2f} s, "
        f"max {max(startups):.2f} s (goal: under 3 s)"
    )
    seconds, summary = suites_figures()
    print(
        f"pytest suites/ (whole chapter) against the simulated cluster: {seconds:.1f} s "
        f"(goal: under 60 s), exit status {summary['run']['exit_status']}"
    )
    for recipe in summary["recipes"]:
        print(
            f"  {recipe['id']} {recipe['title']:<36} {recipe['outcome']:<16} {recipe['duration_s']:.2f} s"
        )


if __name__ == "__main__":
    main()
