"""Recipe 14.8, Install TriggerMesh event sources: triggermesh-crds.yaml and triggermesh.yaml
of TriggerMesh v1.26.0, then the kinds its API groups serve.

TriggerMesh is unmaintained (the company dissolved in late 2023) and its images may no longer
pull, so the step stops at what the book says to see, the kinds served; whether its controller
and webhook run is a check of its own that tells an image pull failure from other causes.

triggermesh.yaml also carries a ClusterRole `addressable-resolver`, a copy of Eventing's
aggregated role under the same name. The step does not apply it while Eventing's exists (see
`install`), and checks that Eventing's role still grants what it granted before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cookbook14.assets import fetch_text
from cookbook14.kube import Kube, load_documents
from cookbook14.plan import crds_established
from cookbook14.steps import StepContext
from cookbook14.waits import Observation, Progress, Watched, pod_summary, wait, wait_for

NAMESPACE = "triggermesh"
WORKLOADS = ("triggermesh-controller", "triggermesh-webhook")
RBAC = "rbac.authorization.k8s.io/v1"
ADDRESSABLE_RESOLVER = "addressable-resolver"
# Container waiting reasons of an image the runtime cannot pull (kubelet images/types.go).
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff")
UPSTREAM_STATE = (
    "TriggerMesh is unmaintained (the company dissolved in late 2023, last release v1.27.0 of "
    "2023-10) and its published images no longer pull"
)


def install(ctx: StepContext) -> dict:
    """Apply both release files (all but TriggerMesh's copy of Eventing's ClusterRole), wait
    for the CRDs, and count the kinds each TriggerMesh group serves."""
    resolver_before = ctx.kube.get(RBAC, "ClusterRole", ADDRESSABLE_RESOLVER)
    crds_per_group: Counter[str] = Counter()
    skipped: list[str] = []
    for item in ctx.step.applies:
        documents = list(item.documents) or load_documents(fetch_text(item.source), item.source)
        kept = []
        for doc in documents:
            if resolver_before is not None and _is_resolver(doc):
                # Server-side apply with force would take `rules` (an atomic list) and the
                # labels over from Eventing: rules empty until kube-controller-manager
                # aggregates them again, and the role marked as TriggerMesh's, which a later
                # `kubectl delete -f triggermesh.yaml` deletes. Without force it conflicts with
                # the aggregation controller. Eventing's role aggregates the same selector, so
                # TriggerMesh's addressable kinds reach it without this copy.
                skipped.append(
                    f"ClusterRole {ADDRESSABLE_RESOLVER} from {item.source}: Eventing's exists"
                )
                continue
            if doc.get("kind") == "CustomResourceDefinition":
                crds_per_group[doc["spec"]["group"]] += 1
            kept.append(doc)
        ctx.kube.apply(kept, item.namespace, wait_for_crds=lambda names: _established(ctx, names))
    served = {group: len(served_kinds(ctx.kube, group)) for group in sorted(crds_per_group)}
    for group, count in served.items():
        ctx.measure(f"kinds served by {group}", count, "kinds")
    return {
        "kinds_served": served,
        "crds_applied": dict(sorted(crds_per_group.items())),
        "skipped": skipped,
        "addressable_resolver_before": _role_essentials(resolver_before),
    }


def _is_resolver(doc: dict) -> bool:
    return (
        doc.get("kind") == "ClusterRole"
        and doc.get("metadata", {}).get("name") == ADDRESSABLE_RESOLVER
    )


def _established(ctx: StepContext, names: list[str]) -> None:
    for planned in crds_established(tuple(names), ctx.plan.deadlines):
        wait_for(ctx.kube, planned, ctx.progress)


def _role_essentials(role: dict | None) -> dict | None:
    if role is None:
        return None
    return {
        "labels": role["metadata"].get("labels") or {},
        "aggregationRule": role.get("aggregationRule"),
        "rules": role.get("rules") or [],
    }


def served_kinds(kube: Kube, group: str) -> set[str]:
    """The KIND column of `kubectl api-resources --api-group=<group>`."""
    return {row.kind for row in kube.api_resources(group)}


# -- the controller and webhook ------------------------------------------------------------


@dataclass(frozen=True)
class PullFailure:
    pod: str
    container: str
    image: str
    reason: str
    message: str

    def __str__(self) -> str:
        return f"pod {self.pod} container {self.container}: image {self.image}: {self.reason}" + (
            f" ({self.message})" if self.message else ""
        )


def pull_failures(pods: list[dict]) -> list[PullFailure]:
    """Containers of these pods waiting because their image does not pull."""
    found = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in PULL_FAILURES:
                found.append(
                    PullFailure(
                        pod["metadata"]["name"],
                        status["name"],
                        status.get("image", ""),
                        waiting["reason"],
                        waiting.get("message", ""),
                    )
                )
    return found


def _runs(pod: dict) -> bool:
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    return (
        status.get("phase") == "Running"
        and bool(statuses)
        and all(s.get("ready") for s in statuses)
    )


def wait_for_workloads(
    kube: Kube, timeout: float, progress: Progress | None = None
) -> list[PullFailure]:
    """Wait until each of TriggerMesh's controller and webhook either runs a pod or cannot pull
    its image; returns the pull failures ([] when both run). Any other cause ends in
    WaitTimeout with the pods' state and events."""

    def settled(pods: list[dict], workload: str) -> bool:
        own = [pod for pod in pods if pod["metadata"].get("labels", {}).get("app") == workload]
        return any(_runs(pod) for pod in own) or bool(pull_failures(own))

    def check(state: dict[str, dict]) -> Observation:
        pods = list(state.values())
        summary = ", ".join(pod_summary(pod) for pod in pods) or "no pods yet"
        return Observation(all(settled(pods, workload) for workload in WORKLOADS), summary)

    selector = f"app in ({','.join(WORKLOADS)})"
    state = wait(
        kube,
        Watched("v1", "Pod", NAMESPACE, label_selector=selector),
        check,
        timeout,
        f"each of {', '.join(WORKLOADS)} in namespace {NAMESPACE} to run a pod",
        progress,
    )
    return pull_failures(list(state.values()))


