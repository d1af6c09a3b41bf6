"""Self-tests of the simulated Knative Eventing: release files, PingSource, sockeye, GitHub source.

Everything goes through real protocols: kubectl and the official kubernetes client against the
simulated API server, HTTP to the release mirror and the ingress, a websocket to sockeye.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
import websocket
import yaml
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.conftest import api_client, condition, mirror_url, run_kubectl, wait_until
from tests.sim import SimCluster
from tests.sim.apps.sockeye import SockeyeApp
from tests.sim.knative.eventing import EventingController, has_finalizer, rfc3339_nano
from tests.sim.mirror import eventing as eventing_files
from tests.test_sim_operator import install_serving

EVENTING_TAG = "knative-v1.11.1"
EVENTING_FILES = (
    "eventing-crds.yaml",
    "eventing-core.yaml",
    "in-memory-channel.yaml",
    "mt-channel-broker.yaml",
)
SOCKEYE_HOST = "sockeye.default.127.0.0.1.sslip.io"
SOURCE_KINDS = {"ApiServerSource", "ContainerSource", "PingSource", "SinkBinding"}
PING_SOURCE = "ping-source"
WAIT_SECONDS = 60.0
# The tests wait for whole scheduled minutes: a smaller time scale than the default keeps
# them quick (a minute lasts 1.2 s).
FAST_TIME_SCALE = 0.02

# The chapter's manifests (recipes 14.5, 14.6).
EVENTING_CR_WITH_GITHUB = """
apiVersion: operator.knative.dev/v1beta1
kind: KnativeEventing
metadata:
  name: knative-eventing
  namespace: knative-eventing
spec:
  source:
    github:
      enabled: true
"""
PINGSOURCE_YAML = """
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: ping-source
spec:
  schedule: "* * * * *"
  contentType: "application/json"
  data: '{ "message": "Hello, world!" }'
  sink:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: sockeye
