"""The install plan: what each recipe step applies, where, what it waits for, and every
deviation from the book. Computed from the options and the catalog before any cluster is
touched; steps execute it and do not re-decide it. `--plan` prints it.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import yaml

from cookbook14.catalog import Catalog, NodeImage, Release, Version
from cookbook14.errors import UsageError
from cookbook14.options import Options
from cookbook14.tools import NERDCTL_ENGINES, container_runtime, kind_needed_for

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"
KIND_DOMAIN = "127.0.0.1.sslip.io"
# Kourier lands in the KnativeServing's namespace with the operator, in kourier-system with
# the book's YAML alternative (knative-facts.md).
KOURIER_NAMESPACES = ("knative-serving", "kourier-system")
FIELD_MANAGER = "cookbook14"
# The YAML install's Serving ConfigMaps: the keys the harness sets, under their own field
# manager so that they merge with serving-core's data (see _config_map).
SERVING_CONFIG_SOURCE = "harness: Serving configuration"
SERVING_CONFIG_MANAGER = "cookbook14-serving-config"
# What 14.2 waits for and checks: the Deployments the book relies on (Kourier's gateway is
# in the KnativeServing's namespace with the operator, in kourier-system with kourier.yaml).
SERVING_DEPLOYMENTS = ("activator", "autoscaler", "controller", "webhook", "net-kourier-controller")
DEFAULT_DOMAIN = "default-domain"
# What 14.5 waits for and checks (the mt-channel-broker, in-memory channel and core
# controllers); pingsource-mt-adapter is left out: it sits at 0 replicas until a PingSource
# exists, and 14.6 awaits it.
EVENTING_DEPLOYMENTS = (
    "eventing-controller",
    "eventing-webhook",
    "imc-controller",
    "imc-dispatcher",
    "mt-broker-controller",
    "mt-broker-filter",
    "mt-broker-ingress",
)
PINGSOURCE_ADAPTER = "pingsource-mt-adapter"
WINDOW_ANNOTATION = "autoscaling.knative.dev/window"
FAST_WINDOW = "6s"  # the minimum of autoscaling.knative.dev/window (knative-facts.md)

# Default deadlines in seconds, per kind of wait; --timeout-scale multiplies them.
DEADLINES = {
    "crd_established": 120.0,
    "deployment_available": 300.0,
    "operator_cr_ready": 600.0,
    "ksvc_ready": 300.0,
    "pods": 300.0,
    # An aggregated ClusterRole's rules, refilled by kube-controller-manager after a change.
    "cluster_role_aggregated": 60.0,
    # After a PingSource tick, until its event is at the sink: the adapter's 0-500 ms jitter,
    # 5 retries with backoff from 50 ms, and the activator waking the sink if it scaled to 0.
    "ping_delivery": 30.0,
    "namespace_deleted": 120.0,
    # --cleanup: one object, its finalizers and foreground dependents, until it is gone.
    "object_deleted": 120.0,
    # 14.4: beyond the time to zero the cluster's autoscaler settings imply (that part is
    # computed from them and multiplied by --timeout-scale too).
    "scale_to_zero_margin": 120.0,
    # 14.4: one request from zero, held by the activator until a new pod serves.
    "cold_start_request": 300.0,
    # kind: the node image (about 1 GB unpacked) on a slow link; then `kind create cluster`
    # with the image present (its own --wait=5m for the control plane included).
    "node_image_pull": 1200.0,
    "kind_create": 600.0,
    # kind: another run on this machine holding the cluster name (a whole chapter run).
    "cluster_in_use": 3600.0,
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
    """One thing a step waits for; `until` is `condition:<Type>`, `available` or `pods:<n>`.

    Without a name, `condition:<Type>` means every object the selector picks, and at least
    `count` of them."""

    api_version: str
    kind: str
    name: str | None
    namespace: str | None
    until: str
    timeout: float
    selector: str | None = None
    count: int = 1

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        if self.until.startswith("pods:"):
            return f"{self.until[5:]} running pod(s) matching {self.selector}{where}"
        target = f"{self.kind} {self.name}{where}"
        if self.name is None:
            matching = f" matching {self.selector}" if self.selector else ""
            target = f"every {self.kind}{matching}{where} (at least {self.count})"
        if self.until == "available":
            return f"{target} to be available"
        return f"{target} to have {self.until.split(':', 1)[1]}=True"


@dataclass(frozen=True)
class Deviation:
    recipe: str
    what: str
    why: str


@dataclass(frozen=True)
class Alternative:
    """Another way the book gives for the same recipe (its YAML files, or the kn CLI)."""

    name: str
    applies: tuple[Apply, ...] = ()
    commands: tuple[tuple[str, ...], ...] = ()
    waits: tuple[WaitFor, ...] = ()

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "applies": [item.to_dict() for item in self.applies],
            "commands": [list(command) for command in self.commands],
            "waits": [_wait_dict(wait) for wait in self.waits],
        }


@dataclass(frozen=True)
class ObjectSpec:
    """Objects to show as YAML in the evidence: one by name, or every one of a kind."""

    api_version: str
    kind: str
    namespace: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class LogSource:
    """Pods whose logs explain a failure (a controller, an adapter, an app)."""

    namespace: str
    selector: str
    container: str | None = None


@dataclass(frozen=True)
class EvidencePlan:
    """What to collect when a recipe fails, before anything is cleaned up."""

    objects: tuple[ObjectSpec, ...] = ()
    namespaces: tuple[str, ...] = ()
    logs: tuple[LogSource, ...] = ()


@dataclass(frozen=True)
class StepPlan:
    recipe: str
    title: str
    requires: tuple[str, ...]
    applies: tuple[Apply, ...] = ()
    waits: tuple[WaitFor, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    implemented: bool = False
    # How the step installs: "operator" or "yaml" (14.2, 14.5), "download", "kubectl", ...
    method: str = "kubectl"
    evidence: EvidencePlan = field(default_factory=EvidencePlan)

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe,
            "title": self.title,
            "requires": list(self.requires),
            "implemented": self.implemented,
            "method": self.method,
            "applies": [item.to_dict() for item in self.applies],
            "waits": [_wait_dict(wait) for wait in self.waits],
            "alternatives": [alternative.to_dict() for alternative in self.alternatives],
            "evidence": asdict(self.evidence),
        }

    def with_method(self, method: str) -> StepPlan:
        """This step done the alternative's way; the planned way becomes an alternative."""
        if method == self.method:
            return self
        chosen = next(alt for alt in self.alternatives if alt.name == method)
        others = tuple(alt for alt in self.alternatives if alt.name != method)
        current = Alternative(self.method, self.applies, waits=self.waits)
        return replace(
            self,
            applies=chosen.applies,
            waits=chosen.waits,
            alternatives=(current, *others),
            method=method,
        )


