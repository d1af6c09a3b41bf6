"""One way to run the main job from the self-tests: `pytest suites/` in a subprocess against
the simulated cluster, as an existing cluster or through the kind provider with the doubles."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.sim.doubles import BIN_DIR

ROOT = Path(__file__).resolve().parent.parent


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
