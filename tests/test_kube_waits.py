"""The access layer and the wait primitive against the simulated API server, through the
official kubernetes client (no mocked client objects)."""

from __future__ import annotations

import logging
import re
import threading

import pytest
import yaml

from cookbook14 import waits
from cookbook14.errors import KubeError, WaitTimeout
from cookbook14.kube import ApiResource, Kube
from cookbook14.plan import WaitFor
from cookbook14.waits import (
    Watched,
    condition_is_true,
    wait,
    wait_for,
    workload_available,
)
from tests.conftest import WIDGET_CRD, config_map, run_kubectl


def widget(name: str = "gear", size: int = 1) -> dict:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"size": size},
    }


def settings(value: str) -> dict:
    return config_map("settings", data={"key": value})


def kube_for(sim) -> Kube:
    return Kube.from_kubeconfig(sim.kubeconfig)


def crd_established_by_wait(kube: Kube):
    def wait_for_crds(names: list[str]) -> None:
        for name in names:
            wait(
                kube,
                Watched("apiextensions.k8s.io/v1", "CustomResourceDefinition", name=name),
                condition_is_true("Established"),
                10,
                f"CRD {name} Established",
            )

    return wait_for_crds


def with_widget(sim) -> tuple[Kube, dict]:
    """The access layer for `sim`, with the Widget CRD installed and Widget gear created."""
    kube = kube_for(sim)
    kube.apply([WIDGET_CRD], wait_for_crds=crd_established_by_wait(kube))
    return kube, kube.apply([widget()])[0]


GEAR = Watched("example.com/v1", "Widget", "default", "gear")


def set_gear_condition(sim, condition: dict) -> None:
    sim.store.update_status(
        "example.com/v1", "Widget", "gear", "default", {"conditions": [condition]}
    )


def gear_ready_later(sim, delay: float) -> threading.Timer:
    timer = threading.Timer(
        delay, set_gear_condition, args=(sim, {"type": "Ready", "status": "True"})
    )
    timer.start()
    return timer


