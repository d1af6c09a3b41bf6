"""Self-tests of the simulated Knative Operator, the mirror's operator/serving/kourier manifests
and the kube controllers, driven through the official kubernetes client and real kubectl."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest
import requests
import yaml
from kubernetes import client, utils

from tests.conftest import KUBECTL, StoreChanges, api_client, condition, mirror_url, wait_until
from tests.sim import SimCluster

OPERATOR_GROUP, OPERATOR_VERSION = "operator.knative.dev", "v1beta1"

SERVING_CR = {  # the chapter's serving.yaml plus the sslip.io domain the harness configures
    "apiVersion": "operator.knative.dev/v1beta1",
    "kind": "KnativeServing",
    "metadata": {"name": "knative-serving", "namespace": "knative-serving"},
    "spec": {
        "ingress": {"kourier": {"enabled": True}},
        "config": {
            "network": {"ingress-class": "kourier.ingress.networking.knative.dev"},
            "domain": {"127.0.0.1.sslip.io": ""},
        },
    },
}
EVENTING_CR = {
    "apiVersion": "operator.knative.dev/v1beta1",
    "kind": "KnativeEventing",
    "metadata": {"name": "knative-eventing", "namespace": "knative-eventing"},
}


def mirror_objects(sim: SimCluster, org: str, repo: str, tag: str, name: str) -> list[dict]:
    response = requests.get(mirror_url(sim, org, repo, tag, name), timeout=10)
    response.raise_for_status()
    return [doc for doc in yaml.safe_load_all(response.text) if doc]


def install_operator(sim: SimCluster, version: str = "1.11.4") -> str:
    """Apply operator.yaml from the mirror; return the namespace once knative-operator is
    Available."""
    api = api_client(sim)
    for obj in mirror_objects(sim, "knative", "operator", f"knative-v{version}", "operator.yaml"):
        utils.create_from_dict(api, obj)
    minor = tuple(int(part) for part in version.split(".")[:2])
    namespace = "knative-operator" if minor >= (1, 14) else "default"
    apps = client.AppsV1Api(api)
    # Both: a CR created before the operator's webhook has a pod is refused (500, as upstream).
    for deployment in ("knative-operator", "operator-webhook"):
        wait_until(
            lambda deployment=deployment: (
                apps.read_namespaced_deployment(deployment, namespace).status.available_replicas
            ),
            timeout=10,
        )
    return namespace


def create_cr(sim: SimCluster, body: dict) -> None:
    api = api_client(sim)
    namespace = body["metadata"]["namespace"]
    core = client.CoreV1Api(api)
    if not any(ns.metadata.name == namespace for ns in core.list_namespace().items):
        core.create_namespace({"metadata": {"name": namespace}})
    wait_until(lambda: sim.store.served(body["apiVersion"], body["kind"]), timeout=10)
    plural = body["kind"].lower() + "s"
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        OPERATOR_GROUP, OPERATOR_VERSION, namespace, plural, body
    )


def read_cr(sim: SimCluster, kind: str, namespace: str, name: str) -> dict:
    return client.CustomObjectsApi(api_client(sim)).get_namespaced_custom_object(
        OPERATOR_GROUP, OPERATOR_VERSION, namespace, kind.lower() + "s", name
    )


def ready_state(cr: dict) -> tuple | None:
    """(status, reason, message) of the CR's Ready condition; None before it has one."""
    ready = condition(cr, "Ready")
    return (ready.get("status"), ready.get("reason"), ready.get("message")) if ready else None


def ready_history(
    sim: SimCluster,
    kind: str,
    namespace: str,
    name: str,
    until: Callable[[dict], bool],
    timeout: float = 10.0,
    state_of: Callable[[dict], tuple | None] = ready_state,
) -> tuple[dict, list]:
    """The CR once `until` holds, and each distinct `state_of` it went through from the call
    on, in commit order. Recorded through a store subscription, not polled: a state lasting a
    fraction of a real second (a pod starting at the sim's time scale) is not missed by a test
    thread that a loaded machine leaves unscheduled that long."""
    recorded = StoreChanges(
        sim,
        lambda obj: (
            (obj.get("kind"), obj["metadata"].get("namespace"), obj["metadata"].get("name"))
            == (kind, namespace, name)
        ),
    )
    try:
        recorded.add("READ", read_cr(sim, kind, namespace, name))
        cr = wait_until(
            lambda: (found := read_cr(sim, kind, namespace, name)) and until(found) and found,
            timeout,
        )
        version = int(cr["metadata"]["resourceVersion"])
        wait_until(lambda: recorded.has(version), timeout, what=f"resourceVersion {version}")
    finally:
        recorded.stop()
    states = [state_of(obj) for _, _, _, obj in recorded.changes()]
    ordered = [state for state in states if state is not None]
    seen = [state for i, state in enumerate(ordered) if i == 0 or ordered[i - 1] != state]
    return cr, seen


