"""Release assets of knative/eventing, knative-extensions/eventing-github, n3wscott/sockeye
and triggermesh/triggermesh.

Generated per version, structurally faithful to upstream (kinds, names, namespaces, API
versions, labels), not copies:
- eventing-crds.yaml / eventing-core.yaml follow knative/eventing `config/core/resources/*`
  (the CRDs; eventing-core.yaml carries them too, as upstream's does, so applying both is
  idempotent), `config/core/deployments/*`, `config/core/configmaps/*`, `config/core/roles/*`;
  in-memory-channel.yaml follows `config/channels/in-memory-channel/`; mt-channel-broker.yaml
  follows `config/brokers/mt-channel-broker/`.
- the GitHub source follows knative-extensions/eventing-github `config/` (namespace
  `knative-sources`, StatefulSet `github-controller-manager`, Deployment `github-webhook`).
- sockeye v0.7.0 `release.yaml` is sockeye's `config/` resolved by ko: one Knative Service.
- TriggerMesh v1.26.0 follows triggermesh/triggermesh `config/` (`300-*.yaml` CRDs,
  `500-controller.yaml`, `500-webhook.yaml`, `200-clusterroles.yaml`).
"""

from __future__ import annotations

from typing import Any

from tests.sim.mirror.knative_core import (
    ALL_RULES,
    CREATION_TIMESTAMP,
    STRING,
    bare_version,
    cluster_role,
    cluster_role_binding,
    config_map,
    crd,
    deployment,
    dump,
    fake_digest,
    knative_labels,
    knative_release_version,
    minor_of,
    namespace_object,
    object_schema,
    ready_columns,
    release_image,
    resource_schema,
    secret,
    service,
    service_account,
)

Obj = dict[str, Any]

EVENTING_NAMESPACE = "knative-eventing"
GITHUB_SOURCE_NAMESPACE = "knative-sources"
TRIGGERMESH_NAMESPACE = "triggermesh"
TRIGGERMESH_VERSION = "1.26.0"
SOCKEYE_VERSION = "0.7.0"
PINGSOURCE_ADAPTER = "pingsource-mt-adapter"


def _eventing_labels(version: str, component: str | None = None) -> dict:
    return knative_labels("knative-eventing", version, component)


def _columns_for(kind: str) -> list[tuple[str, str]]:
    """Printer columns of the sources/brokers CRDs (config/core/resources/*.yaml)."""
    ready = ready_columns(("Age", CREATION_TIMESTAMP))
    if kind == "PingSource":
        return [("Sink", ".status.sinkUri"), ("Schedule", ".spec.schedule"), *ready]
    if kind in ("ApiServerSource", "ContainerSource", "SinkBinding", "IntegrationSource"):
        return [("Sink", ".status.sinkUri"), *ready]
    if kind == "Broker":
        return [("URL", ".status.address.url"), *ready]
    if kind == "Trigger":
        return [
            ("Broker", ".spec.broker"),
            ("Subscriber_URI", ".status.subscriberUri"),
            *ready,
        ]
    return [("URL", ".status.address.url"), *ready]


def _eventtype_versions(version: str) -> list[str]:
    """EventType: v1beta1 until 1.11, v1beta2 from 1.12, v1beta3 from 1.15 (storage first).

    INFERRED from eventing `config/core/resources/eventtype.yaml` history.
    """
    minor = minor_of(version)
    if minor >= (1, 15):
        return ["v1beta3", "v1beta2", "v1beta1"]
    if minor >= (1, 12):
        return ["v1beta2", "v1beta1"]
    return ["v1beta1"]


# config/core/resources/pingsource.yaml (v1 and v1beta2 share these spec fields).
PING_SOURCE_SCHEMA = resource_schema(
    object_schema(
        {
            "ceOverrides": object_schema(
                {"extensions": {"type": "object", "additionalProperties": STRING}}
            ),
            "contentType": STRING,
            "data": STRING,
            "dataBase64": STRING,
            "schedule": STRING,
            "timezone": STRING,
            "sink": object_schema(
                {
                    "ref": object_schema(
                        {
                            "apiVersion": STRING,
                            "kind": STRING,
                            "name": STRING,
                            "namespace": STRING,
                        },
                        open_fields=True,
                    ),
                    "uri": STRING,
                    "CACerts": STRING,
                    "audience": STRING,
                },
                open_fields=True,
            ),
        }
    ),
)