def _wait_dict(wait: WaitFor) -> dict:
    return {**asdict(wait), "describe": wait.describe()}


@dataclass(frozen=True)
class ClusterPlan:
    provider: str
    name: str | None  # the kind cluster's; None with --cluster existing
    node_image: str | None
    kind_version: str | None
    domain: str | None
    kind_config: str | None
    # The container engine kind drives (docker unless KIND_EXPERIMENTAL_PROVIDER names one),
    # and what sets the oldest kind that will do (kind_version).
    container_engine: str | None
    kind_needed_by: str | None


@dataclass(frozen=True)
class Plan:
    release: Release
    cluster: ClusterPlan
    steps: tuple[StepPlan, ...]
    deviations: tuple[Deviation, ...] = field(default=())
    extras: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    # Deadline in seconds per kind of wait, --timeout-scale applied.
    deadlines: dict[str, float] = field(default_factory=dict)

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
            "warnings": list(self.warnings),
            "deadlines": self.deadlines,
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
    if release.uncatalogued:
        deviations.append(
            Deviation(
                "14.*",
                f"uncatalogued release {release.requested}",
                f"newer than the catalog's {release.minor} patches ({', '.join(release.uncatalogued)}): "
                "tried as asked; its release assets decide whether it exists, and what its "
                "operator installs by default is not known",
            )
        )
    node = release.node
    on_kind = options.cluster == "kind"
    if options.kind_image:
        node = _chosen_node_image(options, release)
        deviations.append(
            Deviation("cluster", f"node image {options.kind_image}", "--kind-image was given")
        )
    engine = kind_version = needed_by = kind_config = None
    if on_kind:
        engine = container_runtime()
        kind, needed_by = kind_needed_for(engine, node.kind)
        if kind != node.kind:
            deviations.append(
                Deviation(
                    "cluster",
                    f"kind {kind} instead of {node.kind}",
                    f"{needed_by} needs kind >= {kind}; the node image {node.image} was "
                    f"published with kind {node.kind}",
                )
            )
        # hostPort -1 has the runtime bind a free port; nerdctl passes it on as port 0,
        # which CNI's portmap refuses, so there kind picks the port (hostPort 0).
        config = "kind-config-nerdctl.yaml" if engine in NERDCTL_ENGINES else "kind-config.yaml"
        kind_version, kind_config = str(kind), str(MANIFESTS / config)
    cluster = ClusterPlan(
        provider=options.cluster,
        name=options.cluster_name,
        node_image=node.image if on_kind else None,
        kind_version=kind_version,
        domain=serving_domain(options),
        kind_config=kind_config,
        container_engine=engine,
        kind_needed_by=needed_by,
    )
    sources = _Sources(catalog, release, options.mirror)
    deadline = {name: seconds * options.timeout_scale for name, seconds in DEADLINES.items()}
    steps = (
        _operator_step(sources, release, deadline),
        _serving_step(sources, release, deadline, on_kind, serving_domain(options)).with_method(
            options.install_method
        ),
        _kn_step(sources, release),
        _service_step(deadline, options.fast),
        _eventing_step(sources, release, deadline).with_method(options.install_method),
        _event_source_step(sources, deadline),
        _github_source_step(deadline).with_method(options.install_method),
        _triggermesh_step(sources, deadline),
    )
    deviations += _serving_deviations(on_kind, options.domain)
    deviations += _source_deviations(options.install_method)
    if options.fast:
        deviations.append(
            Deviation(
                "14.4",
                f"annotation {WINDOW_ANNOTATION}: {FAST_WINDOW} on nodeinfo's revision template",
                "--fast was given: the shortest stable window Knative accepts, so scale to zero "
                "comes about a minute sooner than with the book's defaults",
            )
        )
    return Plan(
        release=release,
        cluster=cluster,
        steps=steps,
        deviations=tuple(deviations),
        extras={name: str(version) for name, version in catalog.extras.items()},
        warnings=tuple(catalog.warnings),
        deadlines=deadline,
    )


