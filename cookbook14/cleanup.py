"""--cleanup: remove from a cluster that outlives the run (an existing cluster, a reused or
kept kind cluster) what the run installed, and nothing that was there before it.

What the run installed is what its applies created: the API server answers a server-side apply
with 201 when it creates the object and 200 when the object was there, and Kube.applied keeps
that answer for every object the run applied. Objects go recipe by recipe from 14.8 back to
14.1, each recipe's newest first, and every deletion is awaited until the object is gone: its
finalizers have run (the operator finalizes a KnativeServing while it still runs, Eventing a
PingSource), its foreground dependents have gone, a namespace has terminated.

Left in place, each said in the report with its reason:
- what the run found: an object its first apply met already there (the user's, or a previous
  run's), with the fields the run applied to it. Server-side apply cannot give back a value it
  took over with force, and dropping the harness's fields could leave such an object invalid
  (a Deployment without its image), so it is not touched at all;
- Eventing's ClusterRole addressable-resolver, never deleted through TriggerMesh's manifest,
  which carries a copy of it under the same name (cookbook14.recipes.triggermesh).
Removed in addition: the CRDs the Knative Operator installed for a KnativeServing or
KnativeEventing the run created. The operator deletes everything else it installed when its CR
goes, but never CRDs (knative/operator common.Uninstall: mf.NoCRDs); they are told apart from
CRDs that were there before by their creationTimestamp (the API server's clock, as the CR's):
a *.knative.dev CRD created no earlier than that CR.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cookbook14.errors import HarnessError, KubeError
from cookbook14.kube import Applied, Kube, ObjectRef
from cookbook14.plan import Plan
from cookbook14.recipes.triggermesh import ADDRESSABLE_RESOLVER, RBAC
from cookbook14.steps import StepOutcome
from cookbook14.waits import Observation, Progress, Watched, conditions_of, wait

OPERATOR_CRS = {
    ("operator.knative.dev", "KnativeServing"),
    ("operator.knative.dev", "KnativeEventing"),
}
CRD_API = "apiextensions.k8s.io/v1"
KNATIVE_GROUP_SUFFIX = ".knative.dev"
# What a recipe's removal never deletes, with the reason the report gives.
NEVER_DELETED = {
    ("14.8", RBAC, "ClusterRole", ADDRESSABLE_RESOLVER): (
        "Eventing's aggregated ClusterRole has this name too: it is never deleted through "
        "TriggerMesh's manifest (Eventing's removal takes it)"
    ),
}
FOUND = (
    "it existed before the run (its first apply found it): left as it is, with the fields "
    "the run applied to it"
)
LEFT_BY_OPERATOR = (
    "installed by the Knative Operator for a KnativeServing/KnativeEventing this run created; "
    "the operator deletes all it installed but CRDs"
)
log = logging.getLogger(__name__)
# Where an applied object belongs when no step had started yet.
BEFORE_ANY_STEP = "run"


class _StopRequested(Exception):
    pass


@dataclass
class CleanupReport:
    """What --cleanup did, for summary.json: every object the run applied, in one of
    removed / already_gone / left (with why), and the error that stopped it, if any."""

    done: str = ""
    removed: list[dict] = field(default_factory=list)
    already_gone: list[dict] = field(default_factory=list)
    left: list[dict] = field(default_factory=list)
    error: str = ""


def clean_up(
    kube: Kube | None,
    plan: Plan,
    outcomes: Mapping[str, StepOutcome],
    cluster_deleted: bool,
    progress: Progress | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
) -> CleanupReport:
    """Remove what the run created, 14.8 back to 14.1; never raises. A failure, an interrupt,
    or `stop_requested()` turning true (a signal the session deferred; checked between
    deletions and at each progress report of a wait) stops it, and what is left is reported."""
    report = CleanupReport()
    if cluster_deleted:
        report.done = "not needed: the kind cluster this run created is deleted with the run"
        return report
    if kube is None or not kube.applied:
        report.done = "nothing to remove: the run applied nothing"
        return report
    created, found = split_applied(kube.applied)
    report.left += [
        {"recipe": recipe, "object": str(ref), "why": FOUND}
        for recipe, refs in by_step(found, outcomes).items()
        for ref in refs
    ]
    by_recipe = by_step(created, outcomes)
    pending = [
        (recipe, ref) for recipe in removal_order(by_recipe) for ref in reversed(by_recipe[recipe])
    ]
    operator_since: list[str] = []

    def say(message: str) -> None:
        # A wait reports progress every few seconds while it waits: the moment to notice a
        # stop request during a deletion that does not finish.
        if stop_requested():
            raise _StopRequested
        if progress:
            progress(message)

    try:
        _remove_all(kube, plan, pending, report, operator_since, say, stop_requested)
        left_by_operator = operator_crds(kube, operator_since, [r.ref for r in found])
        pending += [("14.1", ref) for ref in left_by_operator]
        _remove_all(kube, plan, pending, report, [], say, stop_requested)
        for entry in report.removed:
            if entry["object"] in {str(ref) for ref in left_by_operator}:
                entry["why"] = LEFT_BY_OPERATOR
        report.done = "complete"
    except HarnessError as error:
        where = pending[0][1] if pending else "the CRDs the Knative Operator left"
        report.error = f"cleanup stopped at {where}: {str(error).splitlines()[0]}"
        report.done = "incomplete"
    except (KeyboardInterrupt, _StopRequested):
        where = pending[0][1] if pending else "the CRDs the Knative Operator left"
        report.error = f"cleanup interrupted while removing {where}"
        report.done = "interrupted"
    report.left += [
        {"recipe": recipe, "object": str(ref), "why": report.error} for recipe, ref in pending
    ]
    return report


def _remove_all(
    kube: Kube,
    plan: Plan,
    pending: list[tuple[str, ObjectRef]],
    report: CleanupReport,
    operator_since: list[str],
    progress: Progress,
    stop_requested: Callable[[], bool],
) -> None:
    """Remove `pending` in order; what is removed leaves the list, the rest stays in it."""
    said = ""
    while pending:
        if stop_requested():
            raise _StopRequested
        recipe, ref = pending[0]
        if recipe != said:
            count = sum(1 for other, _ in pending if other == recipe)
            progress(f"cleanup: removing what {recipe} created ({count} objects)")
            said = recipe
        _remove_one(kube, plan, recipe, ref, report, operator_since, progress)
        pending.pop(0)


def split_applied(applied: list[Applied]) -> tuple[list[Applied], list[Applied]]:
    """The first apply of each object the run applied: those that created it, and those that
    found it there."""
    first: dict[ObjectRef, Applied] = {}
    for record in applied:
        first.setdefault(record.ref, record)
    created = [record for record in first.values() if record.created]
    found = [record for record in first.values() if not record.created]
    return created, found


def by_step(
    applied: list[Applied], outcomes: Mapping[str, StepOutcome]
) -> dict[str, list[ObjectRef]]:
    """Applied objects per recipe, oldest first: each belongs to the step that was running
    when it was applied, or whose checks were (the step started last before it)."""
    starts = sorted((outcome.started, recipe) for recipe, outcome in outcomes.items())
    grouped: dict[str, list[ObjectRef]] = {}
    for record in sorted(applied, key=lambda record: record.at):
        recipe = BEFORE_ANY_STEP
        for started, candidate in starts:
            if started and started <= record.at:
                recipe = candidate
        grouped.setdefault(recipe, []).append(record.ref)
    return grouped


def removal_order(by_recipe: Mapping[str, list[ObjectRef]]) -> list[str]:
    """14.8 back to 14.1 (what was applied outside any step first)."""

    def number(recipe: str) -> tuple[int, ...]:
        if recipe == BEFORE_ANY_STEP:
            return (1_000_000,)
        return tuple(int(part) for part in recipe.split("."))

    return sorted(by_recipe, key=number, reverse=True)


def _remove_one(
    kube: Kube,
    plan: Plan,
    recipe: str,
    ref: ObjectRef,
    report: CleanupReport,
    operator_since: list[str],
    progress: Progress | None,
) -> None:
    reason = NEVER_DELETED.get((recipe, ref.api_version, ref.kind, ref.name))
    if reason:
        report.left.append({"recipe": recipe, "object": str(ref), "why": reason})
        return
    if (ref.api_version.split("/")[0], ref.kind) in OPERATOR_CRS:
        live = _get(kube, ref)
        if live:
            operator_since.append(live["metadata"].get("creationTimestamp", ""))
    started = time.monotonic()
    if not _delete(kube, ref):
        report.already_gone.append({"recipe": recipe, "object": str(ref)})
        return
    log.info("cleanup %s: deleting %s", recipe, ref)
    deadline = plan.deadlines["namespace_deleted" if ref.kind == "Namespace" else "object_deleted"]
    wait(
        kube,
        Watched(ref.api_version, ref.kind, ref.namespace, ref.name),
        _gone,
        deadline,
        f"{ref} to be deleted",
        progress,
    )
    report.removed.append(
        {"recipe": recipe, "object": str(ref), "seconds": round(time.monotonic() - started, 1)}
    )


def _delete(kube: Kube, ref: ObjectRef) -> bool:
    """Delete (foreground); False when it is not there, or its kind is no longer served."""
    try:
        return kube.delete(ref.api_version, ref.kind, ref.name, ref.namespace)
    except KubeError as error:
        if error.status == 404:
            return False
        raise


def _get(kube: Kube, ref: ObjectRef) -> dict | None:
    try:
        return kube.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    except KubeError as error:
        if error.status == 404:
            return None
        raise


def _gone(state: dict[str, dict]) -> Observation:
    if not state:
        return Observation(True, "gone")
    obj = next(iter(state.values()))
    meta = obj.get("metadata", {})
    summary = "terminating" if meta.get("deletionTimestamp") else "not marked for deletion"
    if meta.get("finalizers"):
        summary += f", finalizers: {', '.join(meta['finalizers'])}"
    return Observation(False, summary, conditions_of(obj))


def operator_crds(kube: Kube, since: list[str], found: list[ObjectRef]) -> list[ObjectRef]:
    """The *.knative.dev CRDs the Knative Operator installed for the CRs the run created (and
    left when they went): created no earlier than the first of them, and not found by the run."""
    if not since:
        return []
    earliest = min(since)
    crds, _ = kube.list(CRD_API, "CustomResourceDefinition")
    refs = [
        ObjectRef(CRD_API, "CustomResourceDefinition", crd["metadata"]["name"])
        for crd in crds
        if crd["spec"]["group"].endswith(KNATIVE_GROUP_SUFFIX)
        and crd["metadata"].get("creationTimestamp", "") >= earliest
    ]
    return [ref for ref in refs if ref not in found]
