"""Release assets of knative/operator, knative/serving and knative-extensions/net-kourier.

Generated per version, structurally faithful to upstream (kinds, names, namespaces, API
versions, labels), not copies:
- operator.yaml follows knative/operator `config/` (CRDs in `config/crd/bases/`,
  `config/manager/operator.yaml`, `config/webhook/`); namespace `default` until 1.13,
  its own `knative-operator` Namespace from 1.14 on.
- serving-crds.yaml / serving-core.yaml / serving-hpa.yaml follow knative/serving
  `config/core/300-resources/*`, `config/core/deployments/*`, `config/core/configmaps/*`,
  `config/hpa-autoscaling/`.
- kourier.yaml follows net-kourier `config/` (gateway in `kourier-system`, controller in
  `knative-serving`).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import yaml

from tests.sim import faults

Obj = dict[str, Any]

CREATION_TIMESTAMP = ".metadata.creationTimestamp"
SERVING_NAMESPACE = "knative-serving"
KOURIER_NAMESPACE = "kourier-system"
OPERATOR_NAMESPACE_FROM_1_14 = "knative-operator"


def bare_version(version: str) -> str:
    """ "1.11.4" from "1.11.4", "v1.11.4" or "knative-v1.11.4"."""
    return version.removeprefix("knative-").removeprefix("v")


def minor_of(version: str) -> tuple[int, int]:
    """(major, minor) of "1.11.4" / "v1.11" / "knative-v1.11.4"."""
    parts = bare_version(version).split(".")
    return int(parts[0]), int(parts[1])


def knative_release_version(tag: str) -> str | None:
    """ "1.11.4" of a Knative release tag `knative-v1.11.4`; None for any other tag."""
    if not tag.startswith("knative-v"):
        return None
    version = tag.removeprefix("knative-v")
    try:
        minor_of(version)
    except (ValueError, IndexError):
        return None
    return version


def fake_digest(*parts: str) -> str:
    """A stable sha256 digest standing in for a released image's."""
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def release_image(repo_path: str, version: str) -> str:
    """Knative releases pin ko-built images by digest under gcr.io/knative-releases."""
    return f"gcr.io/knative-releases/{repo_path}@{fake_digest(repo_path, version)}"


def knative_labels(part_of: str, version: str, component: str | None = None) -> dict:
    """The app.kubernetes.io labels of a Knative release's objects."""
    labels = {"app.kubernetes.io/name": part_of, "app.kubernetes.io/version": version}
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def _meta(name: str, namespace: str | None, labels: dict | None = None) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def namespace_object(name: str, labels: dict) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, None, labels)}


def crd(
    group: str,
    plural: str,
    kind: str,
    versions: list[str],
    labels: dict,
    *,
    columns: list[tuple[str, str]] = (),
    short_names: list[str] = (),
    categories: list[str] = ("all", "knative"),
    scope: str = "Namespaced",
    schema: Obj | None = None,
) -> Obj:
    """A CustomResourceDefinition; the first version is the storage version. Printer columns
    are strings but for `.metadata.creationTimestamp`, which upstream declares `type: date`
    (shown as an age). `schema` is the openAPIV3Schema (default: an object keeping every
    field)."""
    printer = [
        {"name": name, "type": "date" if path == CREATION_TIMESTAMP else "string", "jsonPath": path}
        for name, path in columns
    ]
    schema = {
        "openAPIV3Schema": copy.deepcopy(schema)
        if schema
        else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    }
    version_specs = []
    for index, version in enumerate(versions):
        spec: Obj = {
            "name": version,
            "served": True,
            "storage": index == 0,
            "subresources": {"status": {}},
            "schema": schema,
        }
        if printer:
            spec["additionalPrinterColumns"] = printer
        version_specs.append(spec)
    names: Obj = {
        "kind": kind,
        "plural": plural,
        "singular": kind.lower(),
        "listKind": f"{kind}List",
    }
    if short_names:
        names["shortNames"] = list(short_names)
    if categories:
        names["categories"] = list(categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": _meta(f"{plural}.{group}", None, labels),
        "spec": {"group": group, "names": names, "scope": scope, "versions": version_specs},
    }


# --- openAPIV3Schema skeletons (types as upstream declares them) ---------------------------

