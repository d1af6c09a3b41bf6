"""The install plan: what each recipe step applies, where, what it waits for, and every
deviation from the book. Computed from the options and the catalog before any cluster is
touched; steps execute it and do not re-decide it. `--plan` prints it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from cookbook14.catalog import Catalog, NodeImage, Release
from cookbook14.options import Options

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"
KIND_DOMAIN = "127.0.0.1.sslip.io"
FIELD_MANAGER = "cookbook14"

# Default deadlines in seconds, per kind of wait; --timeout-scale multiplies them.
DEADLINES = {
    "crd_established": 120.0,
    "deployment_available": 300.0,
    "operator_cr_ready": 600.0,
    "ksvc_ready": 300.0,
    "pods": 300.0,
}


@dataclass(frozen=True)
class Apply:
    """Objects to apply: a release URL, or a book manifest with the harness's additions."""

    source: str
    namespace: str | None = None
    documents: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        data: dict = {"source": self.source, "namespace": self.namespace}
        if self.documents:
            data["documents"] = [copy.deepcopy(doc) for doc in self.documents]
        return data


@dataclass(frozen=True)
class WaitFor:
    """One thing a step waits for; `until` is `condition:<Type>`, `available` or `pods:<n>`."""

    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    until: str
    timeout: float
    selector: str | None = None

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        if self.until.startswith("pods:"):
            return f"{self.until[5:]} running pod(s) matching {self.selector}{where}"
        target = f"{self.kind} {self.name}{where}"
        if self.until == "available":
            return f"{target} to be available"
        return f"{target} to have {self.until.split(':', 1)[1]}=True"


@dataclass(frozen=True)
class Deviation:
    recipe: str
    what: str
    why: str


@dataclass(frozen=True)
class StepPlan:
    recipe: str
    title: str
    requires: tuple[str, ...]
    applies: tuple[Apply, ...] = ()
    waits: tuple[WaitFor, ...] = ()
    implemented: bool = False

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe,
            "title": self.title,
            "requires": list(self.requires),
            "implemented": self.implemented,
            "applies": [item.to_dict() for item in self.applies],
            "waits": [{**asdict(wait), "describe": wait.describe()} for wait in self.waits],
        }


@dataclass(frozen=True)
class ClusterPlan:
    provider: str
    name: str
    node_image: str
    kind_version: str
    domain: str
    kind_config: str | None


@dataclass(frozen=True)
class Plan:
    release: Release
    cluster: ClusterPlan
    steps: tuple[StepPlan, ...]
    deviations: tuple[Deviation, ...] = field(default=())
    extras: dict[str, str] = field(default_factory=dict)

    def step(self, recipe: str) -> StepPlan:
        for step in self.steps:
            if step.recipe == recipe:
                return step
        raise KeyError(recipe)

    def to_dict(self) -> dict:
        return {
            "knative": self.release.to_dict(),
            "extras": self.extras,
            "cluster": asdict(self.cluster),
            "steps": [step.to_dict() for step in self.steps],
            "deviations": [asdict(deviation) for deviation in self.deviations],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def load_manifest(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((MANIFESTS / name).read_text()) if doc]


def build_plan(options: Options, catalog: Catalog) -> Plan:
    """Everything the run will do, derived from the options and the catalog alone."""
    release = catalog.resolve(options.knative_version)
    deviations: list[Deviation] = [
        Deviation("14.*", "version pinning", note) for note in release.clamped
    ]
    node = release.node
    if options.kind_image:
        node = NodeImage(node.kubernetes, options.kind_image, node.kind)
        deviations.append(
            Deviation("cluster", f"node image {options.kind_image}", "--kind-image was given")
        )
    cluster = ClusterPlan(
        provider=options.cluster,
        name=options.cluster_name,
        node_image=node.image,
        kind_version=str(node.kind),
        domain=KIND_DOMAIN,
        kind_config=str(MANIFESTS / "kind-config.yaml") if options.cluster == "kind" else None,
    )
    deadline = {name: seconds * options.timeout_scale for name, seconds in DEADLINES.items()}
    mirror = options.mirror
    steps = (
        _operator_step(catalog, release, mirror, deadline),
        *_later_steps(release),
    )
    deviations += _serving_deviations()
    return Plan(
        release=release,
        cluster=cluster,
        steps=steps,
        deviations=tuple(deviations),
        extras={name: str(version) for name, version in catalog.extras.items()},
    )


def _operator_step(
    catalog: Catalog, release: Release, mirror: str | None, deadline: dict[str, float]
) -> StepPlan:
    namespace = release.operator_namespace
    crds = ("knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev")
    return StepPlan(
        recipe="14.1",
        title="Install the Knative Operator",
        requires=(),
        applies=(Apply(catalog.url("operator", release.operator, "operator.yaml", mirror)),),
        waits=(
            *(
                WaitFor(
                    "apiextensions.k8s.io/v1",
                    "CustomResourceDefinition",
                    crd,
                    None,
                    "condition:Established",
                    deadline["crd_established"],
                )
                for crd in crds
            ),
            *(
                WaitFor(
                    "apps/v1",
                    "Deployment",
                    name,
                    namespace,
                    "available",
                    deadline["deployment_available"],
                )
                for name in ("knative-operator", "operator-webhook")
            ),
        ),
        implemented=True,
    )


def _later_steps(release: Release) -> list[StepPlan]:
    """Recipes whose steps are planned but not implemented yet: order and prerequisites only."""
    return [
        StepPlan("14.2", "Install Knative Serving", ("14.1",)),
        StepPlan("14.3", "Install the kn CLI", ()),
        StepPlan("14.4", "Create a Knative Service", ("14.2",)),
        StepPlan("14.5", "Install Knative Eventing", ("14.1",)),
        StepPlan("14.6", "Deploy an event source", ("14.2", "14.5")),
        StepPlan("14.7", "Enable more event sources", ("14.5",)),
        StepPlan("14.8", "Install TriggerMesh event sources", ("14.5",)),
    ]


def _serving_deviations() -> list[Deviation]:
    return [
        Deviation(
            "14.2",
            f"domain {KIND_DOMAIN} set through spec.config.domain instead of applying "
            "serving-default-domain.yaml",
            "the default-domain Job waits for a load balancer IP that kind never assigns "
            "(it polls 20 minutes, 10 retries); the harness reaches services with Host headers",
        ),
    ]