def _chosen_node_image(options: Options, release: Release) -> NodeImage:
    """--kind-image (a kind-only option, Options refuses it elsewhere), checked: no older than
    Knative allows."""
    match = re.search(r":v(\d+\.\d+\.\d+)", options.kind_image)
    if not match:
        raise UsageError(
            f"--kind-image {options.kind_image!r} has no version tag; accepted: a kind node image "
            "like kindest/node:v1.29.2 (with @sha256:... to pin it)"
        )
    kubernetes = Version.parse(match[1])
    if kubernetes < release.min_kubernetes:
        minimum = release.min_kubernetes
        raise UsageError(
            f"--kind-image {options.kind_image} is Kubernetes {kubernetes}, but Knative "
            f"{release.minor} needs at least {minimum.major}.{minimum.minor}; accepted: a node "
            "image of that Kubernetes or newer, or no --kind-image (the catalog's)"
        )
    return NodeImage(kubernetes, options.kind_image, release.node.kind)


@dataclass(frozen=True)
class _Sources:
    """Release asset URLs of this run (GitHub, or the mirror)."""

    catalog: Catalog
    release: Release
    mirror: str | None

    def url(self, component: str, file: str) -> str:
        version = (
            self.catalog.extras[component]
            if component in self.catalog.extras
            else self.release.version_of(component)
        )
        return self.catalog.url(component, version, file, self.mirror)


# The book's operator CRs (14.2, 14.5, 14.7).
KNATIVE_SERVING = ObjectSpec(
    "operator.knative.dev/v1beta1", "KnativeServing", "knative-serving", "knative-serving"
)
KNATIVE_EVENTING = ObjectSpec(
    "operator.knative.dev/v1beta1", "KnativeEventing", "knative-eventing", "knative-eventing"
)