STRING: Obj = {"type": "string"}
BOOLEAN: Obj = {"type": "boolean"}
INTEGER: Obj = {"type": "integer"}
OPEN_OBJECT: Obj = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def object_schema(properties: Obj, *, open_fields: bool = False) -> Obj:
    schema: Obj = {"type": "object", "properties": properties}
    if open_fields:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    return schema


def resource_schema(spec: Obj, status: Obj = OPEN_OBJECT) -> Obj:
    """The top level every upstream CRD schema has: apiVersion, kind, metadata, spec, status."""
    return object_schema(
        {
            "apiVersion": STRING,
            "kind": STRING,
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        }
    )


# serving config/core/300-resources/{service,configuration,revision,route}.yaml: spec and
# status are objects with x-kubernetes-preserve-unknown-fields (the webhook validates them).
SERVING_RESOURCE_SCHEMA = resource_schema(OPEN_OBJECT)

# operator config/crd/bases/operator.knative.dev_knative{servings,eventings}.yaml (skeleton:
# the fields the chapter touches carry their upstream types; the rest is kept as given).
_KOURIER_SCHEMA = object_schema(
    {
        "enabled": BOOLEAN,
        "service-type": STRING,
        "http-port": INTEGER,
        "https-port": INTEGER,
        "bootstrap-configmap": STRING,
    },
    open_fields=True,
)
_OPERATOR_COMMON = {
    "version": STRING,
    "config": {
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": STRING},
    },
    "manifests": {
        "type": "array",
        "items": object_schema({"URL": STRING}),
    },
    "additionalManifests": {
        "type": "array",
        "items": object_schema({"URL": STRING}),
    },
    "registry": object_schema(
        {"default": STRING, "override": {"type": "object", "additionalProperties": STRING}},
        open_fields=True,
    ),
    "high-availability": object_schema({"replicas": INTEGER}),
    "deployments": {"type": "array", "items": OPEN_OBJECT},
    "services": {"type": "array", "items": OPEN_OBJECT},
    "workloads": {"type": "array", "items": OPEN_OBJECT},
    "podDisruptionBudgets": {"type": "array", "items": OPEN_OBJECT},
}
_OPERATOR_STATUS = object_schema(
    {
        "conditions": {"type": "array", "items": OPEN_OBJECT},
        "manifests": {"type": "array", "items": STRING},
        "observedGeneration": {"type": "integer", "format": "int64"},
        "version": STRING,
    },
    open_fields=True,
)
KNATIVE_SERVING_SCHEMA = resource_schema(
    object_schema(
        {
            **_OPERATOR_COMMON,
            "ingress": object_schema(
                {
                    "kourier": _KOURIER_SCHEMA,
                    "istio": object_schema({"enabled": BOOLEAN}, open_fields=True),
                    "contour": object_schema({"enabled": BOOLEAN}, open_fields=True),
                },
                open_fields=True,
            ),
            "security": OPEN_OBJECT,
            "controller-custom-certs": object_schema({"name": STRING, "type": STRING}),
        },
        open_fields=True,
    ),
    _OPERATOR_STATUS,
)
_SOURCE_SCHEMA = object_schema({"enabled": BOOLEAN}, open_fields=True)
KNATIVE_EVENTING_SCHEMA = resource_schema(
    object_schema(
        {
            **_OPERATOR_COMMON,
            "defaultBrokerClass": STRING,
            "sinkBindingSelectionMode": STRING,
            "source": object_schema(
                {
                    name: _SOURCE_SCHEMA
                    for name in ("ceph", "github", "gitlab", "kafka", "rabbitmq", "redis")
                },
                open_fields=True,
            ),
        },
        open_fields=True,
    ),
    _OPERATOR_STATUS,
)


def ready_columns(*extra: tuple[str, str]) -> list[tuple[str, str]]:
    """`extra`, then the Ready condition's status and reason, as Knative CRDs print them."""
    return [
        *extra,
        ("Ready", '.status.conditions[?(@.type=="Ready")].status'),
        ("Reason", '.status.conditions[?(@.type=="Ready")].reason'),
    ]


