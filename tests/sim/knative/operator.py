"""The Knative Operator stand-in: KnativeServing and KnativeEventing (operator.knative.dev/v1beta1).

Follows knative/operator@release-1.11:
- `pkg/apis/operator/v1beta1/knativeserving_lifecycle.go` / `knativeeventing_lifecycle.go`
  (conditions DependenciesInstalled, DeploymentsAvailable, InstallSucceeded,
  VersionMigrationEligible -> Ready; reasons Error/NotReady/Installing and their messages),
- `pkg/reconciler/common/releases.go` (which versions the release carries, the error
  "the manifests of the target version %v are not available to this release"),
- `pkg/reconciler/common/deployments.go` ("Waiting on deployments: %s", manifest order),
- `pkg/reconciler/common/config_maps.go` (`spec.config.<name>` -> ConfigMap `config-<name>`,
  re-applied on every reconcile so manual edits are overwritten),
- `pkg/reconciler/knativeserving/ingress/` (Kourier into the CR's namespace; no
  `spec.ingress` means Istio),
- `pkg/reconciler/knativeeventing/source/` (`spec.source.github.enabled`),
- `pkg/reconciler/common/finalizer` behaviour: deleting the CR deletes what it installed,
  except CRDs and Namespaces (`mf.NoCRDs`).

Nothing happens until the `knative-operator` Deployment exists and is Available.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.sim import faults
from tests.sim.knative import webhooks
from tests.sim.kube_controllers import (
    UNPULLABLE_DIGEST,
    ReconcileLoop,
    is_true,
    set_condition,
    write_status_if_changed,
)
from tests.sim.mirror import eventing, knative_core

Obj = dict[str, Any]
Ref = tuple[str, str, str, str | None]  # apiVersion, kind, name, namespace

OPERATOR_API = "operator.knative.dev/v1beta1"
KO_DATA = "/var/run/ko"
# Real-world seconds from a CR's deletion until its finalizer is done: the reconciler picks it
# up from its workqueue and manifestival deletes the installed objects one request at a time.
FINALIZE_SECONDS = 5.0
# How often (real seconds) the full manifest is re-applied when nothing changed.
REAPPLY_SECONDS = 1.0

# Newest upstream patch per minor (knative-facts.md, "Versions").
NEWEST_PATCH = {
    "serving": {
        11: 6,
        12: 4,
        13: 2,
        14: 2,
        15: 3,
        16: 3,
        17: 2,
        18: 2,
        19: 9,
        20: 3,
        21: 3,
        22: 1,
        23: 0,
    },
    "eventing": {
        11: 11,
        12: 6,
        13: 8,
        14: 7,
        15: 5,
        16: 7,
        17: 6,
        18: 4,
        19: 8,
        20: 3,
        21: 4,
        22: 2,
        23: 0,
    },
    "kourier": {
        11: 6,
        12: 3,
        13: 0,
        14: 0,
        15: 1,
        16: 0,
        17: 0,
        18: 0,
        19: 6,
        20: 1,
        21: 1,
        22: 1,
        23: 0,
    },
}
# Operator releases whose kodata is known exactly: the newest serving / eventing / kourier in
# its cmd/operator/kodata (what a CR without spec.version gets; knative-facts.md, version
# table, last column). 1.11.4 is the book's operator (`kubectl get knativeserving` shows
# 1.11.0); it bundles Kourier 1.11.1. The sim's own table: never read from the harness's
# catalog, so that the two can disagree.
KNOWN_KODATA = {
    "1.11.4": {"serving": "1.11.0", "eventing": "1.11.1", "kourier": "1.11.1"},
    "1.11.12": {"serving": "1.11.5", "eventing": "1.11.8", "kourier": "1.11.5"},
    "1.12.5": {"serving": "1.12.4", "eventing": "1.12.6", "kourier": "1.12.3"},
    "1.13.3": {"serving": "1.13.1", "eventing": "1.13.3", "kourier": "1.13.0"},
    "1.14.9": {"serving": "1.14.1", "eventing": "1.14.6", "kourier": "1.14.0"},
    "1.15.10": {"serving": "1.15.3", "eventing": "1.15.5", "kourier": "1.15.1"},
    "1.16.6": {"serving": "1.16.3", "eventing": "1.16.7", "kourier": "1.16.0"},
    "1.17.8": {"serving": "1.17.1", "eventing": "1.17.5", "kourier": "1.17.0"},
    "1.18.3": {"serving": "1.18.2", "eventing": "1.18.4", "kourier": "1.18.0"},
    "1.19.6": {"serving": "1.19.8", "eventing": "1.19.8", "kourier": "1.19.6"},
    "1.20.2": {"serving": "1.20.3", "eventing": "1.20.1", "kourier": "1.20.1"},
    "1.21.4": {"serving": "1.21.3", "eventing": "1.21.4", "kourier": "1.21.1"},
    "1.22.3": {"serving": "1.22.1", "eventing": "1.22.2", "kourier": "1.22.1"},
    "1.23.0": {"serving": "1.23.0", "eventing": "1.23.0", "kourier": "1.23.0"},
}
# From these operator patches on, status.version and InstallSucceeded are set only after
# CheckDeployments (operator "Wait for deployments (#2010)"); before, once manifests applied.
WAITS_FOR_DEPLOYMENTS_FROM = {16: 4, 17: 5}
WAITS_FOR_DEPLOYMENTS_MINOR = 18
# The Deployment each never-ready fault keeps unavailable.
NEVER_READY = {
    "KnativeServing": (faults.SERVING_NEVER_READY, "activator"),
    "KnativeEventing": (faults.EVENTING_NEVER_READY, "eventing-webhook"),
}


def embedded_versions(operator_version: str, component: str) -> dict[int, str]:
    """minor -> version of `component` this operator release carries in its kodata.

    Rule: the operator's own minor and the three before it. For an exactly known release,
    its real kodata. Otherwise, for its own minor, the operator's patch capped at the newest
    upstream patch of the component; for older minors, the newest upstream patch (".0"
    when unknown).
    """
    major, own_minor = knative_core.minor_of(operator_version)
    own_patch = int(operator_version.split(".")[2]) if operator_version.count(".") >= 2 else 0
    known = KNOWN_KODATA.get(operator_version, {}).get(component)
    carried = {}
    for minor in range(own_minor - 3, own_minor + 1):
        newest = NEWEST_PATCH[component].get(minor)
        if minor == own_minor:
            patch = min(own_patch, newest) if newest is not None else own_patch
        else:
            patch = newest or 0
        carried[minor] = f"{major}.{minor}.{patch}"
    if known:
        carried[own_minor] = known
    return carried


def waits_for_deployments(operator_version: str) -> bool:
    """Whether this operator release sets status.version and InstallSucceeded only once the
    deployments are available (1.16.4, 1.17.5, 1.18.0 on) rather than once applied."""
    _, minor = knative_core.minor_of(operator_version)
    parts = operator_version.split(".")
    patch = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
    if minor >= WAITS_FOR_DEPLOYMENTS_MINOR:
        return True
    return minor in WAITS_FOR_DEPLOYMENTS_FROM and patch >= WAITS_FOR_DEPLOYMENTS_FROM[minor]


def other_patch(version: str) -> str:
    """A version the operator's kodata does not hold by default (the serving-other-version
    fault): the next patch."""
    major, minor, patch = (int(part) for part in version.split("."))
    return f"{major}.{minor}.{patch + 1}"


def resolve_version(
    spec_version: str | None, carried: dict[int, str], own_minor: int
) -> str | None:
    """spec.version -> the carried version to install, or None when not carried."""
    if not spec_version:
        return carried[own_minor]
    wanted = spec_version.removeprefix("v")
    parts = wanted.split(".")
    try:
        minor = int(parts[1])
    except (IndexError, ValueError):
        return None
    if minor not in carried:
        return None
    if len(parts) == 2 or carried[minor] == wanted:
        return carried[minor]
    return None


@dataclass(frozen=True)
class _Target:
    """What one CR asks the operator to install."""

    version: str
    manifests: list[str]
    objects: list[Obj]


@dataclass(frozen=True)
class _Kind:
    kind: str
    finalizer: str
    component: str
    plan: Callable[[Obj, str, str], _Target]


def _serving_plan(cr: Obj, version: str, operator_version: str) -> _Target:
    namespace = cr["metadata"]["namespace"]
    minor = ".".join(version.split(".")[:2])
    kourier_version = embedded_versions(operator_version, "kourier")[
        knative_core.minor_of(version)[1]
    ]
    return _Target(
        version,
        [f"{KO_DATA}/knative-serving/{version}", f"{KO_DATA}/ingress/{minor}/kourier"],
        knative_core.serving_objects(version, namespace)
        + knative_core.kourier_objects(kourier_version, namespace),
    )


def _github_enabled(cr: Obj) -> bool:
    return bool(((cr.get("spec") or {}).get("source") or {}).get("github", {}).get("enabled"))


def _eventing_plan(cr: Obj, version: str, operator_version: str) -> _Target:
    namespace = cr["metadata"]["namespace"]
    minor = ".".join(version.split(".")[:2])
    manifests = [f"{KO_DATA}/knative-eventing/{version}"]
    objects = eventing.eventing_objects(version, namespace)
    if _github_enabled(cr):
        manifests.append(f"{KO_DATA}/eventing-source/{minor}/github")
        # The operator injects the CR's namespace into the source manifests too
        # (transformers.go `mf.InjectNamespace`), so nothing lands in knative-sources.
        objects += eventing.github_source_objects(version, namespace)
    return _Target(version, manifests, objects)


KINDS = (
    _Kind("KnativeServing", "knativeservings.operator.knative.dev", "serving", _serving_plan),
    _Kind("KnativeEventing", "knativeeventings.operator.knative.dev", "eventing", _eventing_plan),
)


def _ref(obj: Obj) -> Ref:
    return (
        obj["apiVersion"],
        obj["kind"],
        obj["metadata"]["name"],
        obj["metadata"].get("namespace"),
    )


def _ingress_enabled(cr: Obj) -> bool:
    ingress = (cr.get("spec") or {}).get("ingress") or {}
    return any((ingress.get(name) or {}).get("enabled") for name in ("kourier", "contour"))


class KnativeOperator(ReconcileLoop):
    """Component: the operator controller for both CR kinds."""

    name = "sim-knative-operator"

    def __init__(self) -> None:
        super().__init__()
        # CR (kind, namespace, name) -> objects installed for it, in manifest order.
        self._installed: dict[tuple[str, str, str], list[Ref]] = {}
        self._applied: dict[tuple[str, str, str], tuple[Any, float]] = {}
        # ConfigMap -> the data last applied to it (manifestival's last-applied annotation).
        self._last_data: dict[Ref, dict] = {}
        # CR -> when its finalization began (FINALIZE_SECONDS).
        self._finalizing: dict[tuple[str, str, str], float] = {}

    def start(self, sim: Any) -> None:
        # operator-webhook for the CRs (webhooks.py).
        self._webhook = webhooks.register_operator(sim.store)
        super().start(sim)

    def stop(self) -> None:
        super().stop()
        if getattr(self, "_webhook", None) is not None:
            self._webhook.unsubscribe()

    def reconcile(self) -> None:
        operator = next(
            (
                d
                for d in self.store.list("apps/v1", "Deployment")
                if d["metadata"]["name"] == "knative-operator"
            ),
            None,
        )
        if operator is None or not is_true(operator, "Available"):
            return
        operator_version = (
            operator["metadata"].get("labels", {}).get("app.kubernetes.io/version", "")
        )
        seen = set()
        for kind in KINDS:
            if not self.store.served(OPERATOR_API, kind.kind):
                continue
            crs = self.store.list(OPERATOR_API, kind.kind)
            for cr in crs:
                seen.add((kind.kind, cr["metadata"]["namespace"], cr["metadata"]["name"]))

            def handle(cr: Obj, kind: _Kind = kind) -> None:
                key = (kind.kind, cr["metadata"]["namespace"], cr["metadata"]["name"])
                self._reconcile(kind, cr, key, operator_version)

            self.each(crs, handle)
        for key in set(self._installed) - seen:
            self._remove(self._installed.pop(key))
            self._applied.pop(key, None)

    def _reconcile(
        self, kind: _Kind, cr: Obj, key: tuple[str, str, str], operator_version: str
    ) -> None:
        meta = cr["metadata"]
        if meta.get("deletionTimestamp"):
            # FinalizeKind: delete what was installed (not CRDs / Namespaces), then let go.
            began = self._finalizing.setdefault(key, time.monotonic())
            if time.monotonic() - began < self.sim.clock.scaled(FINALIZE_SECONDS):
                return
            self._finalizing.pop(key, None)
            self._remove(self._installed.pop(key, []))
            self._applied.pop(key, None)
            if kind.finalizer in (meta.get("finalizers") or []):
                meta["finalizers"] = [f for f in meta["finalizers"] if f != kind.finalizer]
                self.store.update(cr)
            return
        if kind.finalizer not in (meta.get("finalizers") or []):
            meta["finalizers"] = [*(meta.get("finalizers") or []), kind.finalizer]
            cr = self.store.update(cr)
        status = dict(cr.get("status") or {})
        # ReconcileKind: InitializeConditions first (knative/pkg ConditionSet: every dependent
        # and Ready Unknown unless already set), so a failure leaves the full set behind.
        conditions = _initialize(list(status.get("conditions") or []))
        status["observedGeneration"] = cr["metadata"].get("generation", 1)
        _, own_minor = knative_core.minor_of(operator_version)
        carried = embedded_versions(operator_version, kind.component)
        spec_version = (cr.get("spec") or {}).get("version")
        if not isinstance(spec_version, str | type(None)):
            spec_version = str(spec_version)
        target_version = None
        if faults.OPERATOR_MISSING_VERSION not in self.sim.faults:
            target_version = resolve_version(spec_version, carried, own_minor)
        # common.IsVersionValidMigrationEligible runs before the manifests are looked up
        # (releases.go): the target is spec.version (or the newest carried) as written.
        wanted = (spec_version or carried[own_minor]).removeprefix("v")
        installed_version = status.get("version")
        migration_error = _migration_error(installed_version, wanted)
        if migration_error:
            conditions = _mark(
                conditions,
                "VersionMigrationEligible",
                "False",
                "Error",
                f"Version migration is not eligible with message: {migration_error}",
            )
            write_status_if_changed(self.store, cr, {**status, "conditions": conditions})
            return
        conditions = _mark(conditions, "VersionMigrationEligible", "True")
        if target_version is None:
            # common.AppendTarget -> TargetManifest error -> MarkInstallFailed.
            conditions = self._fail_install(
                conditions,
                f"the manifests of the target version {spec_version or ''} are not available "
                "to this release",
            )
            write_status_if_changed(self.store, cr, {**status, "conditions": conditions})
            return
        if kind.kind == "KnativeServing" and not _ingress_enabled(cr):
            conditions = self._fail_install(
                conditions,
                'failed to apply non rbac manifest: no matches for kind "Gateway" in version '
                '"networking.istio.io/v1beta1"',
            )
            write_status_if_changed(self.store, cr, {**status, "conditions": conditions})
            return
        if (
            kind.kind == "KnativeServing"
            and not spec_version
            and faults.SERVING_OTHER_VERSION in self.sim.faults
        ):
            target_version = other_patch(target_version)
        if (
            kind.kind == "KnativeEventing"
            and not spec_version
            and faults.EVENTING_OTHER_VERSION in self.sim.faults
        ):
            target_version = other_patch(target_version)
        planned = kind.plan(cr, target_version, operator_version)
        target = _Target(planned.version, planned.manifests, _with_spec_config(cr, planned.objects))
        fault, stuck_deployment = NEVER_READY[kind.kind]
        if fault in self.sim.faults:
            _make_unpullable(target.objects, stuck_deployment)
        self._apply_if_due(key, cr, target)
        conditions = set_condition(conditions, "DependenciesInstalled", "True")
        waiting = self._unavailable_deployments(target.objects)
        status["manifests"] = target.manifests
        if not waiting or not waits_for_deployments(operator_version):
            conditions = set_condition(conditions, "InstallSucceeded", "True")
            status["version"] = target.version
        if waiting:
            message = f"Waiting on deployments: {', '.join(waiting)}"
            conditions = set_condition(
                conditions, "DeploymentsAvailable", "False", "NotReady", message
            )
        else:
            conditions = set_condition(conditions, "DeploymentsAvailable", "True")
        conditions = _ready_from(conditions)
        write_status_if_changed(self.store, cr, {**status, "conditions": conditions})

    def _fail_install(self, conditions: list[Obj], error: str) -> list[Obj]:
        """MarkInstallFailed (knativeserving_lifecycle.go)."""
        message = f"Install failed with message: {error}"
        return _mark(conditions, "InstallSucceeded", "False", "Error", message)

    # --- applying ---------------------------------------------------------------------------

    def _apply_if_due(self, key: tuple[str, str, str], cr: Obj, target: _Target) -> None:
        fingerprint = (cr["metadata"].get("generation"), target.version, tuple(target.manifests))
        last = self._applied.get(key)
        if last and last[0] == fingerprint and time.monotonic() - last[1] < REAPPLY_SECONDS:
            return
        refs = [_ref(obj) for obj in target.objects]
        for obj in target.objects:
            self._apply_object(obj)
        previous = self._installed.get(key, [])
        self._remove([ref for ref in previous if ref not in refs])
        self._installed[key] = refs
        self._applied[key] = (fingerprint, time.monotonic())

    def _apply_object(self, obj: Obj) -> None:
        api_version, kind, name, namespace = _ref(obj)
        if not self.store.served(api_version, kind):
            # A CRD applied moments ago is not Established yet; the next pass applies this.
            self._applied.clear()
            return
        live = self.store.get(api_version, kind, name, namespace)
        if live is None:
            self.store.create(obj)
            if kind == "ConfigMap":
                self._last_data[_ref(obj)] = dict(obj.get("data") or {})
            return
        # manifestival re-applies with a three-way merge against what it applied last: the
        # manifest's keys (spec.config merged in) win over manual edits, keys it applied before
        # and dropped go, keys others added (the default-domain Job's) stay. Deployment
        # templates are reset.
        if kind == "ConfigMap":
            wanted = obj.get("data") or {}
            before = self._last_data.get(_ref(obj), {})
            current = live.get("data") or {}
            merged = {
                **{k: v for k, v in current.items() if k not in before or k in wanted},
                **wanted,
            }
            self._last_data[_ref(obj)] = dict(wanted)
            if merged != current:
                live["data"] = merged
                self.store.update(live)
        elif kind == "Deployment" and live["spec"].get("template") != obj["spec"]["template"]:
            live["spec"]["template"] = obj["spec"]["template"]
            self.store.update(live)

    def _remove(self, refs: list[Ref]) -> None:
        for api_version, kind, name, namespace in reversed(refs):
            if kind in ("CustomResourceDefinition", "Namespace"):
                continue
            self.store.delete(api_version, kind, name, namespace)

    def _unavailable_deployments(self, objects: list[Obj]) -> list[str]:
        waiting = []
        for obj in objects:
            if obj["kind"] != "Deployment":
                continue
            live = self.store.get(
                "apps/v1", "Deployment", obj["metadata"]["name"], obj["metadata"]["namespace"]
            )
            if not is_true(live, "Available"):
                waiting.append(obj["metadata"]["name"])
        return waiting


def _with_spec_config(cr: Obj, objects: list[Obj]) -> list[Obj]:
    """The manifest with `spec.config.<name>` merged over ConfigMap `config-<name>` (created
    in the CR's namespace when the manifest has none)."""
    namespace = cr["metadata"]["namespace"]
    wanted = {
        f"config-{name}": {key: str(value) for key, value in (data or {}).items()}
        for name, data in ((cr.get("spec") or {}).get("config") or {}).items()
    }
    result = []
    for obj in objects:
        name = obj["metadata"]["name"]
        if (
            obj["kind"] == "ConfigMap"
            and obj["metadata"].get("namespace") == namespace
            and name in wanted
        ):
            obj = {**obj, "data": {**(obj.get("data") or {}), **wanted.pop(name)}}
        result.append(obj)
    for name, data in wanted.items():
        result.append(knative_core.config_map(name, namespace, {}, data))
    return result


def _make_unpullable(objects: list[Obj], deployment_name: str) -> None:
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == deployment_name:
            container = obj["spec"]["template"]["spec"]["containers"][0]
            container["image"] = container["image"].split("@")[0] + "@" + UNPULLABLE_DIGEST


DEPENDENTS = (
    "DependenciesInstalled",
    "DeploymentsAvailable",
    "InstallSucceeded",
    "VersionMigrationEligible",
)


def _initialize(conditions: list[Obj]) -> list[Obj]:
    """ConditionSet.InitializeConditions: Ready Unknown if unset; unset dependents take
    True when Ready is True, else Unknown (knative/pkg apis/condition_set.go)."""
    by_type = {c["type"]: c for c in conditions}
    if "Ready" not in by_type:
        conditions = set_condition(conditions, "Ready", "Unknown")
    ready_true = by_type.get("Ready", {}).get("status") == "True"
    for name in DEPENDENTS:
        if name not in by_type:
            conditions = set_condition(conditions, name, "True" if ready_true else "Unknown")
    return conditions


def _mark(
    conditions: list[Obj],
    name: str,
    status: str,
    reason: str | None = None,
    message: str | None = None,
) -> list[Obj]:
    """ConditionSet MarkTrue/MarkFalse/MarkUnknown: set the dependent, then Ready from all
    dependents (a False or Unknown one is copied into Ready)."""
    return _ready_from(set_condition(conditions, name, status, reason, message))


def _migration_error(installed: str | None, target: str) -> str | None:
    """common.IsVersionValidMigrationEligible (releases.go): at most one minor apart. The
    message names KnativeServing for both CR kinds, as upstream does."""
    if not installed or installed == "latest" or target == "latest":
        return None
    try:
        current_major, current_minor = (int(p) for p in installed.split(".")[:2])
        target_major, target_minor = (int(p) for p in target.split(".")[:2])
    except ValueError:
        return None
    if current_major != target_major:
        return (
            "not supported to upgrade or downgrade across the MAJOR version. The installed "
            f"KnativeServing version is v{installed}."
        )
    if abs(current_minor - target_minor) < 2:
        return None
    return (
        "not supported to upgrade or downgrade across multiple MINOR versions. The installed "
        f"KnativeServing version is v{installed}."
    )


def _ready_from(conditions: list[Obj]) -> list[Obj]:
    """Ready as knative/pkg's ConditionSet computes it from the dependents: True when all are
    True, else the most recently changed False dependent, else the most recent Unknown one
    (findUnhappyDependent)."""
    by_type = {c["type"]: c for c in conditions}
    current = [by_type.get(name) or {"type": name, "status": "Unknown"} for name in DEPENDENTS]
    if all(c["status"] == "True" for c in current):
        return set_condition(conditions, "Ready", "True")
    newest_first = sorted(current, key=lambda c: c.get("lastTransitionTime", ""), reverse=True)
    for wanted in ("False", "Unknown"):
        unhappy = next((c for c in newest_first if c["status"] == wanted), None)
        if unhappy:
            return set_condition(
                conditions, "Ready", wanted, unhappy.get("reason"), unhappy.get("message")
            )
    return set_condition(conditions, "Ready", "Unknown")
