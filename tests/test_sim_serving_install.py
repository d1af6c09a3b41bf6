"""Self-tests of what the simulated cluster does for recipe 14.2 where it used to be more
lenient than upstream: the operator's default versions and status timing, the ConfigMap merge,
Kourier routing only for its ingress class and only through the Service in front of its
gateway, load balancer addresses and serving-default-domain.yaml's Job."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from kubernetes import client

from tests.conftest import api_client, condition, run_kubectl, wait_until
from tests.sim import SimCluster
from tests.sim.knative.operator import embedded_versions, waits_for_deployments
from tests.test_sim_operator import (
    SERVING_CR,
    create_cr,
    install_operator,
    install_serving,
    is_ready,
    ready_history,
)
from tests.test_sim_serving import create_ksvc, nodeinfo

PROBE = {"Host": "nothing-here.invalid"}
LB_IP = "203.0.113.10"


@pytest.mark.parametrize(
    ("operator", "serving", "kourier"),
    [
        ("1.11.4", "1.11.0", "1.11.1"),
        ("1.14.9", "1.14.1", "1.14.0"),
        ("1.23.0", "1.23.0", "1.23.0"),
    ],
)
def test_each_operator_installs_its_own_kodata_default(operator, serving, kourier):
    minor = int(operator.split(".")[1])
    assert embedded_versions(operator, "serving")[minor] == serving
    assert embedded_versions(operator, "kourier")[minor] == kourier


@pytest.mark.parametrize(
    ("operator", "waits"),
    [
        ("1.11.4", False),
        ("1.15.10", False),
        ("1.16.3", False),
        ("1.16.4", True),
        ("1.17.4", False),
        ("1.17.5", True),
        ("1.18.0", True),
        ("1.23.0", True),
    ],
)
def test_status_version_waits_for_deployments_from_1_16_4_1_17_5_1_18_0(operator, waits):
    assert waits_for_deployments(operator) is waits


def test_operator_1_18_sets_version_only_once_deployments_are_available(make_sim_cluster):
    sim = make_sim_cluster(kubernetes_version="1.34.0")
    install_operator(sim, "1.18.3")
    create_cr(sim, SERVING_CR)

    def ready_installed_version(cr: dict) -> tuple:
        return (
            condition(cr, "Ready").get("status"),
            condition(cr, "InstallSucceeded").get("status"),
            (cr.get("status") or {}).get("version"),
        )

    _, versions = ready_history(
        sim,
        "KnativeServing",
        "knative-serving",
        "knative-serving",
        is_ready,
        state_of=ready_installed_version,
    )
    assert ("False", "Unknown", None) in versions, versions
    assert versions[-1] == ("True", "True", "1.18.2")


def test_operator_merges_spec_config_and_keeps_keys_others_added(sim_cluster):
    install_serving(sim_cluster)
    core = client.CoreV1Api(api_client(sim_cluster))
    domain = core.read_namespaced_config_map("config-domain", "knative-serving")
    assert set(domain.data) == {"_example", "127.0.0.1.sslip.io"}
    core.patch_namespaced_config_map(
        "config-domain",
        "knative-serving",
        {"data": {"127.0.0.1.sslip.io": "selector:\n  app: x", "203.0.113.10.sslip.io": ""}},
    )
    wait_until(
        lambda: (
            core.read_namespaced_config_map("config-domain", "knative-serving").data
            == {
                "_example": domain.data["_example"],
                "127.0.0.1.sslip.io": "",
                "203.0.113.10.sslip.io": "",
            }
        ),
        timeout=10,
    )


def test_kourier_routes_only_when_config_network_names_it(sim_cluster):
    for url in (
        f"{sim_cluster.release_mirror}/knative/serving/releases/download/knative-v1.11.0/serving-crds.yaml",
        f"{sim_cluster.release_mirror}/knative/serving/releases/download/knative-v1.11.0/serving-core.yaml",
        f"{sim_cluster.release_mirror}/knative-extensions/net-kourier/releases/download/knative-v1.11.0/kourier.yaml",
    ):
        run_kubectl(sim_cluster, "apply", "-f", url)
    custom = client.CustomObjectsApi(api_client(sim_cluster))
    wait_until(lambda: _webhook_up(sim_cluster), timeout=10)
    custom.create_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", nodeinfo()
    )

    def route_ready() -> dict:
        routes = custom.list_namespaced_custom_object(
            "serving.knative.dev", "v1", "default", "routes"
        )["items"]
        return condition(routes[0], "Ready") if routes else {}

    # The revision becomes Ready first (RevisionMissing until then), then the route waits for
    # an ingress that no one programs, and keeps waiting.
    wait_until(lambda: route_ready().get("reason") == "IngressNotConfigured", timeout=30)
    time.sleep(sim_cluster.clock.scaled(20))
    assert (route_ready()["status"], route_ready()["reason"]) == ("Unknown", "IngressNotConfigured")
    run_kubectl(
        sim_cluster,
        "-n",
        "knative-serving",
        "patch",
        "configmap",
        "config-network",
        "--type",
        "merge",
        "-p",
        '{"data": {"ingress.class": "kourier.ingress.networking.knative.dev"}}',
    )
    wait_until(lambda: route_ready().get("status") == "True", timeout=10)


def _webhook_up(sim: SimCluster) -> bool:
    deploy = client.AppsV1Api(api_client(sim)).read_namespaced_deployment(
        "webhook", "knative-serving"
    )
    return bool(deploy.status.available_replicas)


def _get(endpoint: str) -> requests.Response:
    return requests.get(f"http://{endpoint}/", headers=PROBE, timeout=5)


def _nodeport(target: int | str = 8080, selector: str = "3scale-kourier-gateway") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kourier-ingress-nodeport", "namespace": "knative-serving"},
        "spec": {
            "type": "NodePort",
            "selector": {"app": selector},
            "ports": [{"name": "http2", "port": 80, "targetPort": target, "nodePort": 31080}],
        },
    }


@pytest.mark.parametrize(
    ("service", "answers"),
    [
        (None, False),
        (_nodeport(), True),
        (_nodeport(target="http2-external"), True),
        (_nodeport(target=8443), False),  # Envoy's TLS listener: no plain HTTP there
        (_nodeport(selector="kourier-gateway"), False),  # selects no pod: no endpoints
    ],
)
def test_on_kind_the_gateway_is_reached_only_through_the_node_port_service(
    make_sim_cluster: Callable[..., SimCluster], service, answers
):
    sim = make_sim_cluster(ingress_port=0)  # on kind: the node port's host port, a free one
    install_serving(sim)
    if service:
        client.CoreV1Api(api_client(sim)).create_namespaced_service("knative-serving", service)
    if answers:
        response = _get(sim.ingress_endpoint)
        assert (response.status_code, response.headers["server"]) == (404, "envoy")
    else:
        with pytest.raises(requests.ConnectionError):
            _get(sim.ingress_endpoint)


def test_elsewhere_the_gateway_is_reached_through_the_kourier_service(sim_cluster):
    install_serving(sim_cluster)
    create_ksvc(sim_cluster, nodeinfo())
    host = {"Host": "nodeinfo.default.127.0.0.1.sslip.io"}
    endpoint = f"http://{sim_cluster.ingress_endpoint}/"
    assert requests.get(endpoint, headers=host, timeout=30).status_code == 200
    core = client.CoreV1Api(api_client(sim_cluster))
    core.patch_namespaced_service(
        "kourier", "knative-serving", {"spec": {"selector": {"app": "nothing"}}}
    )
    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint, headers=host, timeout=30)


def test_load_balancer_services_get_the_clusters_address(make_sim_cluster):
    sim = make_sim_cluster(load_balancer_ip=LB_IP)
    install_serving(sim)
    core = client.CoreV1Api(api_client(sim))
    kourier = wait_until(
        lambda: (
            core.read_namespaced_service("kourier", "knative-serving").status.load_balancer.ingress
        ),
        timeout=10,
    )
    assert kourier[0].ip == LB_IP
    assert "<pending>" not in run_kubectl(sim, "-n", "knative-serving", "get", "service", "kourier")


def _default_domain_job(sim: SimCluster) -> None:
    url = (
        f"{sim.release_mirror}/knative/serving/releases/download/knative-v1.11.0/"
        "serving-default-domain.yaml"
    )
    run_kubectl(sim, "apply", "-f", url)


def test_default_domain_job_writes_the_sslip_domain_of_the_load_balancer_ip(make_sim_cluster):
    sim = make_sim_cluster(load_balancer_ip=LB_IP)
    install_serving(sim, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": {}}})
    _default_domain_job(sim)
    batch = client.BatchV1Api(api_client(sim))
    wait_until(
        lambda: batch.read_namespaced_job("default-domain", "knative-serving").status.succeeded,
        timeout=10,
    )
    core = client.CoreV1Api(api_client(sim))
    data = core.read_namespaced_config_map("config-domain", "knative-serving").data
    assert set(data) == {"_example", f"{LB_IP}.sslip.io"}
    # The operator re-applies config-domain: a key it never set survives.
    time.sleep(sim.clock.scaled(10))
    assert (
        f"{LB_IP}.sslip.io"
        in core.read_namespaced_config_map("config-domain", "knative-serving").data
    )


def test_default_domain_job_never_completes_without_a_load_balancer_ip(sim_cluster):
    install_serving(sim_cluster, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": {}}})
    _default_domain_job(sim_cluster)
    batch = client.BatchV1Api(api_client(sim_cluster))
    wait_until(
        lambda: batch.read_namespaced_job("default-domain", "knative-serving").status.active,
        timeout=10,
    )
    time.sleep(sim_cluster.clock.scaled(60))
    job = batch.read_namespaced_job("default-domain", "knative-serving")
    assert not job.status.succeeded and not job.status.conditions
    data = (
        client.CoreV1Api(api_client(sim_cluster))
        .read_namespaced_config_map("config-domain", "knative-serving")
        .data
    )
    assert set(data) == {"_example"}
