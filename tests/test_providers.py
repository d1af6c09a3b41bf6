"""Finding Kourier from the host on a cluster the harness did not create."""

from cookbook14.kube import Kube
from cookbook14.providers import ClusterAccess, detect_ingress_endpoint, ingress_endpoint_for


def kourier_service(namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kourier", "namespace": namespace},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "3scale-kourier-gateway"},
            "ports": [{"name": "http2", "port": 80, "targetPort": 8080, "nodePort": 30517}],
        },
    }


def test_load_balancer_address_wins(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "knative-serving"}}
    )
    kube.apply([kourier_service("knative-serving")])
    sim_cluster.store.update_status(
        "v1",
        "Service",
        "kourier",
        "knative-serving",
        {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}},
    )
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) == (
        "203.0.113.7",
        80,
    )


def test_pending_load_balancer_falls_back_to_a_node_port(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kourier-system"}}
    )
    kube.apply([kourier_service("kourier-system")])
    node = kube.list("v1", "Node")[0][0]
    internal = [
        a["address"] for a in node["status"].get("addresses", []) if a["type"] == "InternalIP"
    ]
    assert internal, "a kind node has an InternalIP"
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) == (
        internal[0],
        30517,
    )


def test_no_kourier_means_unknown(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    assert detect_ingress_endpoint(kube, ("kourier-system", "knative-serving")) is None


def access(endpoint=None) -> ClusterAccess:
    return ClusterAccess(None, None, endpoint, "existing", "sim", False, {})


def test_ingress_endpoint_prefers_the_option_then_the_kourier_service(sim_cluster):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    assert ingress_endpoint_for(access(("10.0.0.9", 8080)), kube) == (
        ("10.0.0.9", 8080),
        "option or kind port mapping",
    )
    assert ingress_endpoint_for(access(), kube) is None
    sim_cluster.store.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "knative-serving"}}
    )
    kube.apply([kourier_service("knative-serving")])
    sim_cluster.store.update_status(
        "v1",
        "Service",
        "kourier",
        "knative-serving",
        {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}},
    )
    assert ingress_endpoint_for(access(), kube) == (("lb.example", 80), "kourier Service")