def is_ready(cr: dict) -> bool:
    return condition(cr, "Ready").get("status") == "True"


def install_serving(sim: SimCluster, body: dict = SERVING_CR) -> dict:
    install_operator(sim)
    create_cr(sim, body)
    cr, _ = ready_history(sim, "KnativeServing", "knative-serving", "knative-serving", is_ready)
    return cr


@pytest.mark.parametrize(
    ("version", "namespace"), [("1.11.4", "default"), ("1.14.9", "knative-operator")]
)
def test_operator_yaml_runs_the_operator_in_its_namespace(
    make_sim_cluster: Callable[..., SimCluster], version: str, namespace: str
) -> None:
    sim = make_sim_cluster()
    assert install_operator(sim, version) == namespace
    apps = client.AppsV1Api(api_client(sim))
    for name in ("knative-operator", "operator-webhook"):
        deploy = apps.read_namespaced_deployment(name, namespace)
        assert deploy.metadata.labels["app.kubernetes.io/version"] == version
        assert deploy.status.ready_replicas == 1
        available = next(c for c in deploy.status.conditions if c.type == "Available")
        assert (available.status, available.reason) == ("True", "MinimumReplicasAvailable")
    image = apps.read_namespaced_deployment("knative-operator", namespace).spec.template.spec
    assert image.containers[0].image.startswith(
        "gcr.io/knative-releases/knative.dev/operator/cmd/operator@sha256:"
    )
    crd = client.ApiextensionsV1Api(api_client(sim)).read_custom_resource_definition(
        "knativeservings.operator.knative.dev"
    )
    assert [v.name for v in crd.spec.versions] == ["v1beta1"]
    assert [c.name for c in crd.spec.versions[0].additional_printer_columns] == [
        "Version",
        "Ready",
        "Reason",
    ]


def test_knative_serving_goes_not_ready_then_ready(sim_cluster: SimCluster) -> None:
    install_operator(sim_cluster)
    create_cr(sim_cluster, SERVING_CR)
    cr, seen = ready_history(
        sim_cluster, "KnativeServing", "knative-serving", "knative-serving", is_ready
    )
    assert seen[0][:2] == ("False", "NotReady")
    assert seen[0][2].startswith("Waiting on deployments: ")
    assert seen[-1] == ("True", None, None)
    status = cr["status"]
    assert status["version"] == "1.11.0"
    assert status["manifests"] == [
        "/var/run/ko/knative-serving/1.11.0",
        "/var/run/ko/ingress/1.11/kourier",
    ]
    assert [c["type"] for c in status["conditions"]] == [
        "DependenciesInstalled",
        "DeploymentsAvailable",
        "InstallSucceeded",
        "Ready",
        "VersionMigrationEligible",
    ]
    assert cr["metadata"]["finalizers"] == ["knativeservings.operator.knative.dev"]
    core = client.CoreV1Api(api_client(sim_cluster))
    kourier = core.read_namespaced_service("kourier", "knative-serving")
    assert kourier.spec.type == "LoadBalancer"
    assert (kourier.spec.ports[0].port, kourier.spec.ports[0].target_port) == (80, 8080)
    # kind has no load balancer: no ingress IP, EXTERNAL-IP stays <pending>.
    assert not (kourier.status.load_balancer and kourier.status.load_balancer.ingress)
    gateway = core.list_namespaced_pod(
        "knative-serving", label_selector="app=3scale-kourier-gateway"
    ).items
    assert len(gateway) == 1
    network = core.read_namespaced_config_map("config-network", "knative-serving")
    assert network.data["ingress-class"] == "kourier.ingress.networking.knative.dev"
    # The operator owns config-*: a manual edit is overwritten.
    core.patch_namespaced_config_map(
        "config-network", "knative-serving", {"data": {"ingress-class": "istio.ingress.networking"}}
    )
    wait_until(
        lambda: (
            core.read_namespaced_config_map("config-network", "knative-serving").data[
                "ingress-class"
            ]
            == "kourier.ingress.networking.knative.dev"
        ),
        timeout=10,
    )
    out = subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            str(sim_cluster.kubeconfig),
            "-n",
            "knative-serving",
            "get",
            "knativeserving",
            "knative-serving",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split("\n")[1].split()[:3] == ["knative-serving", "1.11.0", "True"]