def test_apply_creates_then_leaves_unchanged_then_changes(sim_cluster):
    kube = kube_for(sim_cluster)
    created = kube.apply([settings("one")])[0]
    again = kube.apply([settings("one")])[0]
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    changed = kube.apply([settings("two")])[0]
    assert changed["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    assert kube.get("v1", "ConfigMap", "settings", "default")["data"] == {"key": "two"}


def test_apply_installs_crds_before_their_custom_resources(sim_cluster):
    kube = kube_for(sim_cluster)
    # The custom resource comes first in the file, as it may in a release file.
    kube.apply([widget(), WIDGET_CRD], wait_for_crds=crd_established_by_wait(kube))
    assert kube.get("example.com/v1", "Widget", "gear", "default")["spec"] == {"size": 1}
    # The resource once, at the group's preferred version; its status subresource is no row.
    assert kube.api_resources("example.com") == [
        ApiResource(
            name="widgets",
            shortnames=("wd",),
            api_version="example.com/v1",
            namespaced=True,
            kind="Widget",
        )
    ]


def test_apply_puts_a_document_without_namespace_into_the_namespace_given(sim_cluster):
    # As `kubectl apply -n tools -f` does with a release file whose objects name no namespace.
    kube = kube_for(sim_cluster)
    unplaced = config_map("unplaced")
    del unplaced["metadata"]["namespace"]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tools"}}
    applied = kube.apply([unplaced, namespace], namespace="tools")
    placed = [(doc["kind"], doc["metadata"].get("namespace")) for doc in applied]
    assert placed == [("Namespace", None), ("ConfigMap", "tools")]
    assert kube.get("v1", "ConfigMap", "unplaced", "tools")["data"] == {"key": "value"}


def test_a_refused_request_is_not_retried_and_quotes_the_server(sim_cluster, caplog):
    kube = kube_for(sim_cluster)
    bad = settings("x")
    bad["metadata"]["name"] = "Not_A_Name"
    caplog.set_level("INFO", logger="cookbook14.kube")
    with pytest.raises(KubeError) as raised:
        kube.apply([bad])
    assert raised.value.status == 422
    # The server's own rule, which only the API server's Status message can carry.
    assert "a lowercase RFC 1123 subdomain must consist of" in str(raised.value)
    assert "retrying" not in caplog.text


def test_unknown_kind_says_it_is_not_served(sim_cluster):
    with pytest.raises(KubeError, match="does not serve Gadget"):
        kube_for(sim_cluster).apply([{**widget(), "kind": "Gadget"}])


def test_wait_returns_when_the_condition_turns_true(sim_cluster):
    kube, _ = with_widget(sim_cluster)
    seen: list[str] = []
    timer = gear_ready_later(sim_cluster, 0.3)
    state = wait(
        kube,
        GEAR,
        condition_is_true("Ready"),
        10,
        "Widget gear Ready",
        seen.append,
    )
    timer.join()
    assert state["default/gear"]["status"]["conditions"][0]["status"] == "True"
    assert seen == [], "a short wait is quiet"


def test_a_long_wait_reports_progress_then_done(sim_cluster, monkeypatch):
    # No quiet period: the first progress line comes with the first slice of the watch, and
    # saying it makes the Widget ready, so no real-time margin decides the outcome.
    monkeypatch.setattr(waits, "QUIET_PERIOD", 0.0)
    kube, _ = with_widget(sim_cluster)
    set_gear_condition(
        sim_cluster,
        {"type": "Ready", "status": "False", "reason": "Installing", "message": "one moment"},
    )
    seen: list[str] = []

    def progress(message: str) -> None:
        if not seen:
            set_gear_condition(sim_cluster, {"type": "Ready", "status": "True"})
        seen.append(message)

    wait(
        kube,
        GEAR,
        condition_is_true("Ready"),
        10,
        "Widget gear Ready",
        progress,
    )
    assert re.fullmatch(
        r"waiting for Widget gear Ready \(\d+s of 10s\): Ready=False \(Installing\): one moment",
        seen[0],
    )
    assert re.fullmatch(r"done: Widget gear Ready after \d+s", seen[-1])


def test_wait_timeout_names_what_how_long_and_what_it_saw(sim_cluster):
    kube, obj = with_widget(sim_cluster)
    set_gear_condition(
        sim_cluster,
        {
            "type": "Ready",
            "status": "False",
            "reason": "NotReady",
            "message": "Waiting on deployments: controller",
        },
    )
    sim_cluster.store.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "gear.1", "namespace": "default"},
            "involvedObject": {
                "apiVersion": "example.com/v1",
                "kind": "Widget",
                "name": "gear",
                "namespace": "default",
                "uid": obj["metadata"]["uid"],
            },
            "reason": "InternalError",
            "message": "failed to apply manifests",
            "type": "Warning",
            "count": 3,
        }
    )
    with pytest.raises(WaitTimeout) as raised:
        wait(
            kube,
            GEAR,
            condition_is_true("Ready"),
            1.5,
            "Widget gear in namespace default to have Ready=True",
        )
    text = str(raised.value)
    assert re.match(
        r"timed out after \d+s waiting for Widget gear in namespace default to have Ready=True\n",
        text,
    )
    assert raised.value.waited >= 1.5
    assert "Ready=False (NotReady): Waiting on deployments: controller" in text
    assert "Warning InternalError Widget/gear: failed to apply manifests (x3)" in text


def test_wait_survives_dropped_watches(make_sim_cluster, caplog):
    sim = make_sim_cluster(faults=["drop-watches"])  # each watch ends after its first event
    kube, _ = with_widget(sim)

    def change_then_get_ready() -> None:
        # Changes that are not the awaited one, made during the wait: each ends a watch.
        for size in range(2, 5):
            kube.apply([widget(size=size)])
        set_gear_condition(sim, {"type": "Ready", "status": "True"})

    timer = threading.Timer(0.5, change_then_get_ready)
    timer.start()
    state = wait(
        kube,
        GEAR,
        condition_is_true("Ready"),
        10,
        "Widget gear Ready",
    )
    timer.join()
    assert state["default/gear"]["spec"] == {"size": 4}
    assert state["default/gear"]["status"]["conditions"][0]["status"] == "True"


