"""Recipe 14.7, Enable more event sources: the book's KnativeEventing with
`spec.source.github.enabled: true` applied over 14.5's. The operator then installs the GitHub
source into the CR's namespace: the CR goes NotReady while `github-webhook` starts and Ready
again, and `githubsources` (sources.knative.dev/v1alpha1) is served.
"""

from __future__ import annotations

from cookbook14.kube import ApiResource, Kube
from cookbook14.steps import StepContext
from cookbook14.waits import Observation, Watched, condition_is_true, wait, wait_for

SOURCES_GROUP = "sources.knative.dev"
NOT_APPLICABLE = (
    "not applicable with --install-method yaml: 14.7 updates the KnativeEventing, and Eventing "
    "installed from its release files has none (no operator installs the GitHub source)"
)


def install(ctx: StepContext) -> dict:
    """Apply the GitHub-enabled KnativeEventing and follow its Ready through the change."""
    if ctx.step.method == "yaml":
        return {"not_applicable": NOT_APPLICABLE}
    ready_wait, *other_waits = ctx.step.waits
    before = ctx.kube.get(
        ready_wait.api_version, ready_wait.kind, ready_wait.name, ready_wait.namespace
    )
    for item in ctx.step.applies:
        ctx.kube.apply(item.documents, item.namespace)
    # A wait that stops at the first Ready=True could see the stale True of the old spec:
    # condition_is_true waits for observedGeneration to catch up, and every Ready seen on
    # the way is recorded, so the NotReady in between is on record too.
    sequence: list[dict] = []
    ready = condition_is_true("Ready")

    def check(state: dict[str, dict]) -> Observation:
        for obj in state.values():
            seen = ready_state(obj)
            if not sequence or sequence[-1] != seen:
                sequence.append(seen)
        return ready(state)

    watched = Watched(
        ready_wait.api_version, ready_wait.kind, ready_wait.namespace, ready_wait.name
    )
    state = wait(ctx.kube, watched, check, ready_wait.timeout, ready_wait.describe(), ctx.progress)
    for planned in other_waits:
        wait_for(ctx.kube, planned, ctx.progress)
    after = next(iter(state.values()))
    return {
        "generation_before": (before or {}).get("metadata", {}).get("generation"),
        "generation_after": after["metadata"].get("generation"),
        "ready_sequence": sequence,
    }


def ready_state(obj: dict) -> dict:
    """The CR's Ready as `kubectl get knativeeventing -w` shows it, with the generation its
    status describes."""
    status = obj.get("status") or {}
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    return {
        "generation": obj["metadata"].get("generation"),
        "observed_generation": status.get("observedGeneration"),
        "ready": condition.get("status", "(none)"),
        "reason": condition.get("reason", ""),
        "message": condition.get("message", ""),
    }


def went_not_ready_then_ready(sequence: list[dict], generation: int) -> bool:
    """Whether, for `generation`, Ready was seen not True and then True (last)."""
    current = [s for s in sequence if s["observed_generation"] == generation]
    return (
        bool(current)
        and current[-1]["ready"] == "True"
        and any(s["ready"] != "True" for s in current[:-1])
    )


def served_sources(kube: Kube) -> dict[str, ApiResource]:
    """`kubectl api-resources --api-group=sources.knative.dev`, by kind."""
    return {row.kind: row for row in kube.api_resources(SOURCES_GROUP)}
