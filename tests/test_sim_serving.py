"""Self-tests of the simulated Serving: ksvc -> revision -> pods, the Kourier ingress, scale to
zero and cold start, driven through the official kubernetes client and HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import websocket
from kubernetes import client

from tests.conftest import api_client, condition, wait_until
from tests.sim import SimCluster
from tests.sim.cluster import DUMMY_TOKEN
from tests.sim.knative.serving import ServingController
from tests.sim.kube_controllers import UNPULLABLE_DIGEST
from tests.test_sim_operator import SERVING_CR, install_serving

SERVING_GROUP, SERVING_VERSION = "serving.knative.dev", "v1"
EXTERNAL_HOST = "nodeinfo.default.127.0.0.1.sslip.io"
# serving@release-1.11 k8s_validation.go, for a container without a securityContext.
SECURE_DEFAULTS_WARNING = (
    "Kubernetes default value is insecure, Knative may default this to secure in a future "
    "release: spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation, "
    "spec.template.spec.containers[0].securityContext.capabilities, "
    "spec.template.spec.containers[0].securityContext.runAsNonRoot, "
    "spec.template.spec.containers[0].securityContext.seccompProfile"
)


def nodeinfo(name: str = "nodeinfo", window: str | None = None) -> dict:
    """The chapter's nodeinfo.yaml, optionally with a shorter autoscaling window."""
    template: dict = {"spec": {"containers": [{"image": "functions/nodeinfo:latest"}]}}
    if window:
        template["metadata"] = {"annotations": {"autoscaling.knative.dev/window": window}}
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"template": template},
    }


def create_ksvc(sim: SimCluster, body: dict) -> dict:
    custom = client.CustomObjectsApi(api_client(sim))
    custom.create_namespaced_custom_object(
        SERVING_GROUP, SERVING_VERSION, "default", "services", body
    )
    name = body["metadata"]["name"]
    return wait_until(
        lambda: _ready_or_none(
            custom.get_namespaced_custom_object(
                SERVING_GROUP, SERVING_VERSION, "default", "services", name
            )
        ),
        timeout=10,
    )


def _ready_or_none(obj: dict) -> dict | None:
    return obj if condition(obj, "Ready").get("status") == "True" else None


def _scaled_to_zero_or_none(revision: dict) -> dict | None:
    """The revision once the KPA scaled it to zero: Active False NoTraffic, no replicas."""
    active = condition(revision, "Active")
    zero = (revision.get("status") or {}).get("actualReplicas") == 0
    return revision if zero and active.get("reason") == "NoTraffic" else None


def read_revision(sim: SimCluster, name: str) -> dict:
    return client.CustomObjectsApi(api_client(sim)).get_namespaced_custom_object(
        SERVING_GROUP, SERVING_VERSION, "default", "revisions", name
    )


def pods_of(sim: SimCluster, service: str) -> list:
    return (
        client.CoreV1Api(api_client(sim))
        .list_namespaced_pod("default", label_selector=f"serving.knative.dev/service={service}")
        .items
    )


def through_ingress(sim: SimCluster, host: str) -> requests.Response:
    return requests.get(f"http://{sim.ingress_endpoint}/", headers={"Host": host}, timeout=30)


@pytest.fixture(scope="module")
def serving_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """Operator + KnativeServing (kourier, domain 127.0.0.1.sslip.io), Ready."""
    kubeconfig: Path = tmp_path_factory.mktemp("serving") / "kubeconfig"
    with SimCluster(kubeconfig) as sim:
        install_serving(sim)
        yield sim


def test_nodeinfo_becomes_ready_and_answers_through_the_ingress(
    serving_cluster: SimCluster,
) -> None:
    ksvc = create_ksvc(serving_cluster, nodeinfo())
    status = ksvc["status"]
    assert status["url"] == f"http://{EXTERNAL_HOST}"
    assert status["address"]["url"] == "http://nodeinfo.default.svc.cluster.local"
    assert (
        status["latestCreatedRevisionName"]
        == status["latestReadyRevisionName"]
        == ("nodeinfo-00001")
    )
    assert status["traffic"] == [
        {"latestRevision": True, "percent": 100, "revisionName": "nodeinfo-00001"}
    ]
    assert [c["type"] for c in status["conditions"]] == [
        "ConfigurationsReady",
        "Ready",
        "RoutesReady",
    ]
    assert ksvc["metadata"]["annotations"]["serving.knative.dev/creator"] == "kubernetes-admin"
    pods = wait_until(
        lambda: [
            p
            for p in pods_of(serving_cluster, "nodeinfo")
            if p.status.container_statuses and all(c.ready for c in p.status.container_statuses)
        ],
        timeout=10,
    )
    assert [c.name for c in pods[0].spec.containers] == ["user-container", "queue-proxy"]
    assert pods[0].metadata.name.startswith("nodeinfo-00001-deployment-")
    assert pods[0].metadata.labels["serving.knative.dev/revision"] == "nodeinfo-00001"
    response = through_ingress(serving_cluster, EXTERNAL_HOST)
    assert response.status_code == 200
    assert response.text.splitlines()[0] == f"Hostname: {pods[0].metadata.name}"
    assert response.headers["server"] == "envoy"
    # Pods reach the ksvc by its cluster-local address through sim.network.
    local = serving_cluster.network.resolve("http://nodeinfo.default.svc.cluster.local/x", 5)
    assert requests.get(local, timeout=5).text.startswith("Hostname: ")