def pull_failure_reason(failures: list[PullFailure]) -> str:
    """One line for the expected failure and the upstream-health warning."""
    images = sorted({failure.image for failure in failures})
    return f"{UPSTREAM_STATE}: {', '.join(images)} cannot be pulled; " + "; ".join(
        str(failure) for failure in failures
    )


# -- Eventing's addressable-resolver -------------------------------------------------------


def rules_missing(granted_before: list[dict], role: dict | None) -> list[dict]:
    """Rules `granted_before` that `role` does not grant now (all of them if it is gone)."""
    now = (role or {}).get("rules") or []
    return [rule for rule in granted_before if rule not in now]


def wait_for_rules(
    kube: Kube, granted_before: list[dict], timeout: float, progress: Progress | None = None
) -> dict:
    """Wait until addressable-resolver grants every rule of `granted_before` again (its
    aggregation is refilled asynchronously after any change); returns the role."""

    def check(state: dict[str, dict]) -> Observation:
        role = next(iter(state.values()), None)
        missing = rules_missing(granted_before, role)
        if role is None:
            return Observation(False, "the ClusterRole does not exist")
        return Observation(not missing, f"{len(missing)} of {len(granted_before)} rules missing")

    state = wait(
        kube,
        Watched(RBAC, "ClusterRole", name=ADDRESSABLE_RESOLVER),
        check,
        timeout,
        f"ClusterRole {ADDRESSABLE_RESOLVER} to grant the {len(granted_before)} rules it "
        "granted before 14.8",
        progress,
    )
    return next(iter(state.values()))


def takeover_signs(before: dict, role: dict | None) -> list[str]:
    """How `role` differs from Eventing's addressable-resolver as it was before 14.8, in its
    labels and aggregation rule (its rules are checked on their own)."""
    if role is None:
        return ["the ClusterRole is gone"]
    labels = role["metadata"].get("labels") or {}
    signs = [
        f"label {key}: {before['labels'].get(key, '(none)')} -> {labels.get(key, '(none)')}"
        for key in sorted(set(labels) | set(before["labels"]))
        if labels.get(key) != before["labels"].get(key)
    ]
    if role.get("aggregationRule") != before["aggregationRule"]:
        signs.append(
            f"aggregationRule: {before['aggregationRule']} -> {role.get('aggregationRule')}"
        )
    return signs
