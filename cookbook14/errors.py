"""Errors that carry what a person needs to act on them.

Every error of the harness renders as sentences: which option or object, what was wrong,
what is accepted, and (for waits) the cluster's own evidence. The plugin prints them without
a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class HarnessError(Exception):
    """An error the user can act on; its message is complete on its own."""


class UsageError(HarnessError):
    """A command-line option has a value the harness cannot use."""


class ToolError(HarnessError):
    """A tool the harness runs (docker, kind, kn) is missing, too old or failed."""


class AssetError(HarnessError):
    """A release asset could not be fetched or did not verify."""


class KubeError(HarnessError):
    """The Kubernetes API refused a request (4xx) or kept failing (5xx)."""

    def __init__(
        self, message: str, status: int | None = None, reason: str = "", transient: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""

    def __str__(self) -> str:
        text = f"{self.type}={self.status}"
        if self.reason:
            text += f" ({self.reason})"
        if self.message:
            text += f": {self.message}"
        return text

    @classmethod
    def from_dict(cls, raw: dict) -> Condition:
        return cls(
            type=str(raw.get("type", "")),
            status=str(raw.get("status", "")),
            reason=str(raw.get("reason") or ""),
            message=str(raw.get("message") or ""),
        )


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    object: str
    message: str
    count: int = 1

    def __str__(self) -> str:
        times = f" (x{self.count})" if self.count > 1 else ""
        return f"{self.type} {self.reason} {self.object}: {self.message}{times}"


@dataclass
class Evidence:
    """What the cluster showed when something did not happen."""

    observed: list[str] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def render(self) -> str:
        lines: list[str] = []
        if self.observed:
            lines.append("last seen:")
            lines += [f"  {line}" for line in self.observed]
        if self.conditions:
            lines.append("last conditions:")
            lines += [f"  {condition}" for condition in self.conditions]
        if self.events:
            lines.append("events:")
            lines += [f"  {event}" for event in self.events]
        else:
            lines.append("events: none")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "observed": self.observed,
            "conditions": [vars(c) for c in self.conditions],
            "events": [vars(e) for e in self.events],
        }


class WaitTimeout(HarnessError):
    """A wait reached its deadline; carries what was awaited and what was seen."""

    def __init__(self, what: str, waited: float, evidence: Evidence) -> None:
        self.what = what
        self.waited = waited
        self.evidence = evidence
        super().__init__(
            f"timed out after {waited:.0f}s waiting for {what}\n{evidence.render()}".rstrip()
        )
