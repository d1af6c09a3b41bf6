"""Self-tests of the simulation's scale to zero (live-objects.md section 8, item 4), its
autoscaler settings (item 5), and the simulated failures recipes 14.3 and 14.4 must detect:
nodeinfo's image never pulling, kn built for another platform."""

from __future__ import annotations

import errno
import hashlib
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import websocket

from tests.conftest import StoreChanges, condition, wait_until
from tests.sim import SimCluster, kube_controllers
from tests.sim.doubles import REPO_ROOT
from tests.sim.doubles.kn import ROOT_HELP
from tests.sim.mirror import binaries
from tests.test_sim_operator import SERVING_CR, install_serving
from tests.test_sim_serving import _serving_controller, create_ksvc, nodeinfo, through_ingress

SERVING = "serving.knative.dev/v1"
AUTOSCALING = "autoscaling.internal.knative.dev/v1alpha1"
HOST = "sleepy.default.127.0.0.1.sslip.io"


def pods(sim: SimCluster, revision: str = "sleepy-00001") -> list[dict]:
    return sim.store.list("v1", "Pod", "default", labels={"serving.knative.dev/revision": revision})


def pa(sim: SimCluster, revision: str = "sleepy-00001") -> dict:
    return sim.store.get(AUTOSCALING, "PodAutoscaler", revision, "default") or {}


def revision(sim: SimCluster, name: str = "sleepy-00001") -> dict:
    return sim.store.get(SERVING, "Revision", name, "default") or {}


def replicas(sim: SimCluster) -> int:
    deployment = sim.store.get("apps/v1", "Deployment", "sleepy-00001-deployment", "default")
    return deployment["spec"]["replicas"]


def terminating(found: list[dict]) -> list[dict]:
    return [pod for pod in found if pod["metadata"].get("deletionTimestamp")]


def inactive(obj: dict) -> bool:
    active = condition(obj, "Active")
    return (active.get("status"), active.get("reason")) == ("False", "NoTraffic")


@pytest.fixture
def serving(make_sim_cluster: Callable[..., SimCluster]) -> SimCluster:
    sim = make_sim_cluster()
    install_serving(sim)
    return sim


class Timeline:
    """Every change to the objects of the `sleepy` revision, in commit order (resourceVersion).
    Its stages last a fraction of a real second at this time scale (a 6 s window is 0.3 s): a
    test polling them would miss one when its thread is not scheduled that long on a loaded
    machine; a subscription sees them all."""

    KINDS = ("Revision", "PodAutoscaler", "Deployment", "Pod")

    def __init__(self, sim: SimCluster) -> None:
        self._recorded = StoreChanges(
            sim,
            lambda obj: obj["metadata"].get("namespace") == "default" and obj["kind"] in self.KINDS,
        )

    def until(self, predicate: Callable[[SimpleNamespace], bool], timeout: float) -> list:
        """The states once the latest one satisfies `predicate`. Waited for here, not on the
        store: the store tells its subscribers just after a write is visible to readers."""
        return wait_until(
            lambda: (states := self.states()) and predicate(states[-1]) and states, timeout
        )

    def states(self) -> list[SimpleNamespace]:
        """What the cluster held after each change: revision, pa, replicas, pods, when."""
        current: dict[tuple[str, str], dict] = {}
        states = []
        for _, when, event_type, obj in self._recorded.changes():
            key = (obj["kind"], obj["metadata"]["name"])
            if event_type == "DELETED":
                current.pop(key, None)
            else:
                current[key] = obj
            deployment = current.get(("Deployment", "sleepy-00001-deployment"), {})
            states.append(
                SimpleNamespace(
                    when=when,
                    revision=current.get(("Revision", "sleepy-00001"), {}),
                    pa=current.get(("PodAutoscaler", "sleepy-00001"), {}),
                    replicas=deployment.get("spec", {}).get("replicas"),
                    pods=[
                        o
                        for (kind, _), o in current.items()
                        if kind == "Pod"
                        and o["metadata"].get("labels", {}).get("serving.knative.dev/revision")
                        == "sleepy-00001"
                    ],
                )
            )
        return states


def first(states: list[SimpleNamespace], predicate: Callable, after: int = -1) -> int:
    found = next((i for i, state in enumerate(states) if i > after and predicate(state)), None)
    assert found is not None, f"no such state after #{after} among {len(states)}"
    return found