def deployment(
    name: str,
    namespace: str,
    labels: dict,
    image: str,
    *,
    replicas: int = 1,
    pod_labels: dict | None = None,
    ports: list[Obj] = (),
    service_account: str | None = None,
    container_name: str | None = None,
) -> Obj:
    selector = pod_labels or {"app": name}
    container: Obj = {
        "name": container_name or name.removeprefix("3scale-kourier-"),
        "image": image,
    }
    if ports:
        container["ports"] = list(ports)
    pod_spec: Obj = {"containers": [container]}
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    template_labels = {**selector, **{k: v for k, v in labels.items() if k != "app"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {"metadata": {"labels": template_labels}, "spec": pod_spec},
        },
    }


def service(
    name: str,
    namespace: str,
    labels: dict,
    selector: dict,
    ports: list[Obj],
    service_type: str = "ClusterIP",
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, namespace, labels),
        "spec": {"type": service_type, "selector": dict(selector), "ports": ports},
    }


def config_map(name: str, namespace: str, labels: dict, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, namespace, labels),
        "data": dict(data),
    }


def service_account(name: str, namespace: str, labels: dict) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(name, namespace, labels),
    }


def cluster_role(name: str, labels: dict, rules: list[Obj]) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(name, None, labels),
        "rules": rules,
    }


def cluster_role_binding(name: str, labels: dict, role: str, account: str, namespace: str) -> Obj:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(name, None, labels),
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        "roleRef": {"kind": "ClusterRole", "name": role, "apiGroup": "rbac.authorization.k8s.io"},
    }


def secret(name: str, namespace: str, labels: dict) -> Obj:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(name, namespace, labels)}


ALL_RULES = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]


# --- knative/operator -----------------------------------------------------------------------


def operator_namespace(version: str) -> str:
    return OPERATOR_NAMESPACE_FROM_1_14 if minor_of(version) >= (1, 14) else "default"


def operator_objects(version: str, built_as: str | None = None) -> list[Obj]:
    """operator.yaml of knative/operator at `version` (labelled as the build `built_as`, which
    is `version` unless the operator-release-drift fault serves another patch's build)."""
    namespace = operator_namespace(version)
    labels = knative_labels("knative-operator", built_as or version)
    objects: list[Obj] = []
    if namespace != "default":
        objects.append(namespace_object(namespace, labels))
    operator_columns = ready_columns(("Version", ".status.version"))
    for plural, kind in (
        ("knativeservings", "KnativeServing"),
        ("knativeeventings", "KnativeEventing"),
    ):
        objects.append(
            crd(
                "operator.knative.dev",
                plural,
                kind,
                ["v1beta1"],
                labels,
                columns=operator_columns,
                categories=(),
                schema=KNATIVE_SERVING_SCHEMA
                if kind == "KnativeServing"
                else KNATIVE_EVENTING_SCHEMA,
            )
        )
    objects += [
        service_account("knative-operator", namespace, labels),
        service_account("operator-webhook", namespace, labels),
        cluster_role("knative-serving-operator", labels, ALL_RULES),
        cluster_role("knative-eventing-operator", labels, ALL_RULES),
        cluster_role("knative-serving-operator-aggregated", labels, ALL_RULES),
        cluster_role("knative-eventing-operator-aggregated", labels, ALL_RULES),
        cluster_role("knative-operator-webhook", labels, ALL_RULES),
        cluster_role_binding(
            "knative-serving-operator",
            labels,
            "knative-serving-operator",
            "knative-operator",
            namespace,
        ),
        cluster_role_binding(
            "knative-eventing-operator",
            labels,
            "knative-eventing-operator",
            "knative-operator",
            namespace,
        ),
        cluster_role_binding(
            "operator-webhook", labels, "knative-operator-webhook", "operator-webhook", namespace
        ),
        config_map("config-logging", namespace, labels, {"_example": "# logging config"}),
        config_map("config-observability", namespace, labels, {"_example": "# observability"}),
        secret("operator-webhook-certs", namespace, labels),
        deployment(
            "knative-operator",
            namespace,
            labels,
            release_image("knative.dev/operator/cmd/operator", version),
            pod_labels={"name": "knative-operator"},
            service_account="knative-operator",
            ports=[{"name": "metrics", "containerPort": 9090}],
        ),
        deployment(
            "operator-webhook",
            namespace,
            {**labels, "app.kubernetes.io/component": "operator-webhook"},
            release_image("knative.dev/operator/cmd/webhook", version),
            pod_labels={"app": "operator-webhook", "role": "operator-webhook"},
            service_account="operator-webhook",
            ports=[{"name": "https-webhook", "containerPort": 8443}],
        ),
        service(
            "operator-webhook",
            namespace,
            {**labels, "role": "operator-webhook"},
            {"role": "operator-webhook"},
            [{"name": "https-webhook", "port": 443, "targetPort": 8443}],
        ),
    ]
    return objects


