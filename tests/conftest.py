"""Fixtures that start the simulated cluster (tests/sim) for the self-tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.launch import (
    MatrixRun,
    MatrixSpec,
    SuiteRun,
    SuiteRunSpec,
    delete_kind_clusters,
    kind_env_in,
    run_spec,
)
from tests.sim import SimCluster
from tests.sim.doubles import PYTHON_ENV

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


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so that the marks below are known without pytest-xdist installed.
    config.addinivalue_line("markers", "xdist_group(name): run on one pytest-xdist worker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep what tests share on one worker under `pytest -n 2 --dist loadgroup`: the tests of
    the `suite_run` fixture's runs (each run is made once per worker that asks for it), and
    the tests of a module whose module-scoped fixture makes runs. Other tests go one by one
    to whichever worker is free."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        fixtures = getattr(item, "_fixtureinfo", None)
        if "suite_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("suite-runs"))
        elif fixtures and any(
            definition.scope == "module"
            for definitions in fixtures.name2fixturedefs.values()
            for definition in definitions
        ):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


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


def wait_until(predicate: Callable[[], object], timeout: float = 3.0, what: str = "") -> object:
    """The self-tests' one polling helper: the first truthy result of `predicate`. A timeout
    says what was awaited (`what`, else the predicate's name) and the last result seen."""
    deadline = time.monotonic() + timeout
    result = None
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    awaited = what or getattr(predicate, "__name__", "condition")
    raise AssertionError(f"{awaited}: not met within {timeout}s; last seen {result!r:.300}")


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


@pytest.fixture(scope="session", autouse=True)
def session_cache_and_kind_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Downloads (XDG_CACHE_HOME) and the kind double's clusters (SIM_KIND_STATE) of runs that
    do not set their own live in this session's temporary folder: two sessions side by side
    share nothing, and the user's ~/.cache/cookbook14 is left alone."""
    folder = tmp_path_factory.mktemp("session")
    names = ("XDG_CACHE_HOME", "SIM_KIND_STATE")
    saved = {name: os.environ.get(name) for name in names}
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")
    os.environ["SIM_KIND_STATE"] = str(folder / "kind-state")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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
    """The environment of a run through the kind provider with the doubles, state and cache
    under tmp_path; whatever a test left, no simulated kind cluster outlives it."""
    env = kind_env_in(tmp_path)
    yield env
    delete_kind_clusters(env)


@pytest.fixture(scope="session")
def suite_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[SuiteRunSpec | MatrixSpec], SuiteRun | MatrixRun]:
    """`suite_run(spec)` -> the run of that spec (a MatrixSpec: the matrix), made once per
    session on first use.

    The runs are the expensive part of the self-tests (a whole chapter takes about 47 s), so
    the tests that check different recipes of one run share it. A run that raised raises again
    for every test that asks for it, without running a second time.
    """
    made: dict[SuiteRunSpec | MatrixSpec, SuiteRun | MatrixRun | BaseException] = {}

    def run(spec: SuiteRunSpec | MatrixSpec) -> SuiteRun | MatrixRun:
        if spec not in made:
            try:
                made[spec] = run_spec(spec, tmp_path_factory.mktemp("suite-run"))
            except Exception as error:  # kept, to be raised again for each test that asks
                made[spec] = error
        outcome = made[spec]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return run


# -- what the simulated store committed, as it committed it ----------------------------------


class StoreChanges:
    """Every change the simulated store commits to the objects `wanted` selects, kept in
    commit order (resourceVersion) and timed at the commit. States that last a fraction of a
    real second at the sim's time scale are all seen, where a test thread polling for them
    misses one whenever a loaded machine leaves it unscheduled that long. The store tells its
    subscribers just after a write is visible to readers: wait on this record (`has`), not on
    the store, before reading it."""

    def __init__(self, sim: Any, wanted: Callable[[dict], bool]) -> None:
        self._wanted = wanted
        self._changes: list[tuple[int, float, str, dict]] = []
        self._lock = threading.Lock()
        self.stop = sim.store.subscribe(self._record)

    def _record(self, event_type: str, obj: dict) -> None:
        if self._wanted(obj):
            self.add(event_type, obj)

    def add(self, event_type: str, obj: dict) -> None:
        """Record an object read otherwise (its state when the recording began)."""
        with self._lock:
            self._changes.append(
                (int(obj["metadata"]["resourceVersion"]), time.monotonic(), event_type, obj)
            )

    def changes(self) -> list[tuple[int, float, str, dict]]:
        """(resourceVersion, when, event type, object), oldest first."""
        with self._lock:
            return sorted(self._changes, key=lambda change: change[0])

    def has(self, resource_version: int) -> bool:
        with self._lock:
            return any(change[0] == resource_version for change in self._changes)


# -- a small release server: a path -> the bytes it serves, optionally cut short --------------


class ReleaseServer:
    """Serves files over HTTP; a file registered as cut announces its whole length, sends
    part of it and closes the connection, as a dropped download does."""

    def __init__(self) -> None:
        files: dict[str, tuple[bytes, int | None]] = {}
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path not in files:
                    self.send_error(404)
                    return
                body, cut_at = files[self.path]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if cut_at is None else body[:cut_at])
                self.wfile.flush()
                if cut_at is not None:
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add(self, path: str, body: bytes, cut_at: int | None = None) -> str:
        self.files[path] = (body, cut_at)
        return self.url + path


@pytest.fixture
def release_server() -> Iterator[ReleaseServer]:
    server = ReleaseServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