def test_unknown_host_gets_envoy_404(serving_cluster: SimCluster) -> None:
    response = through_ingress(serving_cluster, "nothing.default.127.0.0.1.sslip.io")
    assert (response.status_code, response.content) == (404, b"")
    with pytest.raises(LookupError):
        serving_cluster.network.resolve("http://nothing.default.svc.cluster.local/", 1)


def test_scale_to_zero_then_cold_start(
    serving_cluster: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_ksvc(serving_cluster, nodeinfo("sleepy", window="6s"))
    wait_until(lambda: not pods_of(serving_cluster, "sleepy"), timeout=15)
    revision = wait_until(
        lambda: _scaled_to_zero_or_none(read_revision(serving_cluster, "sleepy-00001")),
        timeout=10,
    )
    assert condition(revision, "Ready")["status"] == "True"
    active = condition(revision, "Active")
    assert (active["status"], active["reason"], active["message"], active["severity"]) == (
        "False",
        "NoTraffic",
        "The target is not receiving traffic.",
        "Info",
    )
    assert revision["status"]["desiredReplicas"] == 0
    deployment = client.AppsV1Api(api_client(serving_cluster)).read_namespaced_deployment(
        "sleepy-00001-deployment", "default"
    )
    assert deployment.spec.replicas == 0
    # From here the revision scales up only: the request after the cold start is served warm
    # by the same pod however slow the machine (the window lasts 0.3 real seconds).
    controller = _serving_controller(serving_cluster)
    scale = controller._scale

    def scale_up_only(key: tuple, deployment: dict, desired: int, *rest: object) -> None:
        if desired:
            scale(key, deployment, desired, *rest)

    monkeypatch.setattr(controller, "_scale", scale_up_only)
    started = time.monotonic()
    response = through_ingress(serving_cluster, "sleepy.default.127.0.0.1.sslip.io")
    cold = time.monotonic() - started
    assert response.status_code == 200
    assert response.text.startswith("Hostname: sleepy-00001-deployment-")
    # Pod start (2 s) plus the activator's cold-start delay (3 s), scaled.
    assert cold >= serving_cluster.clock.scaled(4)
    warm = through_ingress(serving_cluster, "sleepy.default.127.0.0.1.sslip.io")
    assert warm.ok and warm.text.splitlines()[0] == response.text.splitlines()[0]


def test_no_domain_means_cluster_local_only(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster()
    config = {"network": SERVING_CR["spec"]["config"]["network"]}
    install_serving(sim, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": config}})
    ksvc = create_ksvc(sim, nodeinfo())
    assert ksvc["status"]["url"] == "http://nodeinfo.default.svc.cluster.local"
    assert through_ingress(sim, "nodeinfo.default.svc.cluster.local").status_code == 404
    assert through_ingress(sim, EXTERNAL_HOST).status_code == 404


def test_no_scale_down_fault_keeps_the_pod(make_sim_cluster: Callable[..., SimCluster]) -> None:
    sim = make_sim_cluster(faults=["no-scale-down"])
    install_serving(sim)
    create_ksvc(sim, nodeinfo(window="6s"))
    wait_until(lambda: pods_of(sim, "nodeinfo"), timeout=10)
    time.sleep(sim.clock.scaled(6 + 30 + 10))
    assert len(pods_of(sim, "nodeinfo")) == 1
    assert condition(read_revision(sim, "nodeinfo-00001"), "Active")["status"] == "True"


def test_websocket_is_tunnelled_to_the_pod(serving_cluster: SimCluster) -> None:
    sockeye = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "sockeye"},
        "spec": {
            "template": {"spec": {"containers": [{"image": "docker.io/n3wscott/sockeye:v0.7.0"}]}}
        },
    }
    create_ksvc(serving_cluster, sockeye)
    host = "sockeye.default.127.0.0.1.sslip.io"
    connection = websocket.create_connection(
        f"ws://{serving_cluster.ingress_endpoint}/ws",
        host=host,
        origin=f"http://{host}",
        timeout=10,
    )
    try:
        response = requests.post(
            f"http://{serving_cluster.ingress_endpoint}/",
            headers={
                "Host": host,
                "Ce-Id": "1",
                "Ce-Source": "/test",
                "Ce-Specversion": "1.0",
                "Ce-Type": "dev.test",
                "Content-Type": "application/json",
            },
            data=b'{"message": "hi"}',
            timeout=10,
        )
        assert response.status_code < 300
        # sockeye sends each event's JSON as a JSON string (encoded twice, as upstream does).
        received = json.loads(json.loads(connection.recv()))
    finally:
        connection.close(timeout=0)
    assert (received["id"], received["type"], received["data"]) == (
        "1",
        "dev.test",
        {"message": "hi"},
    )


def test_template_change_rolls_out_a_second_revision(serving_cluster: SimCluster) -> None:
    create_ksvc(serving_cluster, nodeinfo("rolling"))
    custom = client.CustomObjectsApi(api_client(serving_cluster))
    custom.patch_namespaced_custom_object(
        SERVING_GROUP,
        SERVING_VERSION,
        "default",
        "services",
        "rolling",
        {"spec": {"template": {"metadata": {"annotations": {"example.com/rev": "2"}}}}},
    )

    def second_revision_serves() -> dict | None:
        ksvc = custom.get_namespaced_custom_object(
            SERVING_GROUP, SERVING_VERSION, "default", "services", "rolling"
        )
        traffic = ksvc.get("status", {}).get("traffic") or [{}]
        ready = _ready_or_none(ksvc)
        return ksvc if ready and traffic[0].get("revisionName") == "rolling-00002" else None

    ksvc = wait_until(second_revision_serves, timeout=10)
    assert ksvc["status"]["latestReadyRevisionName"] == "rolling-00002"
    old = read_revision(serving_cluster, "rolling-00001")
    assert old["metadata"]["labels"]["serving.knative.dev/routingState"] == "reserve"


def test_unpullable_image_fails_the_revision(serving_cluster: SimCluster) -> None:
    custom = client.CustomObjectsApi(api_client(serving_cluster))
    image = "docker.io/functions/nodeinfo@" + UNPULLABLE_DIGEST
    custom.create_namespaced_custom_object(
        SERVING_GROUP,
        SERVING_VERSION,
        "default",
        "services",
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "broken"},
            "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
        },
    )

    def failed() -> dict | None:
        ksvc = custom.get_namespaced_custom_object(
            SERVING_GROUP, SERVING_VERSION, "default", "services", "broken"
        )
        return ksvc if condition(ksvc, "ConfigurationsReady").get("status") == "False" else None

    ksvc = wait_until(failed, timeout=10)
    configurations = condition(ksvc, "ConfigurationsReady")
    assert configurations["reason"] == "RevisionFailed"
    # The kubelet's back-off message carries the registry's answer to the last pull.
    assert configurations["message"] == (
        f'Revision "broken-00001" failed with message: Back-off pulling image "{image}": '
        f'failed to pull and unpack image "{image}": failed to resolve reference "{image}": '
        "not found."
    )
    assert condition(ksvc, "Ready")["status"] == "False"