# --- knative/serving ------------------------------------------------------------------------


def serving_crd_objects(version: str) -> list[Obj]:
    """serving-crds.yaml: config/core/300-resources/*.yaml (printer columns as upstream)."""
    labels = {**knative_labels("knative-serving", version), "knative.dev/crd-install": "true"}
    serving = "serving.knative.dev"
    networking = "networking.internal.knative.dev"
    autoscaling = "autoscaling.internal.knative.dev"
    serving_categories = ("all", "knative", "serving")
    revision_columns = [
        ("Config Name", r".metadata.labels['serving\.knative\.dev/configuration']"),
    ]
    # The K8s Service Name column was dropped in serving 1.13 (revision.yaml).
    if minor_of(version) < (1, 13):
        revision_columns.append(("K8s Service Name", ".status.serviceName"))
    revision_columns.append(
        ("Generation", r".metadata.labels['serving\.knative\.dev/configurationGeneration']")
    )
    return [
        crd(
            networking,
            "certificates",
            "Certificate",
            ["v1alpha1"],
            labels,
            scope="Namespaced",
            columns=ready_columns(),
            short_names=["kcert"],
            categories=("knative-internal", "networking"),
        ),
        crd(
            serving,
            "configurations",
            "Configuration",
            ["v1"],
            labels,
            schema=SERVING_RESOURCE_SCHEMA,
            columns=ready_columns(
                ("LatestCreated", ".status.latestCreatedRevisionName"),
                ("LatestReady", ".status.latestReadyRevisionName"),
            ),
            short_names=["config", "cfg"],
            categories=serving_categories,
        ),
        crd(
            networking,
            "clusterdomainclaims",
            "ClusterDomainClaim",
            ["v1alpha1"],
            labels,
            scope="Cluster",
            short_names=["cdc"],
            categories=("knative-internal", "networking"),
        ),
        crd(
            serving,
            "domainmappings",
            "DomainMapping",
            ["v1beta1"],
            labels,
            columns=ready_columns(("URL", ".status.url")),
            short_names=["dm"],
            categories=serving_categories,
        ),
        crd(
            networking,
            "ingresses",
            "Ingress",
            ["v1alpha1"],
            labels,
            columns=ready_columns(),
            short_names=["kingress", "king"],
            categories=("knative-internal", "networking"),
        ),
        crd(
            autoscaling,
            "metrics",
            "Metric",
            ["v1alpha1"],
            labels,
            columns=ready_columns(),
            categories=("knative-internal", "autoscaling"),
        ),
        crd(
            autoscaling,
            "podautoscalers",
            "PodAutoscaler",
            ["v1alpha1"],
            labels,
            columns=ready_columns(
                ("DesiredScale", ".status.desiredScale"),
                ("ActualScale", ".status.actualScale"),
            ),
            short_names=["kpa", "pa"],
            categories=("knative-internal", "autoscaling"),
        ),
        crd(
            serving,
            "revisions",
            "Revision",
            ["v1"],
            labels,
            schema=SERVING_RESOURCE_SCHEMA,
            columns=[
                *ready_columns(*revision_columns),
                ("Actual Replicas", ".status.actualReplicas"),
                ("Desired Replicas", ".status.desiredReplicas"),
            ],
            short_names=["rev"],
            categories=serving_categories,
        ),
        crd(
            serving,
            "routes",
            "Route",
            ["v1"],
            labels,
            schema=SERVING_RESOURCE_SCHEMA,
            columns=ready_columns(("URL", ".status.url")),
            short_names=["rt"],
            categories=serving_categories,
        ),
        crd(
            networking,
            "serverlessservices",
            "ServerlessService",
            ["v1alpha1"],
            labels,
            columns=ready_columns(
                ("Mode", ".spec.mode"),
                ("Activators", ".spec.numActivators"),
                ("ServiceName", ".status.serviceName"),
                ("PrivateServiceName", ".status.privateServiceName"),
            ),
            short_names=["sks"],
            categories=("knative-internal", "networking"),
        ),
        crd(
            serving,
            "services",
            "Service",
            ["v1"],
            labels,
            schema=SERVING_RESOURCE_SCHEMA,
            columns=ready_columns(
                ("URL", ".status.url"),
                ("LatestCreated", ".status.latestCreatedRevisionName"),
                ("LatestReady", ".status.latestReadyRevisionName"),
            ),
            short_names=["kservice", "ksvc"],
            categories=serving_categories,
        ),
        crd(
            "caching.internal.knative.dev",
            "images",
            "Image",
            ["v1alpha1"],
            labels,
            columns=[("Image", ".spec.image")],
            short_names=["img"],
            categories=("knative-internal", "caching"),
        ),
    ]


