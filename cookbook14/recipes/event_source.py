"""Recipe 14.6, Deploy an event source: sockeye (a Knative Service) as the sink, the book's
PingSource sending to it every minute, and the proof that its events arrive.

The PingSource's Ready is not proof that its adapter runs: `pingsource-mt-adapter` sits at 0
replicas until a PingSource exists; the reconciler scales it to 1 and copies the Deployment's
Available, which is still the True of 0/0 for a moment, so Ready goes True, then False
(MinimumReplicasUnavailable), then True. The step watches those transitions, records them, and
ends when Ready is True with the adapter running.

Delivery is shown on sockeye's /ws (cookbook14.sockeye): the socket is opened before the next
tick, and kept across up to PING_TICKS ticks of the schedule, so that one lost event (the
adapter gives up after 5 retries) is survived and reported as more ticks waited, while no event
at all fails. Two events are awaited: the book says a new one comes every minute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cookbook14.assets import fetch_text
from cookbook14.errors import Condition, HarnessError
from cookbook14.kube import Kube, load_documents
from cookbook14.plan import PINGSOURCE_ADAPTER, Apply
from cookbook14.sockeye import (
    Listening,
    ReceivedEvent,
    SockeyeError,
    SockeyeSocket,
    events_in_log,
    schedule_interval,
)
from cookbook14.steps import StepContext
from cookbook14.waits import Observation, Progress, Watched, conditions_of, wait, wait_for

PING_API = "sources.knative.dev/v1"
SERVING_API = "serving.knative.dev/v1"
SOURCE_KINDS = ("ApiServerSource", "ContainerSource", "PingSource", "SinkBinding")
PING_EVENT_TYPE = "dev.knative.sources.ping"
BOOK_DATA = {"message": "Hello, world!"}
BOOK_PING_SOURCE = "ping-source"
BOOK_SCHEDULE = "* * * * *"
ADAPTER_NAMESPACE = "knative-eventing"
# Ticks of the schedule to listen across for the first event: the socket may open just after
# one tick, and one event may be lost (5 retries, then the adapter drops it).
PING_TICKS = 3
# Events awaited: "sockeye's page shows a new event every minute".
EVENTS_AWAITED = 2


def install(ctx: StepContext) -> dict:
    sockeye_source, ping_source = ctx.step.applies
    sockeye_ready, ping_ready, adapter_available = ctx.step.waits
    _apply(ctx, sockeye_source)
    wait_for(ctx.kube, sockeye_ready, ctx.progress)
    _apply(ctx, ping_source)
    applied = time.time()
    source, transitions = await_ping_source(
        ctx.kube, ping_ready.name, ping_ready.namespace, ping_ready.timeout, ctx.progress
    )
    ready_at = time.time()
    wait_for(ctx.kube, adapter_available, ctx.progress)
    ctx.measure("PingSource applied to Ready with its adapter running", ready_at - applied, "s")
    sockeye = ctx.kube.get(SERVING_API, "Service", "sockeye", sockeye_ready.namespace) or {}
    return {
        "pingsource_ready_transitions": transitions,
        "pingsource_ready_at": ready_at,
        "sink_uri": source.get("status", {}).get("sinkUri", ""),
        "sockeye_url": sockeye.get("status", {}).get("url", ""),
    }


def _apply(ctx: StepContext, item: Apply) -> None:
    documents = list(item.documents) or load_documents(fetch_text(item.source), item.source)
    ctx.kube.apply(documents, item.namespace)


def ready_label(condition: Condition | None) -> str:
    """`True`, `False (MinimumReplicasUnavailable)`, ... as READY and REASON show it."""
    if condition is None:
        return "none"
    return condition.status + (f" ({condition.reason})" if condition.reason else "")


def await_ping_source(
    kube: Kube, name: str, namespace: str, timeout: float, progress: Progress | None = None
) -> tuple[dict, list[str]]:
    """Wait until the PingSource is Ready with pingsource-mt-adapter running; return it and
    the Ready states seen on the way, in order."""
    transitions: list[str] = []

    def check(state: dict[str, dict]) -> Observation:
        if not state:
            return Observation(False, "not found yet")
        conditions = conditions_of(next(iter(state.values())))
        ready = next((c for c in conditions if c.type == "Ready"), None)
        label = ready_label(ready)
        if not transitions or transitions[-1] != label:
            transitions.append(label)
        if ready is None or ready.status != "True":
            return Observation(False, str(ready or "no Ready condition yet"), conditions)
        adapter = kube.get("apps/v1", "Deployment", PINGSOURCE_ADAPTER, ADAPTER_NAMESPACE) or {}
        running = adapter.get("status", {}).get("availableReplicas", 0)
        summary = f"Ready=True, {PINGSOURCE_ADAPTER} {running} available"
        return Observation(running >= 1, summary, conditions)

    state = wait(
        kube,
        Watched(PING_API, "PingSource", namespace, name),
        check,
        timeout,
        f"PingSource {name} in namespace {namespace} to have Ready=True with "
        f"{PINGSOURCE_ADAPTER} running",
        progress,
    )
    return next(iter(state.values())), transitions


def ping_source_uri(namespace: str, name: str) -> str:
    """The CloudEvent `source` of a PingSource's events."""
    return f"/apis/v1/namespaces/{namespace}/pingsources/{name}"