def test_a_5xx_burst_is_retried_through(sim_cluster):
    kube = kube_for(sim_cluster)
    kube.apply([settings("one")])
    sim_cluster.faults.arm_5xx_burst(3)
    assert kube.apply([settings("two")])[0]["data"] == {"key": "two"}
    sim_cluster.faults.arm_5xx_burst(3, code=500)
    assert kube.get("v1", "ConfigMap", "settings", "default")["data"] == {"key": "two"}


def test_whole_flow_under_continuous_5xx_bursts(make_sim_cluster, caplog):
    sim = make_sim_cluster(faults=["api-5xx-burst"])
    caplog.set_level("INFO", logger="cookbook14")
    kube, _ = with_widget(sim)
    # Enough requests that bursts (every 10th request starts three failures) surely fire.
    for size in range(2, 12):
        assert kube.apply([widget(size=size)])[0]["spec"] == {"size": size}
    timer = gear_ready_later(sim, 0.5)
    wait(
        kube,
        GEAR,
        condition_is_true("Ready"),
        10,
        "Widget gear Ready",
    )
    timer.join()
    retries = re.findall(r"\b50[03] .*retrying", caplog.text)
    assert len(retries) >= 3, f"the bursts never fired: {caplog.text}"


def test_workload_available_needs_every_replica():
    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": 2},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 2,
            "availableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
            ],
        },
    }
    seen = workload_available({"x": deployment})
    assert not seen.done and seen.summary.startswith("1/2 available")
    deployment["status"]["availableReplicas"] = 2
    assert workload_available({"x": deployment}).done
    deployment["status"]["observedGeneration"] = 1
    assert not workload_available({"x": deployment}).done


def test_unreadable_kubeconfig_is_one_clear_line(tmp_path):
    from cookbook14.errors import UsageError

    broken = tmp_path / "kubeconfig"
    broken.write_text("this: is: not: yaml: [")
    with pytest.raises(UsageError) as raised:
        Kube.from_kubeconfig(broken)
    message = str(raised.value)
    assert message.startswith(f"cannot use --kubeconfig {broken}:")
    assert "\n" not in message
    with pytest.raises(UsageError, match="no such file"):
        Kube.from_kubeconfig(tmp_path / "missing")


def test_a_wait_backs_off_through_5xx_on_its_watch(sim_cluster, caplog, monkeypatch):
    monkeypatch.setattr(waits, "FIRST_BACKOFF", 0.01)  # the doubling is what is tested
    kube, _ = with_widget(sim_cluster)
    sim_cluster.faults.arm_5xx_burst(3, watches_only=True)
    timer = gear_ready_later(sim_cluster, 0.5)
    caplog.set_level("INFO", logger="cookbook14.waits")
    state = wait(kube, GEAR, condition_is_true("Ready"), 15, "Widget gear Ready")
    timer.join()
    assert state["default/gear"]["status"]["conditions"][0]["status"] == "True"
    backoffs = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(backoffs) == 3 and "HTTP 503" in backoffs[0], caplog.text


