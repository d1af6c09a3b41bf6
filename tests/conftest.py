"""Fixtures that start the simulated cluster (tests/sim) for the self-tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.sim import SimCluster
from tests.sim.doubles import BIN_DIR, PYTHON_ENV

# Every tool double started from here (bin/kind, bin/docker, and whatever they start) runs
# with the interpreter of this test session, whichever virtual environment that is.
os.environ[PYTHON_ENV] = sys.executable

# --- helpers shared by the tests/test_sim_*.py files -----------------------------------------

# The self-tests drive the simulated cluster with the real kubectl, as users do: a machine
# without it cannot run them, and says so instead of skipping.
KUBECTL = shutil.which("kubectl") or "kubectl"


def pytest_sessionstart(session: pytest.Session) -> None:
    if shutil.which("kubectl") is None:
        raise pytest.UsageError(
            "the self-tests need kubectl on PATH (any version from 1.27); install it, e.g. "
            "`apt-get install kubectl` or the binary from dl.k8s.io"
        )


def api_client(sim: SimCluster) -> client.ApiClient:
    """A kubernetes client for the simulated cluster's kubeconfig."""
    return config.new_client_from_config(config_file=str(sim.kubeconfig))


def mirror_url(sim: SimCluster, org: str, repo: str, tag: str, filename: str) -> str:
    """The release mirror's URL of a GitHub release asset."""
    return f"{sim.release_mirror}/{org}/{repo}/releases/download/{tag}/{filename}"


def run_kubectl(sim: SimCluster, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
    """kubectl's stdout for `args` against the simulated cluster; fails on a non-zero exit."""
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", str(sim.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def condition(obj: Any, condition_type: str) -> dict:
    """The condition of that type of an object dict, {} when absent (or not an object)."""
    if not isinstance(obj, dict):
        return {}
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == condition_type:
            return item
    return {}


# The test CRDs and objects the access-layer and API-server tests share.
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wd"],
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": False,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            },
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            },
        ],
    },
}


def status_of(error: ApiException) -> dict:
    return json.loads(error.body)


def config_map(
    name: str, namespace: str = "default", data: dict | None = None, **labels: str
) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"key": "value"} if data is None else data,
    }


def wait_until(predicate: Callable[[], object], timeout: float = 3.0) -> object:
    """The self-tests' one polling helper: the first truthy result of `predicate`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def install_crd(api: client.ApiClient, crd: dict) -> None:
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(crd)

    def established() -> bool:
        live = extensions.read_custom_resource_definition(crd["metadata"]["name"])
        return any(
            c.type == "Established" and c.status == "True" for c in (live.status.conditions or [])
        )

    wait_until(established)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def make_sim_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., SimCluster]]:
    """Factory: `make_sim_cluster(faults=["drop-watches"], time_scale=0.05)` -> started cluster.

    Every cluster made is stopped at the end of the test. Kubeconfigs live in their own
    temporary directory, so a test's tmp_path stays empty (tests use it as a reports dir).
    """
    started: list[SimCluster] = []

    def make(**kwargs: object) -> SimCluster:
        kubeconfig = tmp_path_factory.mktemp("sim-cluster") / "kubeconfig"
        sim = SimCluster(kubeconfig, **kwargs)  # type: ignore[arg-type]
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()


@pytest.fixture
def sim_cluster(make_sim_cluster: Callable[..., SimCluster]) -> SimCluster:
    """A started simulated cluster without faults, kubeconfig under tmp_path."""
    return make_sim_cluster()


@pytest.fixture(scope="session")
def shared_sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """One simulated cluster for a whole session, for tests that only read or use own names."""
    kubeconfig = tmp_path_factory.mktemp("shared-sim") / "kubeconfig"
    with SimCluster(kubeconfig) as sim:
        yield sim


@pytest.fixture
def kind_env(tmp_path, sim_cluster) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}:{env['PATH']}"
    env["SIM_KIND_STATE"] = str(tmp_path / "kind-state")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.pop("SIM_DOCKER_DOWN", None)
    yield env
    # Whatever a test left, no simulated kind cluster outlives it.
    clusters = subprocess.run(
        [BIN_DIR / "kind", "get", "clusters"], env=env, capture_output=True, text=True
    ).stdout.split()
    for name in clusters:
        subprocess.run(
            [BIN_DIR / "kind", "delete", "cluster", "--name", name], env=env, capture_output=True
        )