def _operator_cr_ready(cr: ObjectSpec, deadline: dict[str, float]) -> WaitFor:
    return WaitFor(
        cr.api_version,
        cr.kind,
        cr.name,
        cr.namespace,
        "condition:Ready",
        deadline["operator_cr_ready"],
    )


def crds_established(names: tuple[str, ...], deadline: dict[str, float]) -> tuple[WaitFor, ...]:
    return tuple(
        WaitFor(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            name,
            None,
            "condition:Established",
            deadline["crd_established"],
        )
        for name in names
    )


def _available(
    names: tuple[str, ...], namespace: str, deadline: dict[str, float], kind: str = "Deployment"
) -> tuple[WaitFor, ...]:
    return tuple(
        WaitFor("apps/v1", kind, name, namespace, "available", deadline["deployment_available"])
        for name in names
    )


def _operator_step(sources: _Sources, release: Release, deadline: dict[str, float]) -> StepPlan:
    return StepPlan(
        recipe="14.1",
        title="Install the Knative Operator",
        requires=(),
        # From 1.14 on, operator.yaml names its namespace itself; before, it has none.
        applies=(Apply(sources.url("operator", "operator.yaml"), release.operator_namespace),),
        waits=(
            *crds_established(
                ("knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev"),
                deadline,
            ),
            *_available(
                ("knative-operator", "operator-webhook"), release.operator_namespace, deadline
            ),
        ),
        implemented=True,
        evidence=EvidencePlan(
            namespaces=(release.operator_namespace,),
            logs=(LogSource(release.operator_namespace, "name=knative-operator"),),
        ),
    )