def example_data(name: str) -> dict[str, str]:
    """The data of a serving-core ConfigMap as released: a commented example block only."""
    return {
        "_example": (
            "################################\n"
            "#                              #\n"
            "#    EXAMPLE CONFIGURATION     #\n"
            "#                              #\n"
            "################################\n"
            f"# This block is not actually functional configuration of config-{name}: copy the\n"
            "# keys you want out of it into the data block.\n"
        )
    }


def serving_core_objects(version: str, namespace: str = SERVING_NAMESPACE) -> list[Obj]:
    """serving-core.yaml without the CRDs."""
    labels = knative_labels("knative-serving", version)

    def component(name: str) -> dict:
        return knative_labels("knative-serving", version, name)

    objects: list[Obj] = [
        namespace_object(namespace, labels),
        cluster_role("knative-serving-aggregated-addressable-resolver", labels, ALL_RULES),
        cluster_role("knative-serving-addressable-resolver", labels, ALL_RULES),
        cluster_role("knative-serving-namespaced-admin", labels, ALL_RULES),
        cluster_role("knative-serving-namespaced-edit", labels, ALL_RULES),
        cluster_role("knative-serving-namespaced-view", labels, ALL_RULES),
        cluster_role("knative-serving-core", labels, ALL_RULES),
        cluster_role("knative-serving-podspecable-binding", labels, ALL_RULES),
        service_account("controller", namespace, labels),
        cluster_role("knative-serving-admin", labels, ALL_RULES),
        cluster_role_binding(
            "knative-serving-controller-admin",
            labels,
            "knative-serving-admin",
            "controller",
            namespace,
        ),
        cluster_role_binding(
            "knative-serving-controller-addressable-resolver",
            labels,
            "knative-serving-aggregated-addressable-resolver",
            "controller",
            namespace,
        ),
        {
            "apiVersion": "caching.internal.knative.dev/v1alpha1",
            "kind": "Image",
            "metadata": _meta("queue-proxy", namespace, component("queue-proxy")),
            "spec": {"image": release_image("knative.dev/serving/cmd/queue", version)},
        },
        # config/core/configmaps/*.yaml: every ConfigMap holds only its commented `_example`
        # (a missing key means the default); config-deployment adds queue-sidecar-image.
        *(
            config_map(f"config-{name}", namespace, component(part), example_data(name))
            for name, part in (
                ("autoscaler", "autoscaler"),
                ("defaults", "controller"),
            )
        ),
        config_map(
            "config-deployment",
            namespace,
            component("controller"),
            {
                **example_data("deployment"),
                "queue-sidecar-image": release_image("knative.dev/serving/cmd/queue", version),
            },
        ),
        *(
            config_map(f"config-{name}", namespace, component(part), example_data(name))
            for name, part in (
                ("domain", "controller"),
                ("features", "controller"),
                ("gc", "controller"),
                ("leader-election", "controller"),
                ("logging", "logging"),
                ("network", "networking"),
                ("observability", "observability"),
                ("tracing", "tracing"),
            )
        ),
    ]
    for name, cmd, ports in (
        ("activator", "activator", [{"name": "http1", "containerPort": 8012}]),
        ("autoscaler", "autoscaler", [{"name": "websocket", "containerPort": 8080}]),
        ("controller", "controller", [{"name": "metrics", "containerPort": 9090}]),
        ("webhook", "webhook", [{"name": "https-webhook", "containerPort": 8443}]),
    ):
        objects.append(
            deployment(
                name,
                namespace,
                component(name),
                release_image(f"knative.dev/serving/cmd/{cmd}", version),
                pod_labels={"app": name, "role": name},
                ports=ports,
                service_account="controller",
            )
        )
    objects += [
        service(
            "activator-service",
            namespace,
            component("activator"),
            {"app": "activator"},
            [{"name": "http", "port": 80, "targetPort": 8012}],
        ),
        service(
            "autoscaler",
            namespace,
            component("autoscaler"),
            {"app": "autoscaler"},
            [{"name": "http-metrics", "port": 9090, "targetPort": 9090}],
        ),
        service(
            "controller",
            namespace,
            component("controller"),
            {"app": "controller"},
            [{"name": "http-metrics", "port": 9090, "targetPort": 9090}],
        ),
        service(
            "webhook",
            namespace,
            component("webhook"),
            {"role": "webhook"},
            [{"name": "https-webhook", "port": 443, "targetPort": 8443}],
        ),
        secret("webhook-certs", namespace, component("webhook")),
    ]
    return objects