@pytest.mark.parametrize(
    ("faults", "version"), [((), "1.5"), (("operator-missing-version",), "1.11")]
)
def test_version_not_carried_fails_the_install(
    make_sim_cluster: Callable[..., SimCluster], faults: tuple, version: str
) -> None:
    sim = make_sim_cluster(faults=faults)
    install_operator(sim)
    body = {**SERVING_CR, "spec": {**SERVING_CR["spec"], "version": version}}
    create_cr(sim, body)
    cr, _ = ready_history(
        sim,
        "KnativeServing",
        "knative-serving",
        "knative-serving",
        lambda cr: condition(cr, "InstallSucceeded"),
    )
    message = (
        "Install failed with message: the manifests of the target version "
        f"{version} are not available to this release"
    )
    failed = condition(cr, "InstallSucceeded")
    assert (failed["status"], failed["reason"], failed["message"]) == ("False", "Error", message)
    ready = condition(cr, "Ready")
    assert (ready["status"], ready["message"]) == ("False", message)
    assert "version" not in cr["status"]
    # InitializeConditions ran first and VersionMigrationEligible was marked before the
    # manifest lookup: the whole condition set is there, sorted by type.
    assert [(c["type"], c["status"], c.get("reason")) for c in cr["status"]["conditions"]] == [
        ("DependenciesInstalled", "Unknown", None),
        ("DeploymentsAvailable", "Unknown", None),
        ("InstallSucceeded", "False", "Error"),
        ("Ready", "False", "Error"),
        ("VersionMigrationEligible", "True", None),
    ]


def test_without_ingress_istio_is_assumed_and_install_fails(sim_cluster: SimCluster) -> None:
    install_operator(sim_cluster)
    create_cr(sim_cluster, {**SERVING_CR, "spec": {}})
    cr, _ = ready_history(
        sim_cluster,
        "KnativeServing",
        "knative-serving",
        "knative-serving",
        lambda cr: condition(cr, "Ready"),
    )
    assert condition(cr, "InstallSucceeded")["status"] == "False"
    assert "networking.istio.io" in condition(cr, "Ready")["message"]


@pytest.mark.parametrize(
    ("fault", "body", "kind", "deployment"),
    [
        ("serving-never-ready", SERVING_CR, "KnativeServing", "activator"),
        ("eventing-never-ready", EVENTING_CR, "KnativeEventing", "eventing-webhook"),
    ],
)
def test_never_ready_fault_keeps_waiting_on_a_deployment(
    make_sim_cluster: Callable[..., SimCluster], fault: str, body: dict, kind: str, deployment: str
) -> None:
    sim = make_sim_cluster(faults=[fault])
    install_operator(sim)
    create_cr(sim, body)
    namespace = name = body["metadata"]["name"]
    waiting = ("False", "NotReady", f"Waiting on deployments: {deployment}")
    ready_history(
        sim, kind, namespace, name, lambda cr: condition(cr, "Ready").get("message") == waiting[2]
    )
    time.sleep(sim.clock.scaled(20))  # it must stay so: nothing to poll for
    ready = condition(read_cr(sim, kind, namespace, name), "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == waiting
    pod = (
        client.CoreV1Api(api_client(sim))
        .list_namespaced_pod(namespace, label_selector=f"app={deployment}")
        .items[0]
    )
    assert pod.status.container_statuses[0].state.waiting.reason == "ImagePullBackOff"


def test_knative_eventing_ready_then_github_source(sim_cluster: SimCluster) -> None:
    install_operator(sim_cluster)
    create_cr(sim_cluster, EVENTING_CR)
    cr, _ = ready_history(
        sim_cluster, "KnativeEventing", "knative-eventing", "knative-eventing", is_ready
    )
    assert cr["status"]["version"] == "1.11.1"
    assert cr["status"]["manifests"] == ["/var/run/ko/knative-eventing/1.11.1"]
    custom = client.CustomObjectsApi(api_client(sim_cluster))
    custom.patch_namespaced_custom_object(
        OPERATOR_GROUP,
        OPERATOR_VERSION,
        "knative-eventing",
        "knativeeventings",
        "knative-eventing",
        {"spec": {"source": {"github": {"enabled": True}}}},
    )
    cr, seen = ready_history(
        sim_cluster,
        "KnativeEventing",
        "knative-eventing",
        "knative-eventing",
        lambda cr: is_ready(cr) and len(cr["status"]["manifests"]) == 2,
    )
    assert ("False", "NotReady", "Waiting on deployments: github-webhook") in seen
    extensions = client.ApiextensionsV1Api(api_client(sim_cluster))
    crd = extensions.read_custom_resource_definition("githubsources.sources.knative.dev")
    assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)
    # The operator injects the CR's namespace into the source manifests too.
    assert client.AppsV1Api(api_client(sim_cluster)).read_namespaced_stateful_set(
        "github-controller-manager", "knative-eventing"
    )
    assert (
        client.CoreV1Api(api_client(sim_cluster))
        .list_namespace(field_selector="metadata.name=knative-sources")
        .items
        == []
    )