def eventing_crd_objects(version: str) -> list[Obj]:
    """eventing-crds.yaml: config/core/resources/*.yaml, without in-memory channels."""
    version = bare_version(version)
    labels = {**_eventing_labels(version), "knative.dev/crd-install": "true"}
    sources = ["all", "knative", "sources"]
    eventing = ["all", "knative", "eventing"]
    messaging = ["all", "knative", "messaging", "channel"]
    flows = ["all", "knative", "flows"]
    specs: list[tuple[str, str, str, list[str], list[str]]] = [
        ("sources.knative.dev", "apiserversources", "ApiServerSource", ["v1"], sources),
        ("eventing.knative.dev", "brokers", "Broker", ["v1"], eventing),
        ("messaging.knative.dev", "channels", "Channel", ["v1"], messaging),
        ("sources.knative.dev", "containersources", "ContainerSource", ["v1"], sources),
        ("eventing.knative.dev", "eventtypes", "EventType", _eventtype_versions(version), eventing),
        ("flows.knative.dev", "parallels", "Parallel", ["v1"], flows),
        # pingsource.yaml: v1beta2 stays served (kn <= 1.16 writes it), v1 is the storage one.
        ("sources.knative.dev", "pingsources", "PingSource", ["v1", "v1beta2"], sources),
        ("flows.knative.dev", "sequences", "Sequence", ["v1"], flows),
        ("sources.knative.dev", "sinkbindings", "SinkBinding", ["v1"], sources),
        ("messaging.knative.dev", "subscriptions", "Subscription", ["v1"], messaging),
        ("eventing.knative.dev", "triggers", "Trigger", ["v1"], eventing),
    ]
    minor = minor_of(version)
    if minor >= (1, 14):
        # INFERRED: JobSink (sinks.knative.dev) appeared with 1.14.
        specs.append(("sinks.knative.dev", "jobsinks", "JobSink", ["v1alpha1"], eventing))
    if minor >= (1, 15):
        # INFERRED: EventPolicy (eventing.knative.dev/v1alpha1) appeared with 1.15.
        specs.append(
            ("eventing.knative.dev", "eventpolicies", "EventPolicy", ["v1alpha1"], eventing)
        )
    if minor >= (1, 17):
        specs.append(
            (
                "sources.knative.dev",
                "integrationsources",
                "IntegrationSource",
                ["v1alpha1"],
                sources,
            )
        )
    objects = []
    for group, plural, kind, versions, categories in specs:
        definition = crd(
            group,
            plural,
            kind,
            versions,
            labels,
            columns=_columns_for(kind),
            categories=categories,
            schema=PING_SOURCE_SCHEMA if kind == "PingSource" else None,
        )
        if kind.endswith("Source") or kind == "SinkBinding":
            definition["metadata"]["labels"]["duck.knative.dev/source"] = "true"
        objects.append(definition)
    return objects


def _eventing_deployment(
    name: str,
    namespace: str,
    version: str,
    image_path: str,
    container: str,
    *,
    replicas: int = 1,
    pod_labels: dict,
    service_account: str,
    ports: list[Obj] = (),
    component: str | None = None,
) -> Obj:
    labels = {**_eventing_labels(version, component or name), "app": name}
    return deployment(
        name,
        namespace,
        labels,
        release_image(image_path, version),
        replicas=replicas,
        pod_labels=pod_labels,
        ports=list(ports),
        service_account=service_account,
        container_name=container,
    )


