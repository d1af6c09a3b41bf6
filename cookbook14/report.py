"""The run's report: summary.json, built from recorded outcomes and facts, never from logs.

One file per run answers: which harness, which versions were asked for and which were found on
the cluster, what each recipe did (outcome, duration, its checks, the evidence of failures),
what was measured, and where the run deviated from the book.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cookbook14 import __version__
from cookbook14.assets import PROVENANCE, Provenance
from cookbook14.outcomes import Status, StepOutcome
from cookbook14.plan import Plan
from cookbook14.timestamps import utc_iso

SCHEMA = 1


@dataclass
class CheckResult:
    """One test: a "should see" of the book."""

    name: str
    recipe: str
    outcome: str  # passed | failed | error | skipped | xfailed (a known upstream problem)
    duration_s: float
    message: str = ""


@dataclass
class Measurement:
    recipe: str
    name: str
    value: float
    unit: str


@dataclass
class RunReport:
    run_id: str
    folder: Path
    plan: Plan
    started: float = field(default_factory=time.time)
    checks: list[CheckResult] = field(default_factory=list)
    steps: dict[str, StepOutcome] = field(default_factory=dict)
    cluster: dict = field(default_factory=dict)
    found: dict = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    junit: Path | None = None
    # The signals (SIGINT, SIGTERM) that interrupted the run, in the order they came.
    interrupted_by: list[str] = field(default_factory=list)
    # The release assets the run read (URL, sha256) and their drift since earlier runs.
    provenance: Provenance = field(default_factory=lambda: PROVENANCE)
    # The failed step that blocks a recipe (from the step runner), if any.
    blocker: Callable[[str], StepOutcome | None] = field(default=lambda recipe: None)

    def record_step(self, outcome: StepOutcome) -> None:
        self.steps[outcome.recipe] = outcome
        if outcome.status is Status.FAILED:
            (self.folder / "evidence").mkdir(parents=True, exist_ok=True)
            text = f"step {outcome.recipe} ({outcome.title}) failed:\n{outcome.error}\n"
            if outcome.cluster_evidence:
                text += f"\n{outcome.cluster_evidence}\n"
            (self.folder / "evidence" / f"{outcome.recipe}.txt").write_text(text)

    def record_check_evidence(self, recipe: str, check: str, text: str) -> Path:
        """The cluster's state when a check failed, in evidence/<recipe>-<check>.txt."""
        folder = self.folder / "evidence"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{recipe}-{check}.txt"
        path.write_text(text + "\n")
        return path

    def measure(self, recipe: str, name: str, value: float, unit: str) -> None:
        self.measurements.append(Measurement(recipe, name, value, unit))

    def recipe_outcome(self, recipe: str) -> str:
        checks = [c for c in self.checks if c.recipe == recipe]
        step = self.steps.get(recipe)
        # A blocked recipe's only failed check is the one that carried the root step's failure
        # (when the root's own checks were not selected): the recipe itself is blocked.
        if step and step.status is Status.BLOCKED:
            return "blocked"
        if any(c.outcome in ("failed", "error") for c in checks) or (
            step and step.status is Status.FAILED
        ):
            return "failed"
        if step and step.status is Status.INTERRUPTED:
            return "interrupted"
        if not checks:
            return "not_run"
        # An expected failure names a known upstream problem the recipe's verdict does not rest on.
        if all(c.outcome in ("passed", "xfailed") for c in checks):
            return "passed"
        if any(c.message.startswith("blocked by") for c in checks):
            return "blocked"
        if all(c.outcome == "skipped" for c in checks):
            if (
                step is None
                or step.status is Status.NOT_IMPLEMENTED
                or all(c.message.startswith("not implemented") for c in checks)
            ):
                return "not_implemented"
            return "skipped"
        return "incomplete"

    def to_dict(self, exit_status: int | None = None) -> dict:
        finished = time.time()
        recipes = []
        for step in self.plan.steps:
            checks = [c for c in self.checks if c.recipe == step.recipe]
            outcome = self.steps.get(step.recipe)
            blocker = self.blocker(step.recipe)
            install = outcome.duration if outcome else 0.0
            recipes.append(
                {
                    "id": step.recipe,
                    "title": step.title,
                    "outcome": self.recipe_outcome(step.recipe),
                    "duration_s": round(install + sum(c.duration_s for c in checks), 3),
                    "blocked_by": blocker.recipe if blocker else None,
                    "step": outcome.to_dict() if outcome else None,
                    "checks": [asdict(c) for c in checks],
                }
            )
        return {
            "schema": SCHEMA,
            "harness": {"name": "cookbook14", "version": __version__},
            "run": {
                "id": self.run_id,
                "started": utc_iso(self.started),
                "finished": utc_iso(finished),
                "duration_s": round(finished - self.started, 3),
                "exit_status": exit_status,
                "interrupted_by": self.interrupted_by,
            },
            "knative": {
                "requested": self.plan.release.requested,
                "planned": self.plan.release.to_dict(),
            },
            "found": self.found,
            "junit": str(self.junit) if self.junit else None,
            "cluster": self.cluster,
            "recipes": recipes,
            "measurements": [asdict(m) for m in self.measurements],
            "deviations": [asdict(d) for d in self.plan.deviations],
            "assets": [asdict(f) for f in self.provenance.fetched],
            "warnings": [*self.plan.warnings, *self.warnings, *self.provenance.warnings],
        }

    def write(self, exit_status: int | None = None) -> Path:
        """summary.json, replaced whole: an interrupted write leaves the previous one (or
        none), never half a file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "summary.json"
        partial = path.with_name(f".{path.name}.part")
        try:
            partial.write_text(json.dumps(self.to_dict(exit_status), indent=2) + "\n")
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path


def new_folder(parent: Path, name: str) -> Path:
    """A folder of its own below `parent`: `name`, else `name-2`, `name-3`... Made here, so
    that two runs starting in the same second never share one."""
    parent.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:
        folder = parent / (name if suffix == 1 else f"{name}-{suffix}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            suffix += 1