def test_deleting_the_cr_removes_what_it_installed(sim_cluster: SimCluster) -> None:
    install_serving(sim_cluster)
    custom = client.CustomObjectsApi(api_client(sim_cluster))
    custom.delete_namespaced_custom_object(
        OPERATOR_GROUP, OPERATOR_VERSION, "knative-serving", "knativeservings", "knative-serving"
    )
    apps = client.AppsV1Api(api_client(sim_cluster))
    wait_until(
        lambda: not apps.list_namespaced_deployment("knative-serving").items,
        timeout=10,
    )


def test_yaml_install_puts_kourier_in_kourier_system(sim_cluster: SimCluster) -> None:
    kubeconfig = str(sim_cluster.kubeconfig)
    base = f"{sim_cluster.release_mirror}/knative"
    for url in (
        f"{base}/serving/releases/download/knative-v1.11.0/serving-crds.yaml",
        f"{base}/serving/releases/download/knative-v1.11.0/serving-core.yaml",
        f"{sim_cluster.release_mirror}/knative-extensions/net-kourier/releases/"
        "download/knative-v1.11.0/kourier.yaml",
    ):
        subprocess.run(
            [KUBECTL, "--kubeconfig", kubeconfig, "apply", "-f", url],
            capture_output=True,
            text=True,
            check=True,
        )
    apps = client.AppsV1Api(api_client(sim_cluster))

    def available(name: str, namespace: str) -> bool:
        deploy = apps.read_namespaced_deployment(name, namespace)
        return deploy.status.available_replicas == 1

    for name in ("activator", "autoscaler", "controller", "webhook", "net-kourier-controller"):
        wait_until(lambda name=name: available(name, "knative-serving"), timeout=10)
    wait_until(lambda: available("3scale-kourier-gateway", "kourier-system"), timeout=10)
    names = {d.metadata.name for d in apps.list_namespaced_deployment("knative-serving").items}
    assert "autoscaler-hpa" not in names  # only serving-hpa.yaml or the operator installs it
    kourier = client.CoreV1Api(api_client(sim_cluster)).read_namespaced_service(
        "kourier", "kourier-system"
    )
    assert kourier.spec.type == "LoadBalancer"
    # serving-core's ConfigMaps hold only their `_example` (a missing key means the default).
    core = client.CoreV1Api(api_client(sim_cluster))
    for name in ("config-autoscaler", "config-defaults", "config-gc", "config-domain"):
        assert set(core.read_namespaced_config_map(name, "knative-serving").data) == {"_example"}


def test_a_numeric_spec_version_is_refused_by_the_schema(sim_cluster: SimCluster) -> None:
    install_operator(sim_cluster)
    custom = client.CustomObjectsApi(api_client(sim_cluster))
    client.CoreV1Api(api_client(sim_cluster)).create_namespace(
        {"metadata": {"name": "knative-serving"}}
    )
    body = {**SERVING_CR, "spec": {**SERVING_CR["spec"], "version": 1.11}}
    with pytest.raises(client.ApiException) as refused:
        custom.create_namespaced_custom_object(
            OPERATOR_GROUP, OPERATOR_VERSION, "knative-serving", "knativeservings", body
        )
    assert refused.value.status == 422
    assert json.loads(refused.value.body)["message"] == (
        'KnativeServing.operator.knative.dev "knative-serving" is invalid: spec.version: '
        'Invalid value: "number": spec.version in body must be of type string: "number"'
    )


def test_set_condition_bumps_the_transition_time_when_reason_or_message_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.sim import kube_controllers

    stamps = iter(["2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z", "2024-05-01T10:00:02Z"])
    monkeypatch.setattr(kube_controllers, "now_iso", lambda: next(stamps))
    first = kube_controllers.set_condition([], "Ready", "False", "NotReady", "Waiting on a")
    same = kube_controllers.set_condition(first, "Ready", "False", "NotReady", "Waiting on a")
    assert same[0]["lastTransitionTime"] == "2024-05-01T10:00:00Z"
    moved = kube_controllers.set_condition(same, "Ready", "False", "NotReady", "Waiting on b")
    assert moved[0]["lastTransitionTime"] == "2024-05-01T10:00:01Z"