def test_a_wait_lists_again_when_its_watch_expires(make_sim_cluster, caplog):
    sim = make_sim_cluster(faults=["drop-watches"])  # an idle watch ends after 1 s
    kube, _ = with_widget(sim)

    def churn_then_get_ready() -> None:
        # More writes than the watch history keeps: resuming from the old resourceVersion
        # is answered 410 Gone.
        for number in range(1100):
            sim.store.apply(settings(str(number)))
        # Ready only once the idle watch ended and its resumption was answered 410.
        assert relisted.wait(30), "the watch was never resumed from its stale version"
        set_gear_condition(sim, {"type": "Ready", "status": "True"})

    relisted = threading.Event()

    class On410(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "410 Gone" in record.getMessage():
                relisted.set()

    handler = On410()
    logging.getLogger("cookbook14.waits").addHandler(handler)
    timer = threading.Timer(0.1, churn_then_get_ready)
    timer.start()
    caplog.set_level("INFO", logger="cookbook14.waits")
    state = wait(
        kube,
        GEAR,
        condition_is_true("Ready"),
        20,
        "Widget gear Ready",
    )
    timer.join()
    logging.getLogger("cookbook14.waits").removeHandler(handler)
    assert state["default/gear"]["status"]["conditions"][0]["status"] == "True"
    assert "the watch expired (410 Gone); listing again" in caplog.text


def test_a_condition_for_an_older_generation_is_not_taken_as_met(sim_cluster):
    kube, _ = with_widget(sim_cluster)
    sim_cluster.store.update_status(
        "example.com/v1",
        "Widget",
        "gear",
        "default",
        {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]},
    )
    kube.apply([widget(size=2)])  # generation 2: the Ready above speaks of generation 1
    with pytest.raises(WaitTimeout) as stale:
        wait(kube, GEAR, condition_is_true("Ready"), 1, "Widget gear Ready")
    assert "Ready=True, but for generation 1 of 2" in str(stale.value)
    sim_cluster.store.update_status(
        "example.com/v1",
        "Widget",
        "gear",
        "default",
        {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]},
    )
    wait(kube, GEAR, condition_is_true("Ready"), 5, "Widget gear Ready")


def test_apply_takes_over_fields_another_manager_owns(sim_cluster):
    # A person's earlier `kubectl apply --server-side` owns data.key; the harness's apply must
    # still set it (forced), and own it afterwards, instead of failing with a conflict.
    run_kubectl(
        sim_cluster,
        "apply",
        "--server-side",
        "-f",
        "-",
        stdin=yaml.safe_dump(settings("theirs")),
    )
    kube = kube_for(sim_cluster)
    applied = kube.apply([settings("ours")])[0]
    assert applied["data"] == {"key": "ours"}
    owners = {
        entry["manager"]: entry.get("fieldsV1", {})
        for entry in applied["metadata"]["managedFields"]
        if entry.get("operation") == "Apply"
    }
    assert "f:key" in owners["cookbook14"].get("f:data", {}), owners
    assert "f:key" not in owners.get("kubectl", {}).get("f:data", {}), owners


def test_a_wait_for_one_object_ignores_its_ready_neighbours(sim_cluster):
    # cog lists before gear: a wait that looked at every Widget instead of the named one would
    # see cog's Ready=True and stop.
    kube, _ = with_widget(sim_cluster)
    kube.apply([widget("cog")])
    sim_cluster.store.update_status(
        "example.com/v1",
        "Widget",
        "cog",
        "default",
        {"conditions": [{"type": "Ready", "status": "True"}]},
    )
    with pytest.raises(WaitTimeout, match="no Ready condition yet"):
        wait(kube, GEAR, condition_is_true("Ready"), 1, "Widget gear Ready")


def test_a_condition_wait_over_a_selection_waits_for_each_object():
    def node(name: str, ready: str) -> dict:
        return {
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }

    check = condition_is_true("Ready")
    assert not check({}).done, "no object yet is not all ready"
    assert not check({"/a": node("a", "True"), "/b": node("b", "False")}).done
    assert check({"/a": node("a", "True"), "/b": node("b", "True")}).done


def test_events_are_those_of_the_named_object_only(sim_cluster):
    kube, gear = with_widget(sim_cluster)
    for name in ("gear", "cog"):
        sim_cluster.store.create(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{name}.1", "namespace": "default"},
                "involvedObject": {"kind": "Widget", "name": name, "namespace": "default"},
                "reason": "Seen",
                "message": f"about {name}",
                "type": "Normal",
            }
        )
    assert [event.message for event in kube.events("default", "gear", "Widget")] == ["about gear"]


