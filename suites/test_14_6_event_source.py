"""Recipe 14.6, Deploy an event source.

The book: `kubectl api-resources --api-group='sources.knative.dev'` lists ApiServerSource,
ContainerSource, PingSource and SinkBinding; sockeye v0.7.0's release.yaml makes
`kubectl get ksvc sockeye` READY True; pingsource.yaml makes `kubectl get pingsource
ping-source` READY True (briefly False, MinimumReplicasUnavailable); sockeye's page shows a
new event every minute. Alternative: `kn service create sockeye ...` and
`kn source ping create ping-source ...`, which deliver too.
"""

import uuid
from urllib.parse import urlsplit

import pytest

from cookbook14.recipes.event_source import (
    BOOK_DATA,
    BOOK_SCHEDULE,
    PING_API,
    PING_EVENT_TYPE,
    SERVING_API,
    SOURCE_KINDS,
    await_ping_source,
    listen_to_the_books_ping_source,
)
from cookbook14.recipes.service import unreachable_through_kourier
from cookbook14.sockeye import schedule_interval
from cookbook14.tools import run_kn
from cookbook14.waits import Observation, Watched, conditions_of, wait

pytestmark = pytest.mark.recipe("14.6")

KN_IMAGE = "docker.io/n3wscott/sockeye:v0.7.0"
KN_DATA = '{ "message": "Hello, world!" }'


def _condition(obj, condition_type):
    return next((c for c in conditions_of(obj) if c.type == condition_type), None)


def _step_facts(steps):
    return steps.outcomes["14.6"].facts


def test_sources_group_lists_the_four_kinds(kube):
    kinds = {row.kind for row in kube.api_resources("sources.knative.dev")}
    missing = [kind for kind in SOURCE_KINDS if kind not in kinds]
    assert not missing, (
        f"kubectl api-resources --api-group=sources.knative.dev lists {sorted(kinds)}, "
        f"without {missing}"
    )


def test_sockeye_is_ready(kube):
    sockeye = kube.get(SERVING_API, "Service", "sockeye", "default")
    assert sockeye is not None, "kubectl get ksvc sockeye: not found"
    ready = _condition(sockeye, "Ready")
    assert ready is not None and ready.status == "True", f"kubectl get ksvc sockeye shows {ready}"


def test_pingsource_becomes_ready_with_its_sink(kube, steps):
    source = kube.get(PING_API, "PingSource", "ping-source", "default")
    assert source is not None, "kubectl get pingsource ping-source: not found"
    ready = _condition(source, "Ready")
    transitions = _step_facts(steps)["pingsource_ready_transitions"]
    assert ready is not None and ready.status == "True", (
        f"kubectl get pingsource ping-source shows READY {ready} (seen: {transitions})"
    )
    sink = source.get("status", {}).get("sinkUri", "")
    assert urlsplit(sink).hostname in ("sockeye.default.svc.cluster.local", "sockeye.default"), (
        f"kubectl get pingsource ping-source shows SINK {sink!r}, not sockeye's address"
    )


@pytest.fixture(scope="module")
def delivery(steps, kube, ingress_endpoint, plan, harness):
    """sockeye's /ws held open across the next ticks; what arrived is recorded in the facts
    of 14.6 and as figures."""
    facts = _step_facts(steps)
    unreachable = unreachable_through_kourier("sockeye", facts["sockeye_url"])
    if unreachable:
        pytest.skip(unreachable)
    result = listen_to_the_books_ping_source(
        kube,
        "default",
        ingress_endpoint,
        facts["sockeye_url"],
        plan.deadlines,
        harness.options.timeout_scale,
    )
    events = result.events
    if events:
        # The schedule's own interval: --timeout-scale stretches deadlines, not the clock.
        ticks = result.ticks_waited(schedule_interval(BOOK_SCHEDULE))
        latency = events[0].received_at - facts["pingsource_ready_at"]
        facts.update(
            first_event=events[0].summary(),
            ticks_waited=ticks,
            first_event_after_ready_s=round(latency, 3),
            websocket_reconnects=result.listening.reconnects,
        )
        harness.report.measure("14.6", "PingSource Ready to first event", latency, "s")
        harness.report.measure("14.6", "ticks waited for the first event", ticks, "ticks")
        if len(events) >= 2:
            gap = events[1].received_at - events[0].received_at
            harness.report.measure("14.6", "between two events", gap, "s")
    return result