@dataclass
class Delivery:
    """What listening on sockeye's /ws for a PingSource's events showed."""

    source_uri: str
    schedule: str
    deadline_s: float
    listening: Listening = field(default_factory=Listening)
    error: str = ""
    logged: list[ReceivedEvent] = field(default_factory=list)

    @property
    def events(self) -> list[ReceivedEvent]:
        return [e for e in self.listening.events if e.attributes.get("source") == self.source_uri]

    def ticks_waited(self, interval: float) -> int:
        """Ticks of the schedule from opening the socket to the first event; the interval
        the cluster showed between two events is used when there are two."""
        if not self.events or self.events[0].time is None:
            return 0
        times = [e.time.timestamp() for e in self.events if e.time is not None]
        if len(times) >= 2 and times[1] > times[0]:
            interval = times[1] - times[0]
        return max(1, math.ceil((times[0] - self.listening.started) / interval))

    def describe_failure(self) -> str:
        seen = len(self.listening.events)
        text = (
            f"no event from {self.source_uri} on sockeye's /ws within {self.deadline_s:.0f}s "
            f"({PING_TICKS} ticks of '{self.schedule}' and the delivery allowance); "
            f"{seen} event(s) from other sources, {self.listening.reconnects} reconnect(s)"
        )
        if self.error:
            text += f"; {self.error}"
        if self.logged:
            text += f"; sockeye's log shows {len(self.logged)} event(s) from it"
        return text


def listen_for_ping_events(
    endpoint: tuple[str, int],
    sockeye_url: str,
    namespace: str,
    name: str,
    schedule: str,
    deadlines: dict[str, float],
    timeout_scale: float,
    read_logs: Callable[[], str],
    wanted: int = EVENTS_AWAITED,
) -> Delivery:
    """Hold sockeye's /ws open and collect `wanted` events of the PingSource: the first within
    PING_TICKS ticks of its schedule (plus the delivery allowance), each next one a tick later.
    When the socket cannot be used, sockeye's log says whether events arrived at all."""
    interval = schedule_interval(schedule) * timeout_scale
    allowance = deadlines["ping_delivery"]
    source_uri = ping_source_uri(namespace, name)
    delivery = Delivery(source_uri, schedule, (PING_TICKS + wanted - 1) * interval)
    delivery.deadline_s += allowance
    host = urlsplit(sockeye_url).hostname or ""
    deadline = time.time() + delivery.deadline_s

    def enough(events: list[ReceivedEvent]) -> bool:
        return sum(1 for e in events if e.attributes.get("source") == source_uri) >= wanted

    try:
        with SockeyeSocket(endpoint, host, allowance) as socket:
            delivery.listening = socket.listen(deadline, enough, delivery.listening)
    except SockeyeError as error:
        delivery.error = str(error)
    if not delivery.events:
        try:
            delivery.logged = [
                e for e in events_in_log(read_logs()) if e.attributes.get("source") == source_uri
            ]
        except HarnessError as error:
            delivery.error += f"; sockeye's log could not be read: {error}"
    return delivery


def listen_to_the_books_ping_source(
    kube: Kube,
    namespace: str,
    endpoint: tuple[str, int],
    sockeye_url: str,
    deadlines: dict[str, float],
    timeout_scale: float,
    wanted: int = EVENTS_AWAITED,
) -> Delivery:
    """The book's PingSource (every minute) in `namespace`, heard on that namespace's
    sockeye; sockeye's log is the fallback."""
    return listen_for_ping_events(
        endpoint,
        sockeye_url,
        namespace,
        BOOK_PING_SOURCE,
        BOOK_SCHEDULE,
        deadlines,
        timeout_scale,
        lambda: sockeye_logs(kube, namespace),
        wanted,
    )


def sockeye_logs(kube: Kube, namespace: str) -> str:
    """The user-container logs of sockeye's running pods, joined."""
    pods, _ = kube.list(
        "v1", "Pod", namespace, label_selector="serving.knative.dev/service=sockeye"
    )
    return "\n".join(
        kube.pod_logs(namespace, pod["metadata"]["name"], "user-container")
        for pod in pods
        if pod.get("status", {}).get("phase") == "Running"
    )