"""


# --- helpers --------------------------------------------------------------------------------


class Cluster:
    """A started SimCluster with kubectl and kubernetes clients bound to it."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        api = api_client(sim)
        self.custom = client.CustomObjectsApi(api)
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)
        self.extensions = client.ApiextensionsV1Api(api)

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        return run_kubectl(self.sim, *args, stdin=stdin)

    def mirror_url(self, org: str, repo: str, tag: str, filename: str) -> str:
        return mirror_url(self.sim, org, repo, tag, filename)

    def wait_deployment_available(self, name: str, namespace: str) -> None:
        def available() -> bool:
            deployment = self.apps.read_namespaced_deployment(name, namespace).to_dict()
            return condition(deployment, "Available").get("status") == "True"

        wait_until(available, WAIT_SECONDS)

    def wait_cr_ready(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> dict:
        def ready() -> dict | None:
            obj = self.custom.get_namespaced_custom_object(group, version, namespace, plural, name)
            return obj if condition(obj, "Ready").get("status") == "True" else None

        return wait_until(ready, WAIT_SECONDS)

    def source_kinds(self, version: str = "v1") -> set[str]:
        resources = self.custom.get_api_resources("sources.knative.dev", version).resources
        return {resource.kind for resource in resources if "/" not in resource.name}

    def sockeye_pods(self) -> list[str]:
        pods = self.core.list_namespaced_pod(
            "default", label_selector="serving.knative.dev/service=sockeye"
        ).items
        return [pod.metadata.name for pod in pods if pod.status.phase == "Running"]

    def sockeye_log(self) -> str:
        """The user-container logs of the running sockeye pods; a pod gone between the list and
        its read (scaled away, replaced by the controller) is skipped, not an error."""
        logs = []
        for pod in self.sockeye_pods():
            try:
                logs.append(
                    self.core.read_namespaced_pod_log(pod, "default", container="user-container")
                )
            except ApiException as error:
                if error.status != 404:
                    raise
        return "\n".join(logs)

    def get_ping_source(self) -> dict:
        return self.custom.get_namespaced_custom_object(
            "sources.knative.dev", "v1", "default", "pingsources", PING_SOURCE
        )


def deploy_sockeye(cluster: Cluster) -> None:
    cluster.kubectl(
        "apply", "-f", cluster.mirror_url("n3wscott", "sockeye", "v0.7.0", "release.yaml")
    )
    cluster.wait_cr_ready("serving.knative.dev", "v1", "default", "services", "sockeye")


def open_sockeye_websocket(cluster: Cluster, timeout: float) -> websocket.WebSocket:
    """/ws of sockeye; `timeout` bounds each receive. The handshake gets a generous bound of
    its own: on a loaded machine it may take longer than a simulated tick. Close it with
    `close(timeout=0)`: sockeye never answers a close frame."""
    socket = websocket.create_connection(
        f"ws://{cluster.sim.ingress_endpoint}/ws",
        host=SOCKEYE_HOST,
        origin=f"http://{SOCKEYE_HOST}",
        timeout=max(timeout, 30),
    )
    socket.settimeout(timeout)
    return socket


def receive_event(cluster: Cluster, socket: websocket.WebSocket, timeout: float) -> dict:
    """The next event pushed on /ws; browses sockeye's page meanwhile, as a reader would,
    which also keeps the revision from scaling to zero under the held websocket."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # sockeye JSON-encodes each event twice (ws.go: websocket.JSON.Send of a string).
            return json.loads(json.loads(socket.recv()))
        except websocket.WebSocketTimeoutException:
            requests.get(
                f"http://{cluster.sim.ingress_endpoint}/",
                headers={"Host": SOCKEYE_HOST},
                timeout=timeout,
            )
    pytest.fail(f"no event on sockeye's /ws within {timeout:.1f}s")


def pingsources_version(cluster: Cluster) -> str:
    """The resourceVersion of the PingSource list now: a watch from it misses no change."""
    listed = cluster.custom.list_namespaced_custom_object(
        "sources.knative.dev", "v1", "default", "pingsources"
    )
    return listed["metadata"]["resourceVersion"]


def ready_transitions(
    cluster: Cluster, until_ready_within: float, since: str
) -> list[tuple[str, str]]:
    """(status, reason) of the PingSource's Ready condition, as watched from resourceVersion
    `since` (each change replayed, however briefly a state lasted), until it is True with the
    adapter running."""
    seen: list[tuple[str, str]] = []
    stream = watch.Watch()
    deadline = time.monotonic() + until_ready_within
    for event in stream.stream(
        cluster.custom.list_namespaced_custom_object,
        "sources.knative.dev",
        "v1",
        "default",
        "pingsources",
        resource_version=since,
        timeout_seconds=math.ceil(until_ready_within),
    ):
        obj = event["object"]
        if obj["metadata"]["name"] != PING_SOURCE:
            continue
        ready = condition(obj, "Ready")
        state = (ready.get("status", ""), ready.get("reason", ""))
        if not seen or seen[-1] != state:
            seen.append(state)
        # The first True comes from the adapter's stale 0/0 Available: go on until it runs.
        if (state[0] == "True" and adapter_running(cluster)) or time.monotonic() > deadline:
            stream.stop()
    return seen


def adapter_running(cluster: Cluster) -> bool:
    adapter = cluster.apps.read_namespaced_deployment("pingsource-mt-adapter", "knative-eventing")
    return (adapter.status.available_replicas or 0) >= 1


def wait_until_mid_period(period: float) -> float:
    """Sleep until a fifth of a scaled minute past a tick; return the next tick's time."""
    now = time.time()
    next_tick = math.ceil(now / period) * period
    if next_tick - now < 0.6 * period:
        time.sleep(next_tick - now + 0.2 * period)
        next_tick += period
    return next_tick


def event_time(event: dict) -> float:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def operator_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Serving and Eventing (with the GitHub source) installed by the operator, sockeye up."""
    kubeconfig: Path = tmp_path_factory.mktemp("eventing-operator") / "kubeconfig"
    with SimCluster(kubeconfig, time_scale=FAST_TIME_SCALE) as sim:
        cluster = Cluster(sim)
        install_serving(cluster.sim)
        cluster.kubectl("create", "namespace", "knative-eventing")
        cluster.kubectl("apply", "-f", "-", stdin=EVENTING_CR_WITH_GITHUB)
        cluster.wait_cr_ready(
            "operator.knative.dev",
            "v1beta1",
            "knative-eventing",
            "knativeeventings",
            "knative-eventing",
        )
        deploy_sockeye(cluster)
        yield cluster


# --- generators (no cluster) ----------------------------------------------------------------


def test_release_files_together_hold_what_the_operator_installs() -> None:
    def keys(objects: list[dict]) -> set[tuple[str, str, str]]:
        return {
            (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
            for o in objects
            if o["kind"] != "Namespace"
        }

    from_files: set[tuple[str, str, str]] = set()
    for filename in EVENTING_FILES:
        body = eventing_files.asset("knative", "eventing", EVENTING_TAG, filename, None)
        assert body, filename
        from_files |= keys(list(yaml.safe_load_all(body)))
    assert from_files == keys(eventing_files.eventing_objects("1.11.1"))


def test_integrationsources_arrive_with_1_17() -> None:
    def plurals(version: str) -> set[str]:
        return {
            o["spec"]["names"]["plural"]
            for o in eventing_files.eventing_crd_objects(version)
            if o["spec"]["group"] == "sources.knative.dev"
        }

    assert "integrationsources" not in plurals("1.16.7")
    assert plurals("1.17.6") >= {"integrationsources", "pingsources"}


def test_sockeye_prints_and_broadcasts_like_sdk_go_2_3() -> None:
    writes: list[str] = []
    app = SockeyeApp("sockeye-00001-deployment-5d5df6c7-gv2j4", writes.append, None)
    port = app.start()
    try:
        socket = websocket.create_connection(
            f"ws://127.0.0.1:{port}/ws", origin="http://localhost", timeout=5
        )
        structured = {
            "specversion": "1.0",
            "id": "42",
            "source": "/test",
            "type": "test.type",
            "subject": "s",
            "datacontenttype": "application/json",
            "data": {"b": 1, "a": [1, 2]},
            "knativearrivaltime": "now",
        }
        response = requests.post(
            f"http://127.0.0.1:{port}/",
            json=structured,
            timeout=5,
            headers={"Content-Type": "application/cloudevents+json"},
        )
        assert response.status_code == 200
        pushed = json.loads(json.loads(socket.recv()))
        socket.close(timeout=0)
        malformed = requests.post(
            f"http://127.0.0.1:{port}/", data=b"{}", timeout=5, headers={"Ce-Specversion": "1.0"}
        )
        assert malformed.status_code == 400
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        app.stop()
    # fmt.Println's one write: the event's whole block, its closing empty line included.
    printed = [write for write in writes if write.startswith("got ")]
    assert len(printed) == 1 and printed[0].endswith(
        '\nData,\n  {\n    "b": 1,\n    "a": [\n      1,\n      2\n    ]\n  }\n'
    ), printed
    lines = "\n".join(writes).split("\n")
    assert lines[0].endswith(" Server starting on port 8080")
    assert lines[1].endswith(" WS connection...")
    lines = lines[1:]
    assert lines[1:13] == [
        "got Validation: valid",
        "Context Attributes,",
        "  specversion: 1.0",
        "  type: test.type",
        "  source: /test",
        "  subject: s",
        "  id: 42",
        "  datacontenttype: application/json",
        "Extensions,",
        "  knativearrivaltime: now",
        "Data,",
        "  {",
    ]
    assert lines[13:20] == ['    "b": 1,', '    "a": [', "      1,", "      2", "    ]", "  }", ""]
    assert lines[20].endswith(
        'Broadasting to 1 clients: {"data":{"a":[1,2],"b":1},"datacontenttype":'
        '"application/json","id":"42","knativearrivaltime":"now","source":"/test",'
        '"specversion":"1.0","subject":"s","type":"test.type"}'
    )
    assert " Broadasting message to client " in lines[21]
    assert lines[22].endswith('"type":"test.type"} - true')
    assert pushed["data"] == {"b": 1, "a": [1, 2]}


# --- the operator path ----------------------------------------------------------------------


def test_operator_installed_eventing_serves_the_source_kinds(operator_cluster: Cluster) -> None:
    assert operator_cluster.source_kinds("v1") >= SOURCE_KINDS
    listing = operator_cluster.kubectl("api-resources", "--api-group=sources.knative.dev")
    assert "pingsources" in listing
    adapter = operator_cluster.apps.read_namespaced_deployment(
        "pingsource-mt-adapter", "knative-eventing"
    )
    assert adapter.metadata.labels["app.kubernetes.io/version"] == "1.11.1"


def test_github_source_is_served_when_enabled(operator_cluster: Cluster) -> None:
    wait_until(
        lambda: (
            condition(
                operator_cluster.extensions.read_custom_resource_definition(
                    "githubsources.sources.knative.dev"
                ).to_dict(),
                "Established",
            ).get("status")
            == "True"
        ),
        WAIT_SECONDS,
    )
    assert "GitHubSource" in operator_cluster.source_kinds("v1alpha1")
    listing = operator_cluster.kubectl("api-resources", "--api-group=sources.knative.dev")
    assert "githubsources" in listing
    wait_until(
        lambda: (
            (
                operator_cluster.apps.read_namespaced_stateful_set(
                    "github-controller-manager", "knative-eventing"
                ).status.ready_replicas
                or 0
            )
            >= 1
        ),
        WAIT_SECONDS,
    )


def test_ping_event_reaches_sockeye_websocket_and_log(operator_cluster: Cluster) -> None:
    cluster = operator_cluster
    period = cluster.sim.clock.scaled(60)
    cluster.kubectl("apply", "-f", "-", stdin=PINGSOURCE_YAML)
    # Ready is True first on the adapter's stale 0/0 Available: wait for the adapter, then Ready.
    wait_until(lambda: adapter_running(cluster), WAIT_SECONDS)
    source = cluster.wait_cr_ready(
        "sources.knative.dev", "v1", "default", "pingsources", PING_SOURCE
    )
    assert source["status"]["sinkUri"] == "http://sockeye.default.svc.cluster.local"
    table = cluster.kubectl("get", "pingsource", PING_SOURCE).splitlines()
    assert table[0].split() == ["NAME", "SINK", "SCHEDULE", "AGE", "READY", "REASON"]
    assert table[1].split()[-1] == "True"
    # Operator 1.11.4 installs eventing 1.11.1: the PingSource finalizer came with 1.11.3.
    assert "finalizers" not in source["metadata"]
    assert source["status"]["ceAttributes"] == [
        {
            "source": "/apis/v1/namespaces/default/pingsources/ping-source",
            "type": "dev.knative.sources.ping",
        }
    ]

    socket = open_sockeye_websocket(cluster, timeout=period / 2)
    try:
        event = receive_event(cluster, socket, timeout=2.5 * period)
    finally:
        socket.close(timeout=0)
    assert event["type"] == "dev.knative.sources.ping"
    assert event["source"] == "/apis/v1/namespaces/default/pingsources/ping-source"
    assert event["data"] == {"message": "Hello, world!"}
    assert event["datacontenttype"] == "application/json"
    # Stamped at the tick plus the runner's 0-500 ms jitter (scaled), not at delivery.
    assert event_time(event) % period <= cluster.sim.clock.scaled(0.5) + 0.01

    log = wait_until(cluster.sockeye_log, WAIT_SECONDS)
    assert (
        "got Validation: valid\nContext Attributes,\n  specversion: 1.0\n"
        "  type: dev.knative.sources.ping\n" in log
    )
    assert f"  id: {event['id']}\n" in log
    assert 'Data,\n  {\n    "message": "Hello, world!"\n  }\n' in log
    assert "Broadasting to 1 clients: " in log


def test_sockeye_websocket_without_origin_is_refused(operator_cluster: Cluster) -> None:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(
            f"ws://{operator_cluster.sim.ingress_endpoint}/ws",
            host=SOCKEYE_HOST,
            suppress_origin=True,
            timeout=5,
        )
    assert refused.value.status_code == 403


def test_pingsource_written_as_v1beta2_becomes_ready(operator_cluster: Cluster) -> None:
    """kn <= 1.16 writes PingSources through sources.knative.dev/v1beta2."""
    body = {
        "apiVersion": "sources.knative.dev/v1beta2",
        "kind": "PingSource",
        "metadata": {"name": "kn-ping"},
        "spec": {
            "schedule": "* * * * *",
            "data": '{"from": "kn"}',
            "sink": {
                "ref": {
                    "apiVersion": "serving.knative.dev/v1",
                    "kind": "Service",
                    "name": "sockeye",
                }
            },
        },
    }
    cluster = operator_cluster
    cluster.custom.create_namespaced_custom_object(
        "sources.knative.dev", "v1beta2", "default", "pingsources", body
    )
    try:
        source = cluster.wait_cr_ready(
            "sources.knative.dev", "v1beta2", "default", "pingsources", "kn-ping"
        )
        assert source["apiVersion"] == "sources.knative.dev/v1beta2"
        assert source["status"]["sinkUri"] == "http://sockeye.default.svc.cluster.local"
        # kn sets no contentType: no datacontenttype, the data printed raw on one line.
        block = (
            "  type: dev.knative.sources.ping\n"
            "  source: /apis/v1/namespaces/default/pingsources/kn-ping\n"
        )

        def sockeyes_log_with_the_event() -> str | None:
            log = cluster.sockeye_log()
            # sockeye prints an event in one write: the block is there whole or not at all.
            return log if block in log else None

        log = wait_until(sockeyes_log_with_the_event, WAIT_SECONDS)
        printed = log[log.index(block) :].split("\n\n", 1)[0]
        assert "datacontenttype" not in printed
        assert printed.endswith('\nData,\n  {"from": "kn"}')
    finally:
        cluster.custom.delete_namespaced_custom_object(
            "sources.knative.dev", "v1", "default", "pingsources", "kn-ping"
        )


def test_pingsource_with_a_missing_sink_is_not_ready(operator_cluster: Cluster) -> None:
    cluster = operator_cluster
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        stdin=PINGSOURCE_YAML.replace("name: ping-source", "name: lost-ping").replace(
            "name: sockeye", "name: nowhere"
        ),
    )
    try:

        def without_its_sink() -> dict | None:
            source = cluster.custom.get_namespaced_custom_object(
                "sources.knative.dev", "v1", "default", "pingsources", "lost-ping"
            )
            return source if condition(source, "SinkProvided").get("status") == "False" else None

        source = wait_until(without_its_sink, WAIT_SECONDS)
        assert condition(source, "SinkProvided").get("reason") == "NotFound"
        assert "message" not in condition(source, "SinkProvided")
        ready = condition(source, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "NotFound")
        assert "sinkUri" not in source["status"]
    finally:
        cluster.kubectl("delete", "pingsource", "lost-ping")


# --- the YAML path, with the lose-ping-event fault ------------------------------------------


def test_yaml_installed_eventing_loses_only_the_first_ping_event(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    cluster = Cluster(make_sim_cluster(faults=["lose-ping-event"], time_scale=FAST_TIME_SCALE))
    period = cluster.sim.clock.scaled(60)
    install_serving(cluster.sim)
    # One kubectl run applying the four files in the chapter's order.
    cluster.kubectl(
        "apply",
        *[
            argument
            for filename in EVENTING_FILES
            for argument in (
                "-f",
                cluster.mirror_url("knative", "eventing", EVENTING_TAG, filename),
            )
        ],
    )
    for name in (
        "eventing-controller",
        "eventing-webhook",
        "imc-controller",
        "imc-dispatcher",
        "mt-broker-filter",
        "mt-broker-ingress",
        "mt-broker-controller",
    ):
        cluster.wait_deployment_available(name, "knative-eventing")
    assert cluster.source_kinds("v1") >= SOURCE_KINDS
    adapter = cluster.apps.read_namespaced_deployment("pingsource-mt-adapter", "knative-eventing")
    assert adapter.spec.replicas == 0
    deploy_sockeye(cluster)

    # A schedule that never fires while the adapter scales up; "* * * * *" is set later, away
    # from a tick, so that the first tick to fire is known.
    before_apply = pingsources_version(cluster)
    cluster.kubectl("apply", "-f", "-", stdin=PINGSOURCE_YAML.replace('"* * * * *"', '"0 0 1 1 *"'))
    transitions = ready_transitions(cluster, WAIT_SECONDS, since=before_apply)
    assert ("False", "MinimumReplicasUnavailable") in transitions
    assert transitions[-1] == ("True", "")
    assert (
        cluster.apps.read_namespaced_deployment(
            "pingsource-mt-adapter", "knative-eventing"
        ).spec.replicas
        == 1
    )

    first_tick = wait_until_mid_period(period)
    socket = open_sockeye_websocket(cluster, timeout=period / 2)
    try:
        cluster.custom.patch_namespaced_custom_object(
            "sources.knative.dev",
            "v1",
            "default",
            "pingsources",
            PING_SOURCE,
            {"spec": {"schedule": "* * * * *"}},
        )
        event = receive_event(cluster, socket, timeout=3.5 * period)
    finally:
        socket.close(timeout=0)
    assert event["type"] == "dev.knative.sources.ping"
    # The first tick's event was dropped; the one of the next tick arrived.
    assert event_time(event) >= first_tick + 0.5 * period


def _ping_source(name: str, spec: dict) -> dict:
    return {
        "apiVersion": "sources.knative.dev/v1",
        "kind": "PingSource",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


SINK = {"ref": {"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "sockeye"}}


def test_eventing_webhook_defaults_the_schedule(operator_cluster: Cluster) -> None:
    cluster = operator_cluster
    created = cluster.custom.create_namespaced_custom_object(
        "sources.knative.dev",
        "v1",
        "default",
        "pingsources",
        _ping_source("defaulted-ping", {"sink": SINK}),
    )
    try:
        assert created["spec"]["schedule"] == "* * * * *"
    finally:
        cluster.kubectl("delete", "pingsource", "defaulted-ping")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"schedule": "every minute", "sink": SINK},
            "invalid value: expected exactly 5 fields, found 2: [every minute]: spec.schedule",
        ),
        (
            {"schedule": "61 * * * *", "sink": SINK},
            "invalid value: end of range (61) above maximum (59): 61: spec.schedule",
        ),
        (
            {"schedule": "* * * * *"},
            "expected at least one, got none: spec.sink.ref, spec.sink.uri",
        ),
    ],
)
def test_eventing_webhook_refuses_invalid_ping_sources(
    operator_cluster: Cluster, spec: dict, message: str
) -> None:
    with pytest.raises(ApiException) as refused:
        operator_cluster.custom.create_namespaced_custom_object(
            "sources.knative.dev", "v1", "default", "pingsources", _ping_source("bad-ping", spec)
        )
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["message"] == (
        'admission webhook "validation.webhook.eventing.knative.dev" denied the request: '
        f"validation failed: {message}"
    )


# --- upstream details the harness relies on (live-objects.md section 8) ----------------------


def test_pingsource_finalizer_came_with_eventing_1_11_3() -> None:
    assert not has_finalizer("1.11.1")
    assert not has_finalizer("1.11.2")
    assert has_finalizer("1.11.3")
    assert has_finalizer("1.12.0")


def test_ping_event_time_has_nanoseconds() -> None:
    moment = datetime(2024, 5, 1, 10, 7, 0, 348269, tzinfo=timezone.utc)
    assert rfc3339_nano(moment, 162) == "2024-05-01T10:07:00.348269162Z"
    assert rfc3339_nano(moment.replace(microsecond=0)) == "2024-05-01T10:07:00Z"
    headers, body = EventingController._event_message(
        _ping_source(
            "p", {"schedule": "* * * * *", "contentType": "application/json", "data": "{}"}
        ),
        moment,
    )
    assert headers["Ce-Time"].startswith("2024-05-01T10:07:00.348269")
    assert headers["Content-Type"] == "application/json"
    assert body == b"{}"


def test_the_wrong_ping_event_fault_sends_other_data_as_text() -> None:
    spec = {"schedule": "* * * * *", "contentType": "application/json", "data": "{}"}
    headers, body = EventingController._event_message(_ping_source("p", spec), wrong=True)
    assert headers["Content-Type"] == "text/plain"
    assert body == b"Goodbye, world!"