def _webhook_configuration(
    kind: str, name: str, service_name: str, namespace: str, labels: dict, failure_policy: str
) -> Obj:
    """A Mutating/ValidatingWebhookConfiguration with one webhook `name` served by the
    Service `service_name` (as knative/pkg `webhook` registers them)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name, "labels": dict(labels)},
        "webhooks": [
            {
                "name": name,
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": {"service": {"name": service_name, "namespace": namespace}},
                "failurePolicy": failure_policy,
                "sideEffects": "None",
                "timeoutSeconds": 10,
            }
        ],
    }


def _webhook_configurations(
    prefix: str, service_name: str, namespace: str, labels: dict, failure_policy: str
) -> list[Obj]:
    """The defaulting / validation / config webhooks knative/pkg `webhook` registers."""
    return [
        _webhook_configuration(
            kind, f"{name}.{prefix}", service_name, namespace, labels, failure_policy
        )
        for kind, name in (
            ("MutatingWebhookConfiguration", "webhook"),
            ("ValidatingWebhookConfiguration", "validation.webhook"),
            ("ValidatingWebhookConfiguration", "config.webhook"),
        )
    ]


def eventing_core_objects(version: str, namespace: str = EVENTING_NAMESPACE) -> list[Obj]:
    """eventing-core.yaml: Namespace, CRDs, RBAC, ConfigMaps, controller, webhook, adapter."""
    version = bare_version(version)
    labels = _eventing_labels(version)
    objects: list[Obj] = [namespace_object(namespace, labels)]
    objects += eventing_crd_objects(version)
    objects += [
        service_account("eventing-controller", namespace, labels),
        service_account("eventing-webhook", namespace, labels),
        service_account("pingsource-mt-adapter", namespace, labels),
        # config/core/roles/addressable-resolvers-clusterrole.yaml: an aggregated role.
        {
            **cluster_role("addressable-resolver", labels, []),
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"duck.knative.dev/addressable": "true"}}]
            },
        },
        {
            **cluster_role("source-observer", labels, []),
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"duck.knative.dev/source": "true"}}]
            },
        },
        cluster_role("knative-eventing-controller", labels, ALL_RULES),
        cluster_role("knative-eventing-pingsource-mt-adapter", labels, ALL_RULES),
        cluster_role("knative-eventing-webhook", labels, ALL_RULES),
        cluster_role("knative-eventing-namespaced-admin", labels, ALL_RULES),
        cluster_role("knative-eventing-namespaced-edit", labels, ALL_RULES),
        cluster_role("knative-eventing-namespaced-view", labels, ALL_RULES),
        cluster_role_binding(
            "eventing-controller",
            labels,
            "knative-eventing-controller",
            "eventing-controller",
            namespace,
        ),
        cluster_role_binding(
            "eventing-controller-resolver",
            labels,
            "addressable-resolver",
            "eventing-controller",
            namespace,
        ),
        cluster_role_binding(
            "eventing-controller-source-observer",
            labels,
            "source-observer",
            "eventing-controller",
            namespace,
        ),
        cluster_role_binding(
            "knative-eventing-pingsource-mt-adapter",
            labels,
            "knative-eventing-pingsource-mt-adapter",
            "pingsource-mt-adapter",
            namespace,
        ),
        cluster_role_binding(
            "eventing-webhook", labels, "knative-eventing-webhook", "eventing-webhook", namespace
        ),
        config_map(
            "config-br-default-channel",
            namespace,
            labels,
            {
                "channel-template-spec": "apiVersion: messaging.knative.dev/v1\n"
                "kind: InMemoryChannel\n",
            },
        ),
        config_map(
            "config-br-defaults",
            namespace,
            labels,
            {
                "default-br-config": "clusterDefault:\n  brokerClass: MTChannelBasedBroker\n"
                "  apiVersion: v1\n  kind: ConfigMap\n"
                "  name: config-br-default-channel\n"
                f"  namespace: {namespace}\n",
            },
        ),
        config_map(
            "default-ch-webhook",
            namespace,
            labels,
            {
                "default-ch-config": "clusterDefault:\n  apiVersion: messaging.knative.dev/v1\n"
                "  kind: InMemoryChannel\n",
            },
        ),
        config_map("config-ping-defaults", namespace, labels, {"data-max-size": "-1"}),
        config_map("config-features", namespace, labels, {}),
        config_map("config-kreference-mapping", namespace, labels, {}),
        config_map("config-leader-election", namespace, labels, {}),
        config_map("config-logging", namespace, labels, {}),
        config_map("config-observability", namespace, labels, {}),
        config_map("config-sugar", namespace, labels, {}),
        config_map("config-tracing", namespace, labels, {}),
        _eventing_deployment(
            "eventing-controller",
            namespace,
            version,
            "knative.dev/eventing/cmd/controller",
            "eventing-controller",
            pod_labels={"app": "eventing-controller"},
            service_account="eventing-controller",
            ports=[{"name": "metrics", "containerPort": 9090}],
        ),
        # config/core/deployments/pingsource-mt-adapter.yaml: replicas 0; the PingSource
        # reconciler scales it to 1 when the first PingSource appears.
        _eventing_deployment(
            PINGSOURCE_ADAPTER,
            namespace,
            version,
            "knative.dev/eventing/cmd/mtping",
            "dispatcher",
            replicas=0,
            pod_labels={
                "sources.knative.dev/role": "adapter",
                "eventing.knative.dev/source": "ping-source-controller",
            },
            service_account="pingsource-mt-adapter",
            component="pingsource-mt-adapter",
            ports=[{"name": "metrics", "containerPort": 9090}],
        ),
        _eventing_deployment(
            "eventing-webhook",
            namespace,
            version,
            "knative.dev/eventing/cmd/webhook",
            "eventing-webhook",
            pod_labels={"app": "eventing-webhook", "role": "eventing-webhook"},
            service_account="eventing-webhook",
            component="eventing-webhook",
            ports=[{"name": "https-webhook", "containerPort": 8443}],
        ),
        service(
            "eventing-webhook",
            namespace,
            labels,
            {"role": "eventing-webhook"},
            [{"name": "https-webhook", "port": 443, "targetPort": 8443}],
        ),
        secret("eventing-webhook-certs", namespace, labels),
    ]
    objects += _webhook_configurations(
        "eventing.knative.dev", "eventing-webhook", namespace, labels, "Fail"
    )
    objects.append(
        _webhook_configuration(
            "MutatingWebhookConfiguration",
            "sinkbindings.webhook.sources.knative.dev",
            "eventing-webhook",
            namespace,
            labels,
            "Fail",
        )
    )
    return objects


def in_memory_channel_objects(version: str, namespace: str = EVENTING_NAMESPACE) -> list[Obj]:
    """in-memory-channel.yaml: the InMemoryChannel CRD, imc-controller and imc-dispatcher."""
    version = bare_version(version)
    labels = {**_eventing_labels(version), "messaging.knative.dev/channel": "in-memory-channel"}
    imc_crd = crd(
        "messaging.knative.dev",
        "inmemorychannels",
        "InMemoryChannel",
        ["v1"],
        {**labels, "knative.dev/crd-install": "true", "duck.knative.dev/addressable": "true"},
        columns=_columns_for("InMemoryChannel"),
        categories=["all", "knative", "messaging", "channel"],
        short_names=["imc"],
    )
    return [
        imc_crd,
        service_account("imc-controller", namespace, labels),
        service_account("imc-dispatcher", namespace, labels),
        {
            **cluster_role(
                "imc-addressable-resolver",
                {**labels, "duck.knative.dev/addressable": "true"},
                ALL_RULES,
            )
        },
        {
            **cluster_role(
                "imc-channelable-manipulator",
                {**labels, "duck.knative.dev/channelable": "true"},
                ALL_RULES,
            )
        },
        cluster_role("imc-controller", labels, ALL_RULES),
        cluster_role("imc-dispatcher", labels, ALL_RULES),
        cluster_role_binding(
            "imc-controller", labels, "imc-controller", "imc-controller", namespace
        ),
        cluster_role_binding(
            "imc-dispatcher", labels, "imc-dispatcher", "imc-dispatcher", namespace
        ),
        config_map(
            "config-imc-event-dispatcher",
            namespace,
            labels,
            {
                "MaxIdleConnections": "1000",
                "MaxIdleConnectionsPerHost": "100",
            },
        ),
        _eventing_deployment(
            "imc-controller",
            namespace,
            version,
            "knative.dev/eventing/cmd/in_memory/channel_controller",
            "controller",
            pod_labels={
                "messaging.knative.dev/channel": "in-memory-channel",
                "messaging.knative.dev/role": "controller",
            },
            service_account="imc-controller",
            component="imc-controller",
        ),
        _eventing_deployment(
            "imc-dispatcher",
            namespace,
            version,
            "knative.dev/eventing/cmd/in_memory/channel_dispatcher",
            "dispatcher",
            pod_labels={
                "messaging.knative.dev/channel": "in-memory-channel",
                "messaging.knative.dev/role": "dispatcher",
            },
            service_account="imc-dispatcher",
            component="imc-dispatcher",
            ports=[{"name": "http", "containerPort": 8080}],
        ),
        service(
            "imc-dispatcher",
            namespace,
            labels,
            {
                "messaging.knative.dev/channel": "in-memory-channel",
                "messaging.knative.dev/role": "dispatcher",
            },
            [{"name": "http-dispatcher", "port": 80, "targetPort": 8080}],
        ),
    ]


def mt_channel_broker_objects(version: str, namespace: str = EVENTING_NAMESPACE) -> list[Obj]:
    """mt-channel-broker.yaml: broker filter, ingress and controller."""
    version = bare_version(version)
    labels = _eventing_labels(version)
    objects: list[Obj] = [
        cluster_role("knative-eventing-mt-channel-broker-controller", labels, ALL_RULES),
        cluster_role("knative-eventing-mt-broker-filter", labels, ALL_RULES),
        cluster_role("knative-eventing-mt-broker-ingress", labels, ALL_RULES),
        service_account("mt-broker-filter", namespace, labels),
        service_account("mt-broker-ingress", namespace, labels),
        cluster_role_binding(
            "eventing-mt-channel-broker-controller",
            labels,
            "knative-eventing-mt-channel-broker-controller",
            "eventing-controller",
            namespace,
        ),
        cluster_role_binding(
            "knative-eventing-mt-broker-filter",
            labels,
            "knative-eventing-mt-broker-filter",
            "mt-broker-filter",
            namespace,
        ),
        cluster_role_binding(
            "knative-eventing-mt-broker-ingress",
            labels,
            "knative-eventing-mt-broker-ingress",
            "mt-broker-ingress",
            namespace,
        ),
    ]
    for name, image, container, role, account in (
        (
            "mt-broker-filter",
            "knative.dev/eventing/cmd/broker/filter",
            "filter",
            "filter",
            "mt-broker-filter",
        ),
        (
            "mt-broker-ingress",
            "knative.dev/eventing/cmd/broker/ingress",
            "ingress",
            "ingress",
            "mt-broker-ingress",
        ),
        (
            "mt-broker-controller",
            "knative.dev/eventing/cmd/mtchannel_broker",
            "mt-broker-controller",
            None,
            "eventing-controller",
        ),
    ):
        pod_labels = {"eventing.knative.dev/brokerRole": role} if role else {"app": name}
        objects.append(
            _eventing_deployment(
                name,
                namespace,
                version,
                image,
                container,
                pod_labels=pod_labels,
                service_account=account,
            )
        )
    objects += [
        service(
            "broker-filter",
            namespace,
            labels,
            {"eventing.knative.dev/brokerRole": "filter"},
            [{"name": "http", "port": 80, "targetPort": 8080}],
        ),
        service(
            "broker-ingress",
            namespace,
            labels,
            {"eventing.knative.dev/brokerRole": "ingress"},
            [{"name": "http", "port": 80, "targetPort": 8080}],
        ),
    ]
    return objects


def eventing_objects(version: str, namespace: str = EVENTING_NAMESPACE) -> list[Obj]:
    """What the operator's kodata `knative-eventing/<version>` holds, in manifest order.

    The union of the four release files (knative/operator `cmd/operator/kodata/
    knative-eventing/<version>/`), each object once; the Namespace is left out because the
    operator installs into the CR's namespace, which exists already.
    """
    version = bare_version(version)
    seen: set[tuple[str, str, str]] = set()
    objects: list[Obj] = []
    for part in (
        eventing_core_objects(version, namespace),
        in_memory_channel_objects(version, namespace),
        mt_channel_broker_objects(version, namespace),
    ):
        for obj in part:
            key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if obj["kind"] == "Namespace" or key in seen:
                continue
            seen.add(key)
            objects.append(obj)
    return objects


# --- knative-extensions/eventing-github ------------------------------------------------------


def github_source_objects(version: str, namespace: str = GITHUB_SOURCE_NAMESPACE) -> list[Obj]:
    """eventing-github's release (config/) for Eventing `version`: what the operator installs
    for `spec.source.github.enabled` (knative/operator `pkg/reconciler/knativeeventing/
    source/`, kodata `eventing-source/<minor>/github`).

    The release's objects carry only `contrib.eventing.knative.dev/release` (plus
    `control-plane` on the StatefulSet), no `app.kubernetes.io/*` (live-objects.md 8.3). The
    operator runs `mf.InjectNamespace(<CR namespace>)` over them, which renames the
    `knative-sources` Namespace object too: pass that namespace, and the Namespace object is
    left out (it is the CR's, which exists already).
    """
    major, minor = minor_of(version)
    # The operator's kodata carries eventing-github's .0 of the minor (v1.11.0 beside Eventing
    # 1.11.1 in operator 1.11.4); newer patches of the source are INFERRED to follow suit.
    labels = {"contrib.eventing.knative.dev/release": f"v{major}.{minor}.0"}
    version = f"{major}.{minor}.0"
    crd_labels = {**labels, "knative.dev/crd-install": "true"}
    github_source = crd(
        "sources.knative.dev",
        "githubsources",
        "GitHubSource",
        ["v1alpha1"],
        {**crd_labels, "duck.knative.dev/source": "true"},
        columns=_columns_for("ContainerSource"),
        categories=["all", "knative", "sources"],
    )
    github_binding = crd(
        "bindings.knative.dev",
        "githubbindings",
        "GitHubBinding",
        ["v1alpha1"],
        {**crd_labels, "duck.knative.dev/binding": "true"},
        columns=ready_columns(),
        categories=["all", "knative", "bindings"],
    )
    controller_image = release_image("knative.dev/eventing-github/cmd/controller", version)
    controller = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "github-controller-manager",
            "namespace": namespace,
            "labels": {**labels, "control-plane": "github-controller-manager"},
        },
        "spec": {
            "replicas": 1,
            "serviceName": "github-controller-manager",
            "selector": {"matchLabels": {"control-plane": "github-controller-manager"}},
            "template": {
                "metadata": {"labels": {**labels, "control-plane": "github-controller-manager"}},
                "spec": {
                    "serviceAccountName": "github-controller-manager",
                    "containers": [
                        {
                            "name": "manager",
                            "image": controller_image,
                            "env": [
                                {
                                    "name": "GH_RA_IMAGE",
                                    "value": release_image(
                                        "knative.dev/eventing-github/cmd/receive_adapter", version
                                    ),
                                }
                            ],
                        }
                    ],
                },
            },
        },
    }
    webhook = deployment(
        "github-webhook",
        namespace,
        labels,
        release_image("knative.dev/eventing-github/cmd/webhook", version),
        pod_labels={"app": "github-webhook", "role": "github-webhook"},
        service_account="github-controller-manager",
        ports=[{"name": "https-webhook", "containerPort": 8443}],
        container_name="github-webhook",
    )
    own_namespace = (
        [namespace_object(namespace, labels)] if namespace == GITHUB_SOURCE_NAMESPACE else []
    )
    return [
        *own_namespace,
        service_account("github-controller-manager", namespace, labels),
        cluster_role("eventing-sources-github-controller", labels, ALL_RULES),
        cluster_role(
            "eventing-contrib-github-source-observer",
            {**labels, "duck.knative.dev/source": "true"},
            ALL_RULES,
        ),
        cluster_role_binding(
            "eventing-sources-github-controller",
            labels,
            "eventing-sources-github-controller",
            "github-controller-manager",
            namespace,
        ),
        cluster_role_binding(
            "eventing-sources-github-addressable-resolver",
            labels,
            "addressable-resolver",
            "github-controller-manager",
            namespace,
        ),
        github_binding,
        github_source,
        config_map("config-logging", namespace, labels, {}),
        config_map("config-observability", namespace, labels, {}),
        config_map("config-leader-election-github", namespace, labels, {}),
        secret("github-webhook-certs", namespace, labels),
        service(
            "github-controller-manager",
            namespace,
            labels,
            {"control-plane": "github-controller-manager"},
            [{"name": "metrics", "port": 9090, "targetPort": 9090}],
        ),
        service(
            "github-webhook",
            namespace,
            {**labels, "role": "github-webhook"},
            {"role": "github-webhook"},
            [{"name": "https-webhook", "port": 443, "targetPort": 8443}],
        ),
        controller,
        webhook,
        *_webhook_configurations(
            "github.sources.knative.dev", "github-webhook", namespace, labels, "Fail"
        ),
    ]


# --- n3wscott/sockeye ------------------------------------------------------------------------

SOCKEYE_IMAGE = (
    f"docker.io/n3wscott/sockeye:v{SOCKEYE_VERSION}@"
    f"{fake_digest('n3wscott/sockeye', SOCKEYE_VERSION)}"
)


def sockeye_objects() -> list[Obj]:
    """sockeye v0.7.0 release.yaml: one Knative Service, no namespace (ko-resolved config/)."""
    return [
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "sockeye"},
            "spec": {"template": {"spec": {"containers": [{"image": SOCKEYE_IMAGE}]}}},
        }
    ]


# --- triggermesh/triggermesh -----------------------------------------------------------------

# The kinds of triggermesh v1.26.0 `config/30[0-4]-*.yaml`, per group (38/34/5/2/1), read
# from the tag's tree: targets include SolaceTarget and no AlibabaOSSTarget.
TRIGGERMESH_KINDS: dict[str, list[str]] = {
    "sources.triggermesh.io": [
        "AWSCloudWatchLogsSource",
        "AWSCloudWatchSource",
        "AWSCodeCommitSource",
        "AWSCognitoIdentitySource",
        "AWSCognitoUserPoolSource",
        "AWSDynamoDBSource",
        "AWSEventBridgeSource",
        "AWSKinesisSource",
        "AWSPerformanceInsightsSource",
        "AWSS3Source",
        "AWSSNSSource",
        "AWSSQSSource",
        "AzureActivityLogsSource",
        "AzureBlobStorageSource",
        "AzureEventGridSource",
        "AzureEventHubsSource",
        "AzureIOTHubSource",
        "AzureQueueStorageSource",
        "AzureServiceBusQueueSource",
        "AzureServiceBusSource",
        "AzureServiceBusTopicSource",
        "CloudEventsSource",
        "GoogleCloudAuditLogsSource",
        "GoogleCloudBillingSource",
        "GoogleCloudPubSubSource",
        "GoogleCloudSourceRepositoriesSource",
        "GoogleCloudStorageSource",
        "HTTPPollerSource",
        "IBMMQSource",
        "KafkaSource",
        "MongoDBSource",
        "OCIMetricsSource",
        "SalesforceSource",
        "SlackSource",
        "SolaceSource",
        "TwilioSource",
        "WebhookSource",
        "ZendeskSource",
    ],
    "targets.triggermesh.io": [
        "AWSComprehendTarget",
        "AWSDynamoDBTarget",
        "AWSEventBridgeTarget",
        "AWSKinesisTarget",
        "AWSLambdaTarget",
        "AWSS3Target",
        "AWSSNSTarget",
        "AWSSQSTarget",
        "AzureEventHubsTarget",
        "AzureSentinelTarget",
        "AzureServiceBusTarget",
        "CloudEventsTarget",
        "DatadogTarget",
        "ElasticsearchTarget",
        "GoogleCloudFirestoreTarget",
        "GoogleCloudPubSubTarget",
        "GoogleCloudStorageTarget",
        "GoogleCloudWorkflowsTarget",
        "GoogleSheetTarget",
        "HTTPTarget",
        "IBMMQTarget",
        "JiraTarget",
        "KafkaTarget",
        "LogzMetricsTarget",
        "LogzTarget",
        "MongoDBTarget",
        "OracleTarget",
        "SalesforceTarget",
        "SendGridTarget",
        "SlackTarget",
        "SolaceTarget",
        "SplunkTarget",
        "TwilioTarget",
        "ZendeskTarget",
    ],
    "flow.triggermesh.io": [
        "JQTransformation",
        "Synchronizer",
        "Transformation",
        "XMLToJSONTransformation",
        "XSLTTransformation",
    ],
    "routing.triggermesh.io": ["Filter", "Splitter"],
    "extensions.triggermesh.io": ["Function"],
}


# What triggermesh-addressable-resolver grants (read-only access to its addressable kinds),
# aggregated into `addressable-resolver`.
TRIGGERMESH_ADDRESSABLE_RULES = [
    {
        "apiGroups": [group],
        "resources": [f"{kind.lower()}s" for kind in TRIGGERMESH_KINDS[group]],
        "verbs": ["get", "list", "watch"],
    }
    for group in ("targets.triggermesh.io", "flow.triggermesh.io")
]


def _triggermesh_labels() -> dict:
    return {
        "app.kubernetes.io/part-of": "triggermesh",
        "app.kubernetes.io/version": f"v{TRIGGERMESH_VERSION}",
    }


def triggermesh_crd_objects() -> list[Obj]:
    """triggermesh-crds.yaml: all v1alpha1, namespaced, no short names."""
    objects = []
    for group, kinds in TRIGGERMESH_KINDS.items():
        category = group.split(".", 1)[0]
        for kind in kinds:
            labels = {**_triggermesh_labels(), "triggermesh.io/crd-install": "true"}
            if category == "sources":
                labels["duck.knative.dev/source"] = "true"
            else:
                labels["duck.knative.dev/addressable"] = "true"
            objects.append(
                crd(
                    group,
                    f"{kind.lower()}s",
                    kind,
                    ["v1alpha1"],
                    labels,
                    columns=_columns_for("ContainerSource" if category == "sources" else kind),
                    categories=["all", "knative", "eventing", category],
                )
            )
    return objects


def triggermesh_objects() -> list[Obj]:
    """triggermesh.yaml: namespace triggermesh, RBAC, controller, webhook, webhooks."""
    namespace = TRIGGERMESH_NAMESPACE
    labels = _triggermesh_labels()
    version = f"v{TRIGGERMESH_VERSION}"

    def image(name: str) -> str:
        return f"gcr.io/triggermesh/{name}:{version}"

    controller = deployment(
        "triggermesh-controller",
        namespace,
        {**labels, "app": "triggermesh-controller"},
        image("triggermesh-controller"),
        pod_labels={"app": "triggermesh-controller"},
        service_account="triggermesh-controller",
        ports=[{"name": "metrics", "containerPort": 9090}],
        container_name="controller",
    )
    webhook = deployment(
        "triggermesh-webhook",
        namespace,
        {**labels, "app": "triggermesh-webhook"},
        image("triggermesh-webhook"),
        pod_labels={"app": "triggermesh-webhook"},
        service_account="triggermesh-webhook",
        ports=[{"name": "https-webhook", "containerPort": 8443}],
        container_name="webhook",
    )
    return [
        namespace_object(namespace, labels),
        cluster_role("triggermesh-controller", labels, ALL_RULES),
        cluster_role("triggermesh-webhook", labels, ALL_RULES),
        # config/200-clusterroles.yaml: a copy of Eventing's aggregated role, same name and
        # selector, "to allow running TriggerMesh in a cluster which doesn't have Knative
        # Eventing deployed"; deleting this file deletes Eventing's `addressable-resolver`.
        {
            **cluster_role(
                "addressable-resolver", {"app.kubernetes.io/part-of": "triggermesh"}, []
            ),
            "aggregationRule": {
                "clusterRoleSelectors": [{"matchLabels": {"duck.knative.dev/addressable": "true"}}]
            },
        },
        cluster_role(
            "triggermesh-addressable-resolver",
            {"app.kubernetes.io/part-of": "triggermesh", "duck.knative.dev/addressable": "true"},
            TRIGGERMESH_ADDRESSABLE_RULES,
        ),
        cluster_role(
            "triggermesh-source-observer", {**labels, "duck.knative.dev/source": "true"}, ALL_RULES
        ),
        service_account("triggermesh-controller", namespace, labels),
        service_account("triggermesh-webhook", namespace, labels),
        cluster_role_binding(
            "triggermesh-controller",
            labels,
            "triggermesh-controller",
            "triggermesh-controller",
            namespace,
        ),
        cluster_role_binding(
            "triggermesh-webhook", labels, "triggermesh-webhook", "triggermesh-webhook", namespace
        ),
        cluster_role_binding(
            "triggermesh-controller-addressable-resolver",
            labels,
            "addressable-resolver",
            "triggermesh-controller",
            namespace,
        ),
        config_map("config-logging", namespace, labels, {}),
        config_map("config-observability", namespace, labels, {}),
        config_map("config-leader-election", namespace, labels, {}),
        secret("triggermesh-webhook-certs", namespace, labels),
        controller,
        webhook,
        service(
            "triggermesh-webhook",
            namespace,
            labels,
            {"app": "triggermesh-webhook"},
            [{"name": "https-webhook", "port": 443, "targetPort": 8443}],
        ),
        # config/500-webhook-configuration.yaml: two, without rules until the webhook runs
        # and fills them in (so they admit everything while its image does not pull).
        *(
            _webhook_configuration(kind, name, "triggermesh-webhook", namespace, labels, "Fail")
            for kind, name in (
                ("MutatingWebhookConfiguration", "defaulting.webhook.triggermesh.io"),
                ("ValidatingWebhookConfiguration", "validation.webhook.triggermesh.io"),
            )
        ),
    ]


# --- the provider ----------------------------------------------------------------------------


def asset(org: str, repo: str, tag: str, filename: str, sim: object) -> bytes | None:
    """Mirror provider: this module's files, else None."""
    if (org, repo) == ("n3wscott", "sockeye"):
        if (tag, filename) == (f"v{SOCKEYE_VERSION}", "release.yaml"):
            return dump(sockeye_objects())
        return None
    if (org, repo) == ("triggermesh", "triggermesh"):
        if tag != f"v{TRIGGERMESH_VERSION}":
            return None
        generators = {
            "triggermesh-crds.yaml": triggermesh_crd_objects,
            "triggermesh.yaml": triggermesh_objects,
        }
        generator = generators.get(filename)
        return dump(generator()) if generator else None
    version = knative_release_version(tag)
    if (org, repo) != ("knative", "eventing") or version is None:
        return None
    generators = {
        "eventing-crds.yaml": eventing_crd_objects,
        "eventing-core.yaml": eventing_core_objects,
        "in-memory-channel.yaml": in_memory_channel_objects,
        "mt-channel-broker.yaml": mt_channel_broker_objects,
    }
    generator = generators.get(filename)
    return dump(generator(version)) if generator else None