def _serving_controller(sim: SimCluster) -> ServingController:
    return next(c for c in sim._started if isinstance(c, ServingController))


def test_a_failing_ksvc_does_not_block_the_others(
    make_sim_cluster: Callable[..., SimCluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim_cluster()
    install_serving(sim)
    controller = _serving_controller(sim)
    original = controller._reconcile_service

    def flaky(service: dict, config: dict) -> None:
        if service["metadata"]["name"] == "aaa-bad":
            raise RuntimeError("boom while reconciling")
        original(service, config)

    monkeypatch.setattr(controller, "_reconcile_service", flaky)
    custom = client.CustomObjectsApi(api_client(sim))
    custom.create_namespaced_custom_object(
        SERVING_GROUP, SERVING_VERSION, "default", "services", nodeinfo("aaa-bad")
    )
    # Listed after the bad one, reconciled all the same.
    ksvc = create_ksvc(sim, nodeinfo("good"))
    assert ksvc["status"]["latestReadyRevisionName"] == "good-00001"
    events = wait_until(
        lambda: [
            e
            for e in client.CoreV1Api(api_client(sim)).list_namespaced_event("default").items
            if e.involved_object.name == "aaa-bad" and e.reason == "InternalError"
        ],
        timeout=10,
    )
    assert events[0].type == "Warning"
    assert events[0].message == "boom while reconciling"


def _post_ksvc(sim: SimCluster, body: dict) -> requests.Response:
    return requests.post(
        f"{sim.api_url}/apis/serving.knative.dev/v1/namespaces/default/services",
        json=body,
        headers={"Authorization": f"Bearer {DUMMY_TOKEN}"},
        timeout=10,
    )


def test_webhook_defaults_the_ksvc_and_warns(serving_cluster: SimCluster) -> None:
    response = _post_ksvc(serving_cluster, nodeinfo("defaulted"))
    assert response.status_code == 201, response.text
    assert response.headers["Warning"] == "299 - " + json.dumps(SECURE_DEFAULTS_WARNING)
    ksvc = response.json()
    assert ksvc["metadata"]["annotations"] == {
        "serving.knative.dev/creator": "kubernetes-admin",
        "serving.knative.dev/lastModifier": "kubernetes-admin",
    }
    assert ksvc["spec"]["template"]["spec"] == {
        "containerConcurrency": 0,
        "containers": [
            {
                "image": "functions/nodeinfo:latest",
                "name": "user-container",
                "readinessProbe": {"successThreshold": 1, "tcpSocket": {"port": 0}},
                "resources": {},
            }
        ],
        "enableServiceLinks": False,
        "timeoutSeconds": 300,
    }
    assert ksvc["spec"]["traffic"] == [{"latestRevision": True, "percent": 100}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}},
            "missing field(s): spec.template.spec.containers[0].image",
        ),
        (
            {"spec": nodeinfo("s", window="5s")["spec"]},
            "expected 6s <= 5s <= 1h0m0s: "
            "spec.template.metadata.annotations.autoscaling.knative.dev/window",
        ),
        (
            {"spec": nodeinfo("s", window="2h")["spec"]},
            "expected 6s <= 2h <= 1h0m0s: "
            "spec.template.metadata.annotations.autoscaling.knative.dev/window",
        ),
    ],
)
def test_webhook_refuses_invalid_ksvcs(
    serving_cluster: SimCluster, body: dict, message: str
) -> None:
    full = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "invalid"},
        **body,
    }
    response = _post_ksvc(serving_cluster, full)
    assert response.status_code == 400
    status = response.json()
    assert status["reason"] == "BadRequest"
    assert status["message"] == (
        'admission webhook "validation.webhook.serving.knative.dev" denied the request: '
        f"validation failed: {message}"
    )