FIFTY = [f"part-{number:02d}" for number in range(50)]
PARTS = Watched("example.com/v1", "Widget", "default", label_selector="batch=fifty")


def fifty_widgets(sim) -> Kube:
    """Widgets part-00 .. part-49 labelled batch=fifty, all Ready=True but part-49 (False),
    and a Ready Widget outside the selection."""
    kube, _ = with_widget(sim)
    set_gear_condition(sim, {"type": "Ready", "status": "True"})
    for name in FIFTY:
        part = widget(name)
        part["metadata"]["labels"] = {"batch": "fifty"}
        sim.store.create(part)
        ready = "False" if name == "part-49" else "True"
        sim.store.update_status(
            "example.com/v1",
            "Widget",
            name,
            "default",
            {"conditions": [{"type": "Ready", "status": ready, "reason": "Testing"}]},
        )
    return kube


def counting_calls(kube: Kube, monkeypatch) -> dict[str, int]:
    calls = {"list": 0, "watch": 0}
    for method in calls:
        real = getattr(kube, method)

        def counted(*args, _real=real, _method=method, **kwargs):
            calls[_method] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(kube, method, counted)
    return calls


def test_a_selector_wait_needs_every_matching_object(sim_cluster, monkeypatch):
    kube = fifty_widgets(sim_cluster)
    with pytest.raises(WaitTimeout) as one_not_ready:
        wait(kube, PARTS, condition_is_true("Ready", 50), 1, "the fifty parts Ready")
    text = str(one_not_ready.value)
    assert "49/50 with Ready=True; default/part-49: Ready=False (Testing)" in text, text

    calls = counting_calls(kube, monkeypatch)
    timer = threading.Timer(
        0.5,
        sim_cluster.store.update_status,
        args=("example.com/v1", "Widget", "part-49", "default"),
        kwargs={"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    )
    timer.start()
    state = wait(kube, PARTS, condition_is_true("Ready", 50), 10, "the fifty parts Ready")
    timer.join()
    assert sorted(key.split("/")[1] for key in state) == FIFTY
    assert calls == {"list": 1, "watch": 1}, "one list and one watch for fifty objects"


def test_a_planned_selector_wait_needs_its_count(sim_cluster):
    kube = fifty_widgets(sim_cluster)
    sim_cluster.store.update_status(
        "example.com/v1",
        "Widget",
        "part-49",
        "default",
        {"conditions": [{"type": "Ready", "status": "True"}]},
    )

    def planned(count: int) -> WaitFor:
        return WaitFor(
            "example.com/v1", "Widget", None, "default", "condition:Ready", 1, "batch=fifty", count
        )

    assert len(wait_for(kube, planned(50))) == 50
    with pytest.raises(WaitTimeout) as too_few:
        wait_for(kube, planned(51))
    assert re.match(
        r"timed out after \d+s waiting for every Widget matching batch=fifty in namespace "
        r"default \(at least 51\) to have Ready=True\n",
        str(too_few.value),
    )
    assert "50/50 with Ready=True (50 of at least 51 found)" in str(too_few.value)


def test_condition_is_true_over_many_objects():
    def part(name: str, ready: str) -> dict:
        return {
            "metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }

    ready = {f"/p{n}": part(f"p{n}", "True") for n in range(49)}
    check = condition_is_true("Ready", 50)
    assert not check({}).done
    assert not check(ready).done, "49 of at least 50"
    assert not check({**ready, "/p49": part("p49", "False")}).done
    seen = check({**ready, "/p49": part("p49", "True")})
    assert seen.done and seen.summary == "all 50 with Ready=True"
    lagging = {f"/q{n}": part(f"q{n}", "False") for n in range(5)}
    summary = check({**ready, **lagging}).summary
    assert summary.startswith("49/54 with Ready=True; q0: Ready=False; q1: Ready=False; q2:")
    assert summary.endswith("; and 2 more")
    # One named object: its own words, as before.
    assert condition_is_true("Ready")({"/p0": part("p0", "False")}).summary == "Ready=False"
