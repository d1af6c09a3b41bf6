"""What became of a recipe's step: a plain value, read by the report without the cluster
machinery of cookbook14.steps (so that `--plan` never imports the Kubernetes client)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    BLOCKED = "blocked"
    NOT_IMPLEMENTED = "not_implemented"
    INTERRUPTED = "interrupted"


@dataclass
class StepOutcome:
    recipe: str
    title: str
    status: Status
    started: float = 0.0
    finished: float = 0.0
    error: str = ""
    evidence: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    blocked_by: str = ""
    # The cluster's account of a failure (objects, events, pods, logs), read before cleanup.
    cluster_evidence: str = ""
    # Whether a test has shown this failure yet; the first test to meet it reports it.
    reported: bool = False

    @property
    def duration(self) -> float:
        return max(0.0, self.finished - self.started)

    def headline(self) -> str:
        first = self.error.splitlines()[0] if self.error else ""
        return f"step {self.recipe} ({self.title}) failed: {first}"

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe,
            "title": self.title,
            "status": self.status.value,
            "duration_s": round(self.duration, 3),
            "error": self.error,
            "evidence": self.evidence,
            "facts": self.facts,
            "blocked_by": self.blocked_by,
        }