def test_sockeye_shows_the_ping_event(delivery):
    assert delivery.events, delivery.describe_failure()
    event = delivery.events[0]
    attributes = event.attributes
    assert attributes.get("type") == PING_EVENT_TYPE, f"sockeye shows type {attributes.get('type')}"
    assert attributes.get("datacontenttype") == "application/json", (
        f"sockeye shows datacontenttype {attributes.get('datacontenttype')!r}, the PingSource "
        "sets contentType application/json"
    )
    assert event.data == BOOK_DATA, f"sockeye shows data {event.data!r}, not {BOOK_DATA}"


def test_sockeye_shows_a_new_event_every_minute(delivery):
    assert delivery.events, delivery.describe_failure()
    assert len(delivery.events) >= 2, (
        f"sockeye showed one event from ping-source, no second one a tick later "
        f"(within {delivery.deadline_s:.0f}s)"
    )
    first, second = delivery.events[:2]
    assert first.attributes["id"] != second.attributes["id"], "the same event came twice"
    assert first.time is not None and second.time is not None and second.time > first.time, (
        f"the second event's time {second.time_as_sent} is not after {first.time_as_sent}"
    )


# -- the kn alternative ----------------------------------------------------------------------


@pytest.fixture
def kn_namespace(kube, plan):
    """A namespace of the harness's own for the kn alternative, deleted afterwards (waited
    for: the PingSource's finalizer and sockeye's revision go first)."""
    name = f"cookbook14-kn-{uuid.uuid4().hex[:6]}"
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])
    yield name
    kube.delete("v1", "Namespace", name)
    wait(
        kube,
        Watched("v1", "Namespace", None, name),
        lambda state: Observation(not state, "gone" if not state else "still terminating"),
        plan.deadlines["namespace_deleted"],
        f"namespace {name} to be deleted",
    )


def test_kn_alternative_delivers_events(
    kn, kn_namespace, kube, cluster, plan, harness, ingress_endpoint, steps
):
    commands = (
        ["service", "create", "sockeye", "--image", KN_IMAGE],
        ["source", "ping", "create", "ping-source", "--data", KN_DATA]
        + ["--schedule", BOOK_SCHEDULE, "--sink", "sockeye"],
    )
    for command in commands:
        run_kn(kn, [*command, "--namespace", kn_namespace], cluster.kubeconfig, cluster.context)
    await_ping_source(kube, "ping-source", kn_namespace, plan.deadlines["ksvc_ready"])
    sockeye = kube.get(SERVING_API, "Service", "sockeye", kn_namespace) or {}
    url = sockeye.get("status", {}).get("url", "")
    unreachable = unreachable_through_kourier("sockeye", url)
    if unreachable:
        pytest.skip(unreachable)
    result = listen_to_the_books_ping_source(
        kube,
        kn_namespace,
        ingress_endpoint,
        url,
        plan.deadlines,
        harness.options.timeout_scale,
        wanted=1,
    )
    assert result.events, result.describe_failure()
    event = result.events[0]
    _step_facts(steps)["kn_event"] = event.summary()
    # kn has no content-type flag: the event carries no datacontenttype, its data is the raw
    # bytes of --data (sockeye embeds them as JSON, which they are).
    assert "datacontenttype" not in event.attributes, (
        f"the kn-made PingSource's event has datacontenttype {event.attributes['datacontenttype']}"
    )
    assert event.attributes.get("type") == PING_EVENT_TYPE
    assert event.data == BOOK_DATA, f"sockeye shows data {event.data!r}, not {BOOK_DATA}"