def test_unreachable_webhook_fails_requests_like_the_api_server(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster()
    install_serving(sim)
    apps = client.AppsV1Api(api_client(sim))
    apps.patch_namespaced_deployment("webhook", "knative-serving", {"spec": {"replicas": 0}})
    wait_until(
        lambda: (
            not apps.read_namespaced_deployment(
                "webhook", "knative-serving"
            ).status.available_replicas
        ),
        timeout=10,
    )
    response = _post_ksvc(sim, nodeinfo())
    assert response.status_code == 500
    message = response.json()["message"]
    assert message.startswith(
        'Internal error occurred: failed calling webhook "webhook.serving.knative.dev": '
        'failed to call webhook: Post "https://webhook.knative-serving.svc:443/defaulting'
        '?timeout=10s": dial tcp '
    )
    assert message.endswith(":443: connect: connection refused")
    apps.patch_namespaced_deployment("webhook", "knative-serving", {"spec": {"replicas": 1}})
    wait_until(
        lambda: (
            apps.read_namespaced_deployment("webhook", "knative-serving").status.available_replicas
        ),
        timeout=10,
    )
    assert _post_ksvc(sim, nodeinfo()).status_code == 201


def test_ksvc_without_an_app_answers_503_after_the_revision_timeout(
    serving_cluster: SimCluster,
) -> None:
    body = nodeinfo("noapp")
    body["spec"]["template"]["spec"] = {
        "containers": [{"image": "ghcr.io/example/does-nothing:1"}],
        "timeoutSeconds": 20,
    }
    create_ksvc(serving_cluster, body)
    response = through_ingress(serving_cluster, "noapp.default.127.0.0.1.sslip.io")
    assert (response.status_code, response.headers["server"]) == (503, "envoy")