def test_scale_to_zero_goes_in_stages(serving: SimCluster) -> None:
    timeline = Timeline(serving)
    create_ksvc(serving, nodeinfo("sleepy", window="6s"))
    states = timeline.until(lambda state: state.replicas == 0 and not state.pods, timeout=30)
    active = first(states, lambda s: condition(s.revision, "Active").get("status") == "True")
    # Stage 1: a stable window without traffic makes the PA inactive; its pod is still there.
    pa_inactive = first(states, lambda s: inactive(s.pa), after=active)
    stage = states[pa_inactive]
    assert stage.replicas == 1 and len(stage.pods) == 1 and not terminating(stage.pods)
    ready = condition(stage.pa, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NoTraffic")
    revision_inactive = first(states, lambda s: inactive(s.revision), after=active)
    assert condition(states[revision_inactive].revision, "Ready")["status"] == "True"
    # Stage 2: the scaler re-checks and scales the Deployment to 0; the pod drains, Terminating.
    scaled = first(states, lambda s: s.replicas == 0, after=pa_inactive)
    draining = first(states, lambda s: terminating(s.pods), after=scaled)
    (pod,) = states[draining].pods
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 300
    unready = first(
        states, lambda s: s.pods and condition(s.pods[0], "Ready")["status"] == "False", draining
    )
    # Stage 3: once queue-proxy's 30 s drain is over, no pod is left.
    gone = first(states, lambda s: not s.pods, after=unready)
    assert states[gone].when - states[scaled].when >= serving.clock.scaled(30) * 0.9
    assert inactive(pa(serving)) and condition(pa(serving), "Ready")["status"] == "False"
    assert inactive(revision(serving)) and condition(revision(serving), "Ready")["status"] == "True"


def test_a_cold_start_while_the_last_pod_drains_sees_two_pods(
    serving: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A drain as long as the pod's grace period (300 s, 15 real seconds): the cold start below
    # happens within it however slow the machine is.
    monkeypatch.setattr(kube_controllers, "QUEUE_PROXY_DRAIN_SECONDS", 600.0)
    timeline = Timeline(serving)
    create_ksvc(serving, nodeinfo("sleepy", window="6s"))
    wait_until(lambda: replicas(serving) == 0, timeout=15)
    old = wait_until(lambda: terminating(pods(serving)), timeout=10)[0]["metadata"]["name"]
    before_request = len(timeline.states())
    response = through_ingress(serving, HOST)
    assert response.status_code == 200
    new = response.text.splitlines()[0].removeprefix("Hostname: ")
    assert new != old, "the draining pod gets no requests"
    names = {pod["metadata"]["name"] for pod in pods(serving)}
    assert names == {old, new}
    # Active again for a window (0.3 real seconds): seen in the recorded changes.
    wait_until(
        lambda: any(
            condition(state.revision, "Active").get("status") == "True"
            for state in timeline.states()[before_request:]
        ),
        timeout=10,
    )


def test_a_request_before_the_scale_down_makes_the_pa_active_again(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    serving = make_sim_cluster()
    # A pod retention period keeps the inactive pod for 3 real seconds, not the 0.15 s of the
    # scaler's re-check: the request lands before the scale-down on a loaded machine too.
    config = {
        **SERVING_CR["spec"]["config"],
        "autoscaler": {"scale-to-zero-pod-retention-period": "60s"},
    }
    install_serving(serving, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": config}})
    timeline = Timeline(serving)
    create_ksvc(serving, nodeinfo("sleepy", window="6s"))
    wait_until(lambda: inactive(pa(serving)), timeout=15)
    (pod,) = pods(serving)
    before_request = len(timeline.states())
    response = through_ingress(serving, HOST)
    assert response.text.startswith(f"Hostname: {pod['metadata']['name']}\n"), "no cold start"
    # Active again for a window (0.3 real seconds), then inactive again: recorded, not polled.
    wait_until(
        lambda: any(
            condition(state.pa, "Active").get("status") == "True"
            for state in timeline.states()[before_request:]
        ),
        timeout=10,
    )
    assert all(state.replicas == 1 for state in timeline.states()[before_request:])


def test_a_pod_being_scaled_away_is_handed_no_request(
    serving: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the Deployment is at 0 the pod is out of the activator's endpoints, even while
    the ReplicaSet controller has yet to delete it: a websocket opened on it would be cut."""
    released = threading.Event()
    delete = serving.store.delete

    def pods_go_when_released(api_version: str, kind: str, *args, **kwargs) -> dict | None:
        if kind == "Pod":
            released.wait(30)
        return delete(api_version, kind, *args, **kwargs)

    # Held from the start: the pod's active phase lasts a fraction of a second at this scale.
    monkeypatch.setattr(serving.store, "delete", pods_go_when_released)
    try:
        create_ksvc(serving, nodeinfo("sleepy", window="6s"))
        wait_until(lambda: replicas(serving) == 0, timeout=15)
        # The activator's scale-up is held too, so nothing but the doomed pod could answer: once
        # the loop calls the empty pass, no real pass is in flight to see the request below.
        empty_pass = threading.Event()
        monkeypatch.setattr(_serving_controller(serving), "reconcile", empty_pass.set)
        assert empty_pass.wait(10), "the serving controller's loop made no pass in 10s"
        assert pods(serving) and not terminating(pods(serving))
        with pytest.raises(TimeoutError):
            serving.network.pod_port_for_host(HOST, 0.5, external_only=True)
    finally:
        released.set()


def test_autoscaler_settings_are_read_with_defaults_for_missing_keys(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster()
    config = {**SERVING_CR["spec"]["config"], "autoscaler": {"stable-window": "6s"}}
    config["autoscaler"]["scale-to-zero-pod-retention-period"] = "40s"
    install_serving(sim, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": config}})
    data = sim.store.get("v1", "ConfigMap", "config-autoscaler", "knative-serving")["data"]
    assert "scale-to-zero-grace-period" not in data, "a missing key means the default"
    timeline = Timeline(sim)
    create_ksvc(sim, nodeinfo("sleepy"))  # no annotation: config-autoscaler's 6 s window
    # Timed at the commits (a subscription), not when a polling thread got to see them.
    states = timeline.until(lambda state: state.replicas == 0, timeout=15)
    went_inactive = first(states, lambda state: inactive(state.pa))
    scaled_down = first(states, lambda state: state.replicas == 0, after=went_inactive)
    kept = states[scaled_down].when - states[went_inactive].when
    assert kept >= sim.clock.scaled(40) * 0.9, f"pod retention kept it {kept:.2f}s"


def test_scale_to_zero_switched_off_keeps_the_pod(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster()
    config = {**SERVING_CR["spec"]["config"], "autoscaler": {"enable-scale-to-zero": "false"}}
    install_serving(sim, {**SERVING_CR, "spec": {**SERVING_CR["spec"], "config": config}})
    create_ksvc(sim, nodeinfo("sleepy", window="6s"))
    time.sleep(sim.clock.scaled(6 + 3 + 30 + 10))
    assert replicas(sim) == 1 and len(pods(sim)) == 1
    assert condition(pa(sim), "Active")["status"] == "True"


def test_nodeinfo_image_pull_fault_shows_the_registrys_reason(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster(faults=["nodeinfo-image-pull"])
    install_serving(sim)
    sim.store.create({**nodeinfo(), "metadata": {"name": "nodeinfo", "namespace": "default"}})
    pod = wait_until(
        lambda: next(
            (
                p
                for p in pods(sim, "nodeinfo-00001")
                if (p.get("status") or {}).get("containerStatuses")
            ),
            None,
        ),
        timeout=10,
    )
    user = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "user-container")
    waiting = user["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith(
        'Back-off pulling image "index.docker.io/functions/nodeinfo@'
    )
    assert "429 Too Many Requests" in waiting["message"]
    events = [
        e["message"]
        for e in sim.store.list("v1", "Event", "default")
        if e["involvedObject"]["name"] == pod["metadata"]["name"]
    ]
    assert any(m.startswith("Failed to pull image") and "toomanyrequests" in m for m in events)
    assert "Error: ErrImagePull" in events
    # Other images still pull.
    sim.store.create(
        {**nodeinfo(), "metadata": {"name": "sockeye", "namespace": "default"}, "spec": {
            "template": {"spec": {"containers": [{"image": "docker.io/n3wscott/sockeye:v0.7.0"}]}}
        }}
    )  # fmt: skip
    wait_until(
        lambda: condition(revision(sim, "sockeye-00001"), "Ready").get("status") == "True",
        timeout=10,
    )


def test_kn_not_executable_fault_serves_a_foreign_binary_that_verifies(tmp_path: Path) -> None:
    sim = SimpleNamespace(repo_root=REPO_ROOT, faults={"kn-not-executable"})
    served = binaries.asset("knative", "client", "knative-v1.11.0", "kn-linux-amd64", sim)
    checksums = binaries.asset("knative", "client", "knative-v1.11.0", "checksums.txt", sim)
    assert f"{hashlib.sha256(served).hexdigest()}  kn-linux-amd64" in checksums.decode()
    path = tmp_path / "kn"
    path.write_bytes(served)
    path.chmod(0o755)
    with pytest.raises(OSError) as raised:
        subprocess.run([path, "version"], capture_output=True)
    assert raised.value.errno == errno.ENOEXEC


def test_kn_help_has_no_space_before_find_more_information() -> None:
    assert "resources\n\nFind more information about Knative at: https://knative.dev\n" in ROOT_HELP


def test_an_open_websocket_keeps_its_revision_from_scaling_to_zero(serving: SimCluster) -> None:
    # queue-proxy counts an open websocket as a request in flight (concurrency 1), so the
    # autoscaler sees traffic for as long as it lasts.
    sockeye = {
        "apiVersion": SERVING,
        "kind": "Service",
        "metadata": {"name": "sleepy"},
        "spec": {
            "template": {
                "metadata": {"annotations": {"autoscaling.knative.dev/window": "6s"}},
                "spec": {"containers": [{"image": "docker.io/n3wscott/sockeye:v0.7.0"}]},
            }
        },
    }
    create_ksvc(serving, sockeye)
    connection = websocket.create_connection(
        f"ws://{serving.ingress_endpoint}/ws", host=HOST, origin=f"http://{HOST}", timeout=10
    )
    try:
        # Longer than the window, the grace period and the drain together.
        time.sleep(serving.clock.scaled(6 + 30 + 30 + 10))
        assert replicas(serving) == 1 and not terminating(pods(serving))
        assert not inactive(pa(serving))
    finally:
        connection.close(timeout=0)
    wait_until(lambda: replicas(serving) == 0, 15)
