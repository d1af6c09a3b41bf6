"""The simulated API server answers kubectl's table requests with the columns kubectl shows,
and defaults Services as the real one does."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import (
    wait_until,
)
from tests.sim import SimCluster
from tests.sim.apiserver import jsonpath_values, table_cells, table_columns
from tests.sim.mirror import eventing as eventing_files
from tests.sim.mirror import knative_core
from tests.sim.store import Store


def test_lists_are_served_as_tables_for_kubectl(sim_cluster: SimCluster) -> None:
    response = requests.get(
        f"{sim_cluster.api_url}/api/v1/namespaces",
        timeout=5,
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )
    body = response.json()
    assert body["kind"] == "Table"
    assert [c["name"] for c in body["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert body["rows"][0]["cells"][:2] == ["default", "Active"]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def _store_serving(store: Store, crds: list[dict]) -> None:
    """Install `crds` into `store` and wait until their kinds are served."""
    for definition in crds:
        store.create(definition)
    wait_until(
        lambda: all(
            store.served(
                f"{d['spec']['group']}/{d['spec']['versions'][0]['name']}",
                d["spec"]["names"]["kind"],
            )
            for d in crds
        )
    )


def test_knative_service_gets_no_core_service_defaults() -> None:
    store = Store()
    try:
        _store_serving(
            store,
            [
                d
                for d in knative_core.serving_crd_objects("1.11.0")
                if d["spec"]["names"]["kind"] == "Service"
            ],
        )
        ksvc = store.create(
            {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Service",
                "metadata": {"name": "hello", "namespace": "default"},
                "spec": {"template": {"spec": {"containers": [{"image": "example/hello"}]}}},
            }
        )
        assert ksvc["spec"] == {"template": {"spec": {"containers": [{"image": "example/hello"}]}}}
        assert "status" not in ksvc

        core = store.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "hello", "namespace": "default"},
                "spec": {"ports": [{"port": 80}]},
            }
        )
        assert core["spec"]["type"] == "ClusterIP"
        assert core["spec"]["clusterIP"].startswith("10.96.")
        assert core["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    finally:
        store.close()


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_node_port_and_load_balancer_services_get_node_ports(service_type: str) -> None:
    store = Store()
    try:
        created = store.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "gateway", "namespace": "default"},
                "spec": {
                    "type": service_type,
                    "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
                },
            }
        )
        node_ports = [port["nodePort"] for port in created["spec"]["ports"]]
        assert all(30000 <= port <= 32767 for port in node_ports)
        assert len(set(node_ports)) == 2
        assert created["status"] == {"loadBalancer": {}}
    finally:
        store.close()


def test_printer_columns_read_bracketed_escaped_keys() -> None:
    labels = {
        "serving.knative.dev/configuration": "hello",
        "serving.knative.dev/configurationGeneration": "2",
        "app": "hello",
    }
    revision = {"metadata": {"labels": labels}}
    for expression, expected in (
        (r".metadata.labels['serving\.knative\.dev/configuration']", ["hello"]),
        (r'.metadata.labels["serving\.knative\.dev/configurationGeneration"]', ["2"]),
        (r".metadata.labels.serving\.knative\.dev/configuration", ["hello"]),
        (".metadata.labels['app']", ["hello"]),
        (".metadata.labels['serving.knative.dev/configuration']", ["hello"]),
        (r".metadata.labels['serving\.knative\.dev/missing']", []),
    ):
        assert jsonpath_values(revision, expression) == expected, expression

    store = Store()
    try:
        _store_serving(
            store,
            [
                d
                for d in knative_core.serving_crd_objects("1.11.0")
                if d["spec"]["names"]["kind"] == "Revision"
            ],
        )
        store.create(
            {
                "apiVersion": "serving.knative.dev/v1",
                "kind": "Revision",
                "metadata": {"name": "hello-00002", "namespace": "default", "labels": labels},
                "spec": {"containers": [{"image": "example/hello"}]},
            }
        )
        rtype = store.resource_type("serving.knative.dev/v1", "Revision")
        [revision] = store.list("serving.knative.dev/v1", "Revision", "default")
        row = dict(
            zip(
                [c["name"] for c in table_columns(rtype)], table_cells(rtype, revision), strict=True
            )
        )
        assert row["Config Name"] == "hello"
        assert row["Generation"] == "2"
    finally:
        store.close()


def test_creation_timestamp_printer_columns_are_dates() -> None:
    definition = knative_core.crd(
        "example.com",
        "gadgets",
        "Gadget",
        ["v1"],
        {},
        columns=[
            ("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            ("Age", ".metadata.creationTimestamp"),
        ],
    )
    columns = definition["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["type"]) for c in columns] == [("Ready", "string"), ("Age", "date")]
    for crd in eventing_files.eventing_crd_objects("1.11.0"):
        for column in crd["spec"]["versions"][0].get("additionalPrinterColumns") or []:
            if column["name"] == "Age":
                assert column["type"] == "date", crd["metadata"]["name"]

    store = Store()
    try:
        _store_serving(store, [definition])
        store.create(
            {
                "apiVersion": "example.com/v1",
                "kind": "Gadget",
                "metadata": {"name": "g", "namespace": "default"},
            }
        )
        rtype = store.resource_type("example.com/v1", "Gadget")
        [gadget] = store.list("example.com/v1", "Gadget", "default")
        assert table_cells(rtype, gadget)[-1] in ("0s", "1s", "2s")
    finally:
        store.close()