def serving_hpa_objects(version: str, namespace: str = SERVING_NAMESPACE) -> list[Obj]:
    """serving-hpa.yaml (config/hpa-autoscaling): the autoscaler-hpa Deployment."""
    labels = {
        **knative_labels("knative-serving", version, "autoscaler-hpa"),
        "autoscaling.knative.dev/autoscaler-provider": "hpa",
    }
    return [
        deployment(
            "autoscaler-hpa",
            namespace,
            labels,
            release_image("knative.dev/serving/cmd/autoscaler-hpa", version),
            pod_labels={"app": "autoscaler-hpa"},
            service_account="controller",
        ),
        service(
            "autoscaler-hpa",
            namespace,
            labels,
            {"app": "autoscaler-hpa"},
            [{"name": "http-metrics", "port": 9090, "targetPort": 9090}],
        ),
    ]


def serving_objects(version: str, namespace: str = SERVING_NAMESPACE) -> list[Obj]:
    """What the operator's kodata `knative-serving/<version>` holds, in manifest order.

    Operator kodata carries serving-crds, serving-core and serving-hpa, so autoscaler-hpa is
    part of an operator install (knative/operator `cmd/operator/kodata/knative-serving/`);
    a YAML install gets it only from serving-hpa.yaml. The Namespace is left out: the operator
    installs into the CR's namespace, which exists already.
    """
    core = [obj for obj in serving_core_objects(version, namespace) if obj["kind"] != "Namespace"]
    return serving_crd_objects(version) + core + serving_hpa_objects(version, namespace)


def default_domain_objects(version: str) -> list[Obj]:
    """serving-default-domain.yaml: the sslip.io Job (never finishes on kind, no LB IP)."""
    labels = knative_labels("knative-serving", version, "default-domain-job")
    image = release_image("knative.dev/serving/cmd/default-domain", version)
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": _meta("default-domain", SERVING_NAMESPACE, labels),
            "spec": {
                "backoffLimit": 10,
                "template": {
                    "metadata": {"labels": {"app": "default-domain", **labels}},
                    "spec": {
                        "serviceAccountName": "controller",
                        "restartPolicy": "OnFailure",
                        "containers": [
                            {
                                "name": "default-domain",
                                "image": image,
                                "args": ["-magic-dns=sslip.io"],
                            }
                        ],
                    },
                },
            },
        },
        service(
            "default-domain-service",
            SERVING_NAMESPACE,
            labels,
            {"app": "default-domain"},
            [{"name": "http", "port": 80, "targetPort": 8080}],
        ),
    ]


# --- knative-extensions/net-kourier ---------------------------------------------------------


