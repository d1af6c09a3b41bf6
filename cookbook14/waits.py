"""The one wait primitive: list, then watch from that resourceVersion, with a deadline.

A wait keeps the current state of the watched objects, asks a check what it sees after every
event, reports progress while it waits, resumes dropped watches from the last
resourceVersion, re-lists after 410 Gone, and on its deadline raises WaitTimeout with the last
observation, conditions and the cluster's events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cookbook14.errors import Condition, Evidence, HarnessError, KubeError, WaitTimeout
from cookbook14.kube import UNREACHABLE, Kube
from cookbook14.plan import WaitFor

# A wait says nothing for its first QUIET_PERIOD seconds; then it reports every change and
# at least every PROGRESS_INTERVAL seconds (watches are cut into slices that long).
QUIET_PERIOD = 2.0
PROGRESS_INTERVAL = 10.0
# Backoff when the API server fails a watch (5xx, connection refused).
FIRST_BACKOFF = 0.2
MAX_BACKOFF = 5.0
# Of many objects not yet ready, a progress line names this many.
WAITING_SHOWN = 3
log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class Observation:
    """What a check saw: whether the wait is over, and what to say about it."""

    done: bool
    summary: str
    conditions: list[Condition] = field(default_factory=list)


Check = Callable[[dict[str, dict]], Observation]


@dataclass(frozen=True)
class Watched:
    """Which objects a wait follows."""

    api_version: str
    kind: str
    namespace: str | None = None
    name: str | None = None
    label_selector: str | None = None

    @property
    def field_selector(self) -> str | None:
        return f"metadata.name={self.name}" if self.name else None


def wait(
    kube: Kube,
    watched: Watched,
    check: Check,
    timeout: float,
    what: str,
    progress: Progress | None = None,
) -> dict[str, dict]:
    """Block until `check` says done for the watched objects; return them."""
    started = time.monotonic()
    deadline = started + timeout
    state, resource_version = _list(kube, watched)
    observation = check(state)
    speaker = _Speaker(what, timeout, started, progress)
    backoff = FIRST_BACKOFF
    log.info("waiting up to %.0fs for %s", timeout, what)
    while not observation.done:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if kube.silence():
                # What was last seen is stale, and there is no one to ask for evidence.
                raise kube.unreachable(f"wait for {what}")
            raise WaitTimeout(
                what, time.monotonic() - started, _evidence(kube, watched, state, observation)
            )
        unreachable = ""
        try:
            for event_type, obj in kube.watch(
                watched.api_version,
                watched.kind,
                resource_version,
                timeout=min(remaining, speaker.next_report_in()),
                namespace=watched.namespace,
                label_selector=watched.label_selector,
                field_selector=watched.field_selector,
            ):
                resource_version = obj.get("metadata", {}).get("resourceVersion", resource_version)
                if event_type == "BOOKMARK":
                    continue
                key = _key(obj)
                if event_type == "DELETED":
                    state.pop(key, None)
                else:
                    state[key] = obj
                observation = check(state)
                if observation.done or time.monotonic() >= deadline:
                    break
                speaker.report(observation.summary)
        except KubeError as error:
            if error.reason == UNREACHABLE:
                raise kube.unreachable(f"wait for {what}") from None
            if error.status == 410:
                log.info("waiting for %s: the watch expired (410 Gone); listing again", what)
                state, resource_version = _list(kube, watched)
                observation = check(state)
            elif error.transient:
                # Kept a sleep, not a watch: the watch itself is what failed (5xx, no
                # connection), so nothing can be watched until the server answers again;
                # bounded by the wait's deadline and the API's silence limit.
                log.info("waiting for %s: %s; retrying in %.1fs", what, error, backoff)
                silence = kube.silence()
                if silence:
                    unreachable = f"the API is unreachable: {silence}"
                time.sleep(min(backoff, max(0.0, deadline - time.monotonic())))
                backoff = min(backoff * 2, MAX_BACKOFF)
            else:
                raise
        else:
            backoff = FIRST_BACKOFF
        if not observation.done:
            speaker.report(unreachable or observation.summary)
    speaker.finished()
    log.info("done: %s after %.1fs", what, time.monotonic() - started)
    return state


class _Speaker:
    """Progress for a person: quiet for short waits; for long ones, what is awaited, for how
    long so far, and what is seen, on every change and at least every PROGRESS_INTERVAL."""

    def __init__(
        self, what: str, timeout: float, started: float, progress: Progress | None
    ) -> None:
        self.what, self.timeout, self.started, self.progress = what, timeout, started, progress
        self.said_at: float | None = None
        self.said = ""

    def next_report_in(self) -> float:
        if self.progress is None:
            return PROGRESS_INTERVAL
        if self.said_at is None:
            return max(1.0, QUIET_PERIOD - (time.monotonic() - self.started))
        return PROGRESS_INTERVAL

    def report(self, summary: str) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if self.progress is None or elapsed < QUIET_PERIOD:
            return
        if summary != self.said or self.said_at is None or now - self.said_at >= PROGRESS_INTERVAL:
            self.progress(
                f"waiting for {self.what} ({elapsed:.0f}s of {self.timeout:.0f}s): {summary}"
            )
            self.said_at, self.said = now, summary

    def finished(self) -> None:
        if self.progress and self.said_at is not None:
            self.progress(f"done: {self.what} after {time.monotonic() - self.started:.0f}s")


def wait_for(kube: Kube, spec: WaitFor, progress: Progress | None = None) -> dict[str, dict]:
    """Carry out one planned wait."""
    watched = Watched(spec.api_version, spec.kind, spec.namespace, spec.name, spec.selector)
    if spec.until.startswith("condition:"):
        check = condition_is_true(spec.until.split(":", 1)[1], spec.count)
    elif spec.until == "available":
        check = workload_available
    elif spec.until.startswith("pods:"):
        check = pods_running(int(spec.until.split(":", 1)[1]))
    else:
        raise ValueError(f"unknown wait {spec.until!r}")
    return wait(kube, watched, check, spec.timeout, spec.describe(), progress)


# -- checks ------------------------------------------------------------------------------


def conditions_of(obj: dict) -> list[Condition]:
    return [Condition.from_dict(raw) for raw in obj.get("status", {}).get("conditions") or []]


def condition_is_true(condition_type: str, count: int = 1) -> Check:
    """At least `count` objects, and every one of them with the condition True at its current
    generation (a wait on a label selector means all it picks, not the first)."""

    def check(state: dict[str, dict]) -> Observation:
        if not state:
            return Observation(False, "not found yet" if count == 1 else f"none of {count} yet")
        seen = {key: _has_condition(obj, condition_type) for key, obj in state.items()}
        if len(seen) == 1 and count == 1:
            return next(iter(seen.values()))
        waiting = {key: o for key, o in seen.items() if not o.done}
        if not waiting and len(state) >= count:
            return Observation(True, f"all {len(state)} with {condition_type}=True")
        summary = f"{len(state) - len(waiting)}/{len(state)} with {condition_type}=True"
        if len(state) < count:
            summary += f" ({len(state)} of at least {count} found)"
        shown = list(waiting.items())[:WAITING_SHOWN]
        summary += "".join(f"; {key.strip('/')}: {o.summary}" for key, o in shown)
        if len(waiting) > len(shown):
            summary += f"; and {len(waiting) - len(shown)} more"
        return Observation(False, summary, [c for _, o in shown for c in o.conditions])

    return check


def _has_condition(obj: dict, condition_type: str) -> Observation:
    conditions = conditions_of(obj)
    match = next((c for c in conditions if c.type == condition_type), None)
    if match is None:
        return Observation(False, f"no {condition_type} condition yet", conditions)
    # A condition describes the spec its controller last saw; after a change it is stale
    # until observedGeneration catches up.
    observed = obj.get("status", {}).get("observedGeneration")
    generation = obj["metadata"].get("generation")
    if observed is not None and generation is not None and observed < generation:
        return Observation(
            False, f"{match}, but for generation {observed} of {generation}", conditions
        )
    return Observation(match.status == "True", str(match), conditions)


def workload_available(state: dict[str, dict]) -> Observation:
    """A Deployment with Available=True and every replica available, or a StatefulSet with
    every replica ready, at its current generation."""
    if not state:
        return Observation(False, "not found yet")
    obj = next(iter(state.values()))
    spec, status = obj.get("spec", {}), obj.get("status", {})
    wanted = spec.get("replicas", 1)
    current = status.get("observedGeneration", 0) >= obj["metadata"].get("generation", 0)
    conditions = conditions_of(obj)
    if obj["kind"] == "StatefulSet":
        ready = status.get("readyReplicas", 0)
        updated = status.get("updatedReplicas", ready)
        done = current and ready >= wanted and updated >= wanted
        return Observation(done, f"{ready}/{wanted} ready, {updated} updated", conditions)
    available = status.get("availableReplicas", 0)
    flag = next((c for c in conditions if c.type == "Available"), None)
    summary = f"{available}/{wanted} available" + (f", {flag}" if flag else "")
    done = current and flag is not None and flag.status == "True" and available >= wanted
    return Observation(done, summary, conditions)


def pods_running(count: int) -> Check:
    """Exactly `count` pods Running with every container ready (0: all pods gone)."""

    def check(state: dict[str, dict]) -> Observation:
        ready = [pod for pod in state.values() if _pod_ready(pod)]
        described = ", ".join(pod_summary(pod) for pod in state.values()) or "no pods"
        return Observation(len(ready) == count == len(state), described)

    return check


def _pod_ready(pod: dict) -> bool:
    status = pod.get("status", {})
    statuses = status.get("containerStatuses") or []
    return (
        status.get("phase") == "Running"
        and bool(statuses)
        and all(s.get("ready") for s in statuses)
    )


def pod_summary(pod: dict) -> str:
    """`<name> <ready>/<containers> <phase> [<waiting reasons>]`, as kubectl get pods shows it."""
    status = pod.get("status", {})
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    waiting = [
        s["state"]["waiting"].get("reason", "")
        for s in statuses
        if s.get("state", {}).get("waiting")
    ]
    reason = f" {','.join(waiting)}" if waiting else ""
    return f"{pod['metadata']['name']} {ready}/{len(statuses)} {status.get('phase', 'Unknown')}{reason}"


# -- plumbing ----------------------------------------------------------------------------


def _key(obj: dict) -> str:
    meta = obj.get("metadata", {})
    return f"{meta.get('namespace') or ''}/{meta.get('name')}"


def _list(kube: Kube, watched: Watched) -> tuple[dict[str, dict], str]:
    items, resource_version = kube.list(
        watched.api_version,
        watched.kind,
        watched.namespace,
        label_selector=watched.label_selector,
        field_selector=watched.field_selector,
    )
    return {_key(item): item for item in items}, resource_version


def _evidence(kube: Kube, watched: Watched, state: dict[str, dict], seen: Observation) -> Evidence:
    """The cluster's own account of why the wait did not end: events of the watched objects
    and, for workloads, the state and events of their pods."""
    evidence = Evidence(observed=[seen.summary], conditions=seen.conditions)
    try:
        _gather(kube, watched, state, evidence)
    except HarnessError as error:
        evidence.observed.append(f"(could not collect more evidence: {error})")
    return evidence


def _gather(kube: Kube, watched: Watched, state: dict[str, dict], evidence: Evidence) -> None:
    names = [obj["metadata"]["name"] for obj in state.values()]
    if not names and watched.name:
        names = [watched.name]
    for name in names:
        evidence.events += kube.events(watched.namespace, name, watched.kind)
    for obj in state.values():
        selector = obj.get("spec", {}).get("selector", {}).get("matchLabels")
        if obj.get("kind") in ("Deployment", "StatefulSet") and selector:
            label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
            pods, _ = kube.list("v1", "Pod", watched.namespace, label_selector=label_selector)
            for pod in pods:
                evidence.observed.append(pod_summary(pod))
                evidence.events += kube.events(watched.namespace, pod["metadata"]["name"], "Pod")
    if not names:
        # Nothing to name yet (no pod was ever made): the namespace's events may say why.
        evidence.events += kube.events(watched.namespace)