def _config_map(name: str, data: dict[str, str]) -> dict:
    """A Serving ConfigMap holding only the keys the harness sets; applied with its own field
    manager (SERVING_CONFIG_MANAGER), so server-side apply merges them into what
    serving-core.yaml ships (`_example`) instead of replacing it."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "knative-serving"},
        "data": data,
    }


def _namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def serving_domain(options: Options) -> str | None:
    """The domain 14.2 configures: --domain, else sslip.io on 127.0.0.1 on kind; None on an
    existing cluster, where serving-default-domain.yaml decides (when Kourier has an IP)."""
    if options.domain:
        return options.domain
    return KIND_DOMAIN if options.cluster == "kind" else None


def _serving_step(
    sources: _Sources,
    release: Release,
    deadline: dict[str, float],
    on_kind: bool,
    domain: str | None,
) -> StepPlan:
    serving = load_manifest("serving.yaml")[0]
    if domain:
        serving["spec"].setdefault("config", {})["domain"] = {domain: ""}
    nodeport = load_manifest("kourier-nodeport.yaml") if on_kind else []
    # The YAML install configures through ConfigMaps what the operator path puts in the CR.
    yaml_config = [
        _config_map("config-network", {"ingress-class": "kourier.ingress.networking.knative.dev"})
    ]
    if domain:
        yaml_config.append(_config_map("config-domain", {domain: ""}))
    operator_kourier = [
        Apply("manifests/kourier-nodeport.yaml", "knative-serving", tuple(nodeport))
    ]
    yaml_kourier = [Apply("manifests/kourier-nodeport.yaml", "kourier-system", tuple(nodeport))]
    # The book's DNS step, where no domain is given: the Job finishes only where the kourier
    # Service has a load balancer address, so the step runs it only then.
    default_domain = Alternative(
        DEFAULT_DOMAIN,
        applies=(Apply(sources.url("serving", "serving-default-domain.yaml")),),
        waits=(
            WaitFor(
                "batch/v1",
                "Job",
                "default-domain",
                "knative-serving",
                "condition:Complete",
                deadline["deployment_available"],
            ),
        ),
    )
    return StepPlan(
        recipe="14.2",
        title="Install Knative Serving",
        requires=("14.1",),
        method="operator",
        implemented=True,
        applies=(
            Apply("kubectl create ns knative-serving", None, (_namespace("knative-serving"),)),
            Apply("manifests/serving.yaml", "knative-serving", (serving,)),
            *(operator_kourier if on_kind else []),
        ),
        waits=(_operator_cr_ready(KNATIVE_SERVING, deadline),),
        alternatives=(
            Alternative(
                "yaml",
                applies=(
                    Apply(sources.url("serving", "serving-crds.yaml")),
                    Apply(sources.url("serving", "serving-core.yaml")),
                    Apply(sources.url("kourier", "kourier.yaml")),
                    Apply(SERVING_CONFIG_SOURCE, "knative-serving", tuple(yaml_config)),
                    *(yaml_kourier if on_kind else []),
                ),
                waits=(
                    *_available(SERVING_DEPLOYMENTS, "knative-serving", deadline),
                    *_available(("3scale-kourier-gateway",), "kourier-system", deadline),
                ),
            ),
            *(() if domain else (default_domain,)),
        ),
        evidence=EvidencePlan(
            objects=(
                KNATIVE_SERVING,
                ObjectSpec("v1", "Service", "knative-serving", "kourier"),
                ObjectSpec("v1", "Service", "kourier-system", "kourier"),
                ObjectSpec("v1", "ConfigMap", "knative-serving", "config-network"),
                ObjectSpec("v1", "ConfigMap", "knative-serving", "config-domain"),
            ),
            namespaces=("knative-serving", "kourier-system"),
            logs=(
                LogSource(release.operator_namespace, "name=knative-operator"),
                LogSource("knative-serving", "app=controller"),
                LogSource("knative-serving", "app=webhook"),
                LogSource("knative-serving", "app=net-kourier-controller"),
            ),
        ),
    )


def _kn_step(sources: _Sources, release: Release) -> StepPlan:
    names = sources.catalog.assets["kn"]
    return StepPlan(
        recipe="14.3",
        title="Install the kn CLI",
        requires=(),
        method="download",
        implemented=True,
        applies=(
            Apply(sources.url("kn", names["binary"].format(os="<os>", arch="<arch>", ext=""))),
            Apply(sources.url("kn", names["checksums"])),
        ),
    )


# 14.4's kn alternative runs in a namespace of the harness's own, removed afterwards.
KN_NAMESPACE = "cookbook14-kn"


def _service_step(deadline: dict[str, float], fast: bool) -> StepPlan:
    nodeinfo = load_manifest("nodeinfo.yaml")
    if fast:
        template = nodeinfo[0]["spec"]["template"]
        template.setdefault("metadata", {}).setdefault("annotations", {})[WINDOW_ANNOTATION] = (
            FAST_WINDOW
        )
    return StepPlan(
        recipe="14.4",
        title="Create a Knative Service",
        requires=("14.2",),
        implemented=True,
        applies=(Apply("manifests/nodeinfo.yaml", "default", tuple(nodeinfo)),),
        # Only Ready: at zero (a rerun) nodeinfo has no pod until a request comes.
        waits=(
            WaitFor(
                "serving.knative.dev/v1",
                "Service",
                "nodeinfo",
                "default",
                "condition:Ready",
                deadline["ksvc_ready"],
            ),
        ),
        alternatives=(
            Alternative(
                "kn",
                commands=(
                    (
                        "kn",
                        "service",
                        "create",
                        "nodeinfo",
                        "--image",
                        "functions/nodeinfo:latest",
                        "--port",
                        "8080",
                        "--namespace",
                        KN_NAMESPACE,
                    ),
                ),
            ),
        ),
        evidence=EvidencePlan(
            objects=tuple(
                ObjectSpec(api_version, kind, namespace)
                for namespace in ("default", KN_NAMESPACE)
                for api_version, kind in (
                    ("serving.knative.dev/v1", "Service"),
                    ("serving.knative.dev/v1", "Revision"),
                    ("serving.knative.dev/v1", "Route"),
                    ("autoscaling.internal.knative.dev/v1alpha1", "PodAutoscaler"),
                )
            )
            + (ObjectSpec("v1", "ConfigMap", "knative-serving", "config-autoscaler"),),
            namespaces=("default", KN_NAMESPACE, "knative-serving"),
            logs=(
                LogSource("knative-serving", "app=autoscaler"),
                LogSource("knative-serving", "app=activator"),
                LogSource("knative-serving", "app=controller"),
                LogSource("default", "serving.knative.dev/service=nodeinfo", "user-container"),
            ),
        ),
    )


def _eventing_step(sources: _Sources, release: Release, deadline: dict[str, float]) -> StepPlan:
    knative_eventing = _operator_cr_ready(KNATIVE_EVENTING, deadline)
    deployments = _available(EVENTING_DEPLOYMENTS, "knative-eventing", deadline)
    return StepPlan(
        recipe="14.5",
        title="Install Knative Eventing",
        requires=("14.1",),
        method="operator",
        implemented=True,
        applies=(
            Apply("kubectl create ns knative-eventing", None, (_namespace("knative-eventing"),)),
            Apply(
                "manifests/eventing.yaml", "knative-eventing", tuple(load_manifest("eventing.yaml"))
            ),
        ),
        waits=(knative_eventing, *deployments),
        alternatives=(
            Alternative(
                "yaml",
                applies=tuple(
                    Apply(sources.url("eventing", file))
                    for file in (
                        "eventing-crds.yaml",
                        "eventing-core.yaml",
                        "in-memory-channel.yaml",
                        "mt-channel-broker.yaml",
                    )
                ),
                waits=deployments,
            ),
        ),
        evidence=EvidencePlan(
            objects=(
                KNATIVE_EVENTING,
                ObjectSpec("apps/v1", "Deployment", "knative-eventing"),
            ),
            namespaces=("knative-eventing",),
            logs=(LogSource("knative-eventing", "app=eventing-controller"),),
        ),
    )


def _event_source_step(sources: _Sources, deadline: dict[str, float]) -> StepPlan:
    return StepPlan(
        recipe="14.6",
        title="Deploy an event source",
        requires=("14.2", "14.5"),
        implemented=True,
        applies=(
            Apply(sources.url("sockeye", "release.yaml"), "default"),
            Apply("manifests/pingsource.yaml", "default", tuple(load_manifest("pingsource.yaml"))),
        ),
        waits=(
            WaitFor(
                "serving.knative.dev/v1",
                "Service",
                "sockeye",
                "default",
                "condition:Ready",
                deadline["ksvc_ready"],
            ),
            WaitFor(
                "sources.knative.dev/v1",
                "PingSource",
                "ping-source",
                "default",
                "condition:Ready",
                deadline["ksvc_ready"],
            ),
            # The PingSource goes Ready before its adapter runs (it is scaled up from 0 and its
            # Available is stale for a moment): the adapter is awaited on its own.
            *_available((PINGSOURCE_ADAPTER,), "knative-eventing", deadline),
        ),
        alternatives=(
            Alternative(
                "kn",
                commands=(
                    (
                        "kn",
                        "service",
                        "create",
                        "sockeye",
                        "--image",
                        "docker.io/n3wscott/sockeye:v0.7.0",
                    ),
                    (
                        "kn",
                        "source",
                        "ping",
                        "create",
                        "ping-source",
                        "--data",
                        '{ "message": "Hello, world!" }',
                        "--schedule",
                        "* * * * *",
                        "--sink",
                        "sockeye",
                    ),
                ),
            ),
        ),
        evidence=EvidencePlan(
            objects=(
                ObjectSpec("sources.knative.dev/v1", "PingSource", "default"),
                ObjectSpec("serving.knative.dev/v1", "Service", "default", "sockeye"),
                KNATIVE_EVENTING,
                ObjectSpec("apps/v1", "Deployment", "knative-eventing", PINGSOURCE_ADAPTER),
            ),
            namespaces=("knative-eventing", "default"),
            logs=(
                LogSource("knative-eventing", "app=eventing-controller"),
                LogSource("knative-eventing", "sources.knative.dev/role=adapter"),
                LogSource("default", "serving.knative.dev/service=sockeye", "user-container"),
            ),
        ),
    )


def _github_source_step(deadline: dict[str, float]) -> StepPlan:
    return StepPlan(
        recipe="14.7",
        title="Enable more event sources",
        requires=("14.5",),
        method="operator",
        implemented=True,
        applies=(
            Apply(
                "manifests/eventing-github.yaml",
                "knative-eventing",
                tuple(load_manifest("eventing-github.yaml")),
            ),
        ),
        waits=(
            _operator_cr_ready(KNATIVE_EVENTING, deadline),
            *crds_established(("githubsources.sources.knative.dev",), deadline),
            # Under the operator the GitHub source lands in the CR's namespace (its namespace
            # injection covers the source manifests too), not in eventing-github's own
            # knative-sources. The StatefulSet is not part of the CR's Ready: awaited on its own.
            *_available(
                ("github-controller-manager",), "knative-eventing", deadline, kind="StatefulSet"
            ),
        ),
        # Eventing installed from its release files has no KnativeEventing to update.
        alternatives=(Alternative("yaml"),),
        evidence=EvidencePlan(
            objects=(KNATIVE_EVENTING,),
            namespaces=("knative-eventing",),
            logs=(
                LogSource("knative-eventing", "app=eventing-controller"),
                LogSource("knative-eventing", "control-plane=github-controller-manager"),
            ),
        ),
    )


def _triggermesh_step(sources: _Sources, deadline: dict[str, float]) -> StepPlan:
    # No wait for TriggerMesh's Deployments here: the book's "should see" is the kinds served,
    # and the images of this unmaintained project may no longer pull; a check of their own
    # waits for the controller and webhook and tells an image pull from other causes.
    return StepPlan(
        recipe="14.8",
        title="Install TriggerMesh event sources",
        requires=("14.5",),
        implemented=True,
        applies=(
            Apply(sources.url("triggermesh", "triggermesh-crds.yaml")),
            Apply(sources.url("triggermesh", "triggermesh.yaml")),
        ),
        evidence=EvidencePlan(
            objects=(
                KNATIVE_EVENTING,
                ObjectSpec(
                    "rbac.authorization.k8s.io/v1", "ClusterRole", name="addressable-resolver"
                ),
            ),
            namespaces=("knative-eventing", "triggermesh"),
            logs=(
                LogSource("knative-eventing", "app=eventing-controller"),
                LogSource("triggermesh", "app=triggermesh-controller"),
            ),
        ),
    )


def _source_deviations(install_method: str) -> list[Deviation]:
    deviations = [
        Deviation(
            "14.8",
            "TriggerMesh's ClusterRole addressable-resolver is not applied while Eventing's exists",
            "triggermesh.yaml carries a copy of Eventing's aggregated role under the same name "
            "(for clusters without Eventing); applying it would take the role over from "
            "Eventing (server-side apply with force owns its rules and labels), and deleting "
            "triggermesh.yaml later would delete Eventing's role",
        )
    ]
    if install_method == "yaml":
        deviations.append(
            Deviation(
                "14.7",
                "not applicable: the GitHub source is enabled through the KnativeEventing",
                "--install-method yaml installs Eventing without the operator, so there is no "
                "KnativeEventing to update; the book gives no YAML way for 14.7",
            )
        )
    return deviations


def _serving_deviations(on_kind: bool, domain: str | None) -> list[Deviation]:
    deviations = []
    if domain:
        deviations.append(
            Deviation(
                "14.2",
                f"domain {domain} configured (spec.config.domain of the KnativeServing; "
                "config-domain with --install-method yaml) instead of applying "
                "serving-default-domain.yaml",
                "--domain was given",
            )
        )
    elif on_kind:
        deviations.append(
            Deviation(
                "14.2",
                f"domain {KIND_DOMAIN} set through spec.config.domain (config-domain with "
                "--install-method yaml) instead of applying serving-default-domain.yaml",
                "the default-domain Job waits for a load balancer IP that kind never assigns "
                "(it polls 20 minutes, 10 retries); the harness reaches services with Host "
                "headers",
            )
        )
    else:
        deviations.append(
            Deviation(
                "14.2",
                "serving-default-domain.yaml is applied only if the kourier Service has an "
                "external IP; without one it is not run and config-domain is left as it is",
                "its Job polls 20 minutes for that IP and then fails; give --domain D to "
                "configure a domain instead",
            )
        )
    if on_kind:
        deviations.append(
            Deviation(
                "14.2",
                "adds Service kourier-ingress-nodeport (NodePort 31080 -> Kourier's gateway) in "
                "the namespace holding Kourier",
                "kind has no load balancer, so Kourier's LoadBalancer Service stays <pending>; "
                "the kind config maps node port 31080 to a host port, as `kn quickstart kind` "
                "does",
            )
        )
    return deviations