def kourier_objects(version: str, namespace: str = KOURIER_NAMESPACE) -> list[Obj]:
    """kourier.yaml; with the default namespace, the upstream YAML layout.

    Upstream YAML: gateway, `kourier`, `kourier-internal` and kourier-bootstrap in
    `kourier-system`; net-kourier-controller and config-kourier in `knative-serving`.
    The operator (knative/operator `pkg/reconciler/knativeserving/ingress/kourier.go`)
    moves everything into the KnativeServing's namespace: pass that namespace.
    """
    yaml_layout = namespace == KOURIER_NAMESPACE
    controller_namespace = SERVING_NAMESPACE if yaml_layout else namespace
    labels = {
        "networking.knative.dev/ingress-provider": "kourier",
        "app.kubernetes.io/name": "knative-serving",
        "app.kubernetes.io/component": "net-kourier",
        "app.kubernetes.io/version": version,
    }
    gateway_pod = {"app": "3scale-kourier-gateway"}
    objects: list[Obj] = []
    if yaml_layout:
        objects.append(namespace_object(KOURIER_NAMESPACE, labels))
    objects += [
        config_map("kourier-bootstrap", namespace, labels, {"envoy-bootstrap.yaml": "{}"}),
        config_map(
            "config-kourier",
            controller_namespace,
            labels,
            {
                "enable-service-access-logging": "true",
                "cluster-cert-secret": "",
            },
        ),
        service_account("net-kourier", controller_namespace, labels),
        cluster_role("net-kourier", labels, ALL_RULES),
        cluster_role_binding(
            "net-kourier", labels, "net-kourier", "net-kourier", controller_namespace
        ),
        deployment(
            "net-kourier-controller",
            controller_namespace,
            labels,
            release_image("knative.dev/net-kourier/cmd/kourier", version),
            pod_labels={"app": "net-kourier-controller"},
            service_account="net-kourier",
            ports=[{"name": "http2-xds", "containerPort": 18000}],
        ),
        service(
            "net-kourier-controller",
            controller_namespace,
            labels,
            {"app": "net-kourier-controller"},
            [{"name": "grpc-xds", "port": 18000, "targetPort": 18000}],
        ),
        deployment(
            "3scale-kourier-gateway",
            namespace,
            labels,
            "docker.io/envoyproxy/envoy@" + fake_digest("envoy", version),
            pod_labels=gateway_pod,
            ports=[
                {"name": "http2-external", "containerPort": 8080},
                {"name": "http2-internal", "containerPort": 8081},
                {"name": "https-external", "containerPort": 8443},
            ],
        ),
        # kind has no load balancer: status.loadBalancer stays empty (EXTERNAL-IP <pending>).
        service(
            "kourier",
            namespace,
            labels,
            gateway_pod,
            [
                {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443},
            ],
            service_type="LoadBalancer",
        ),
        service(
            "kourier-internal",
            namespace,
            labels,
            gateway_pod,
            [
                {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8081},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8444},
            ],
        ),
    ]
    return objects


# --- the provider -----------------------------------------------------------------------------


def dump(objects: list[Obj]) -> bytes:
    """Multi-document YAML as upstream release files are."""
    return yaml.safe_dump_all(objects, sort_keys=False).encode()


def _drifted(version: str) -> str:
    """Another patch of the same minor: the one before, or the one after a .0."""
    major, minor, patch = (int(part) for part in version.split("."))
    return f"{major}.{minor}.{patch - 1 if patch else patch + 1}"


def asset(org: str, repo: str, tag: str, filename: str, sim: object) -> bytes | None:
    """Mirror provider: this module's files for a `knative-vX.Y.Z` tag, else None."""
    version = knative_release_version(tag)
    if version is None:
        return None
    generators = {
        ("knative", "operator", "operator.yaml"): lambda: operator_objects(
            version, _drifted(version) if faults.OPERATOR_RELEASE_DRIFT in sim.faults else None
        ),
        ("knative", "serving", "serving-crds.yaml"): lambda: serving_crd_objects(version),
        ("knative", "serving", "serving-core.yaml"): lambda: serving_core_objects(version),
        ("knative", "serving", "serving-hpa.yaml"): lambda: serving_hpa_objects(version),
        ("knative", "serving", "serving-default-domain.yaml"): lambda: default_domain_objects(
            version
        ),
        ("knative-extensions", "net-kourier", "kourier.yaml"): lambda: kourier_objects(version),
    }
    generator = generators.get((org, repo, filename))
    return dump(generator()) if generator else None
