"""Knative Eventing behaviour: the PingSource reconciler and the multi-tenant ping adapter.

Follows knative/eventing@release-1.11:
- `pkg/reconciler/pingsource/pingsource.go`: finalizer `pingsources.sources.knative.dev`,
  sink resolution (`MarkNoSink("NotFound", "")` on any resolver error), scaling the
  `pingsource-mt-adapter` Deployment from 0 to 1, `PropagateDeploymentAvailability`,
  `status.ceAttributes`;
- `pkg/apis/sources/v1/ping_lifecycle.go`: the living condition set SinkProvided + Deployed
  (+ OIDCIdentityCreated from 1.12) summarised into Ready (knative/pkg
  `apis/condition_set.go`: Ready copies the most recent unhappy dependent);
- `pkg/adapter/mtping/runner.go`: one CloudEvent per schedule hit, type
  `dev.knative.sources.ping`, source `/apis/v1/namespaces/<ns>/pingsources/<name>`, a fresh
  uuid id, 0-500 ms jitter, 5 retries with exponential backoff from 50 ms
  (`ContextWithRetriesExponentialBackoff`); `pkg/adapter/v2/cloudevents.go` adds the time
  and the `Kn-Namespace` header.

Time is simulated: a "minute" of the cron schedule lasts `sim.clock.scaled(60)` seconds, and
ticks fall on second 0 of each such minute, i.e. on epoch multiples of `scaled(60)`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import logging
import math
import random
import threading
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from cloudevents.core.bindings.http import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from croniter import croniter

from tests.sim import faults
from tests.sim.knative import webhooks
from tests.sim.kube_controllers import (
    ReconcileLoop,
    get_condition,
    set_condition,
    write_status_if_changed,
)
from tests.sim.mirror.eventing import EVENTING_NAMESPACE, PINGSOURCE_ADAPTER
from tests.sim.mirror.knative_core import minor_of
from tests.sim.store import StoreError

Obj = dict[str, Any]
log = logging.getLogger(__name__)

PING_API_VERSION = "sources.knative.dev/v1"
PING_KIND = "PingSource"
FINALIZER = "pingsources.sources.knative.dev"
PING_EVENT_TYPE = "dev.knative.sources.ping"
CONTROLLER_DEPLOYMENT = "eventing-controller"
DEPENDENTS_1_11 = ("SinkProvided", "Deployed")
OIDC_CONDITION = "OIDCIdentityCreated"
SEND_RETRIES = 5
FIRST_BACKOFF_SECONDS = 0.05
MAX_JITTER_SECONDS = 0.5
# What the adapter sends under the wrong-ping-event fault.
WRONG_CONTENT_TYPE = "text/plain"
WRONG_DATA = b"Goodbye, world!"
# The activator holds a request until a revision scaled to zero has a pod: wait long.
DELIVERY_TIMEOUT_SECONDS = 300


def ping_source_uri(namespace: str, name: str) -> str:
    """sourcesv1.PingSourceSource: the CloudEvent `source` of a PingSource."""
    return f"/apis/v1/namespaces/{namespace}/pingsources/{name}"


def ready_dependents(eventing_version: str) -> tuple[str, ...]:
    """The conditions Ready summarises: 1.12 added OIDCIdentityCreated (ping_lifecycle.go)."""
    with contextlib.suppress(ValueError, IndexError):
        if minor_of(eventing_version) >= (1, 12):
            return (*DEPENDENTS_1_11, OIDC_CONDITION)
    return DEPENDENTS_1_11


def summarize_ready(conditions: list[Obj], dependents: tuple[str, ...]) -> list[Obj]:
    """Set Ready from the dependents as knative/pkg `ConditionSet` does: True when all are
    True, else the status/reason/message of the most recently changed False (then Unknown)
    dependent."""
    by_type = {c["type"]: c for c in conditions}
    current = [by_type[name] for name in dependents if name in by_type]
    if len(current) == len(dependents) and all(c["status"] == "True" for c in current):
        return set_condition(conditions, "Ready", "True")
    newest_first = sorted(current, key=lambda c: c.get("lastTransitionTime", ""), reverse=True)
    for wanted in ("False", "Unknown"):
        unhappy = next((c for c in newest_first if c["status"] == wanted), None)
        if unhappy:
            return set_condition(
                conditions, "Ready", wanted, unhappy.get("reason"), unhappy.get("message")
            )
    return set_condition(conditions, "Ready", "Unknown")


def deployment_availability(deployment: Obj | None) -> tuple[str, str | None, str | None]:
    """(status, reason, message) of Deployed per `PropagateDeploymentAvailability`: the
    Deployment's Available condition as it is. The Deployment the reconciler has just scaled
    from 0 to 1 still carries the Available=True of 0/0 replicas, so Ready goes True, then
    False (MinimumReplicasUnavailable) once the Deployment controller catches up, then True.
    """
    if deployment is None:
        return (
            "Unknown",
            "DeploymentUnavailable",
            f"The Deployment '{PINGSOURCE_ADAPTER}' is unavailable.",
        )
    available = get_condition(deployment, "Available")
    if available is None:
        return (
            "Unknown",
            "DeploymentUnavailable",
            f"The Deployment '{deployment['metadata']['name']}' is unavailable.",
        )
    if available["status"] == "True":
        return ("True", None, None)
    return (available["status"], available.get("reason"), available.get("message"))


def has_finalizer(eventing_version: str) -> bool:
    """The PingSource reconciler got its finalizer in eventing 1.11.3 (and 1.12.0)."""
    try:
        numbers = tuple(int(part) for part in eventing_version.split(".")[:3])
    except ValueError:
        return True
    return numbers >= (1, 11, 3)


def _is_available(deployment: Obj | None) -> bool:
    if deployment is None:
        return False
    available = get_condition(deployment, "Available")
    ready = (deployment.get("status") or {}).get("availableReplicas", 0)
    return bool(available and available["status"] == "True" and ready >= 1)


def _canonical_header(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: `ce-specversion` -> `Ce-Specversion`."""
    return "-".join(part.capitalize() for part in name.split("-"))


class EventingController(ReconcileLoop):
    """Component: PingSource reconciler plus the pingsource-mt-adapter's delivery loop."""

    name = "sim-eventing-controller"

    def __init__(self) -> None:
        super().__init__()
        self._adapter_thread: threading.Thread | None = None
        self._lose_next_event = False
        self._loss_lock = threading.Lock()

    def start(self, sim: Any) -> None:
        self._lose_next_event = faults.LOSE_PING_EVENT in sim.faults
        # eventing-webhook's PingSource defaulting/validation (webhooks.py).
        self._webhook = webhooks.register_eventing(sim.store)
        super().start(sim)
        self._adapter_thread = threading.Thread(
            target=self._run_adapter, name="sim-pingsource-mt-adapter", daemon=True
        )
        self._adapter_thread.start()

    def stop(self) -> None:
        super().stop()
        self._webhook.unsubscribe()
        if self._adapter_thread:
            self._adapter_thread.join(timeout=5)

    # --- the reconciler ---------------------------------------------------------------------

    def _eventing_controller(self) -> Obj | None:
        """The Available eventing-controller Deployment, when Eventing is installed."""
        if not self.store.served(PING_API_VERSION, PING_KIND):
            return None
        usual = self.store.get("apps/v1", "Deployment", CONTROLLER_DEPLOYMENT, EVENTING_NAMESPACE)
        candidates = (
            [usual]
            if usual
            else [
                deploy
                for deploy in self.store.list("apps/v1", "Deployment")
                if deploy["metadata"]["name"] == CONTROLLER_DEPLOYMENT
            ]
        )
        return next((deploy for deploy in candidates if _is_available(deploy)), None)

    def reconcile(self) -> None:
        controller = self._eventing_controller()
        if controller is None:
            return
        namespace = controller["metadata"]["namespace"]
        version = controller["metadata"].get("labels", {}).get("app.kubernetes.io/version", "")
        sources = self.store.list(PING_API_VERSION, PING_KIND)
        adapter = self.store.get("apps/v1", "Deployment", PINGSOURCE_ADAPTER, namespace)
        live_sources = [s for s in sources if not s["metadata"].get("deletionTimestamp")]
        if live_sources and adapter and adapter["spec"].get("replicas", 1) == 0:
            adapter = self._scale_adapter(adapter)
        # One source at a time (a conflict or a bad object never blocks the others).
        self.each(sources, lambda source: self._reconcile_source(source, adapter, version))

    def _scale_adapter(self, adapter: Obj) -> Obj:
        scaled = copy.deepcopy(adapter)
        scaled["spec"]["replicas"] = 1
        try:
            return self.store.update(scaled)
        except StoreError:
            return adapter

    def _reconcile_source(self, source: Obj, adapter: Obj | None, version: str) -> None:
        meta = source["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if meta.get("deletionTimestamp"):
            if FINALIZER in finalizers:
                updated = copy.deepcopy(source)
                updated["metadata"]["finalizers"] = [f for f in finalizers if f != FINALIZER]
                self.store.update(updated)
            return
        if FINALIZER not in finalizers and has_finalizer(version):
            updated = copy.deepcopy(source)
            updated["metadata"]["finalizers"] = [*finalizers, FINALIZER]
            source = self.store.update(updated)
            meta = source["metadata"]
        status = copy.deepcopy(source.get("status") or {})
        dependents = ready_dependents(version)
        conditions = list(status.get("conditions") or [])
        for name in ("Ready", *dependents):
            if not any(c["type"] == name for c in conditions):
                conditions = set_condition(conditions, name, "Unknown")
        status["observedGeneration"] = meta.get("generation", 1)
        status["ceAttributes"] = [
            {"source": ping_source_uri(meta["namespace"], meta["name"]), "type": PING_EVENT_TYPE}
        ]
        if OIDC_CONDITION in dependents:
            conditions = set_condition(
                conditions, OIDC_CONDITION, "True", "authentication.oidc feature disabled"
            )
        sink_uri = self._resolve_sink(source)
        if sink_uri is None:
            status.pop("sinkUri", None)
            conditions = set_condition(conditions, "SinkProvided", "False", "NotFound", "")
        else:
            status["sinkUri"] = sink_uri
            conditions = set_condition(conditions, "SinkProvided", "True")
            conditions = set_condition(conditions, "Deployed", *deployment_availability(adapter))
        status["conditions"] = summarize_ready(conditions, dependents)
        write_status_if_changed(self.store, source, status)

    def _resolve_sink(self, source: Obj) -> str | None:
        """knative/pkg `resolver/addressable_resolver.go` URIFromDestinationV1."""
        sink = (source.get("spec") or {}).get("sink") or {}
        ref, uri = sink.get("ref"), sink.get("uri")
        if not ref:
            return uri or None
        namespace = ref.get("namespace") or source["metadata"]["namespace"]
        api_version, kind, name = ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name")
        if (api_version, kind) == ("v1", "Service"):
            if self.store.get("v1", "Service", name, namespace) is None:
                return None
            base = f"http://{name}.{namespace}.svc.cluster.local/"
        else:
            if not self.store.served(api_version, kind):
                return None
            target = self.store.get(api_version, kind, name, namespace)
            base = (((target or {}).get("status") or {}).get("address") or {}).get("url")
            if not base:
                return None
        return urljoin(base, uri) if uri else base

    # --- the adapter ------------------------------------------------------------------------

    def _run_adapter(self) -> None:
        period = self.sim.clock.scaled(60)
        # Ticks fall on epoch multiples of the scaled minute; the simulated wall clock the
        # schedule is matched against starts at the last real minute and gains a minute a tick.
        first_tick = math.floor(time.time() / period)
        first_minute = math.floor(time.time() / 60) * 60
        last_tick = first_tick
        while not self._stopping.is_set():
            tick = last_tick + 1
            delay = tick * period - time.time()
            if delay > 0 and self._stopping.wait(delay):
                return
            last_tick = max(tick, math.floor(time.time() / period))
            scheduled = first_minute + (tick - first_tick) * 60
            try:
                self._fire(
                    datetime.fromtimestamp(scheduled, timezone.utc),
                    datetime.fromtimestamp(tick * period, timezone.utc),
                )
            except Exception:  # noqa: BLE001 - the adapter logs and keeps ticking
                log.warning("ping adapter tick failed:\n%s", traceback.format_exc())

    def _fire(self, scheduled: datetime, tick_time: datetime) -> None:
        """One tick of the mt adapter: send for every Ready source whose schedule matches."""
        controller = self._eventing_controller()
        if controller is None:
            return
        adapter = self.store.get(
            "apps/v1", "Deployment", PINGSOURCE_ADAPTER, controller["metadata"]["namespace"]
        )
        if not _is_available(adapter):
            return
        for source in self.store.list(PING_API_VERSION, PING_KIND):
            ready = get_condition(source, "Ready")
            sink_uri = (source.get("status") or {}).get("sinkUri")
            if not ready or ready["status"] != "True" or not sink_uri:
                continue
            if not self._schedule_matches(source.get("spec") or {}, scheduled):
                continue
            threading.Thread(
                target=self._deliver,
                args=(source, sink_uri, tick_time),
                name=f"ping-{source['metadata']['name']}",
                daemon=True,
            ).start()

    @staticmethod
    def _schedule_matches(spec: Obj, scheduled: datetime) -> bool:
        try:
            zone = ZoneInfo(spec["timezone"]) if spec.get("timezone") else timezone.utc
        except (ZoneInfoNotFoundError, ValueError):
            return False
        try:
            return croniter.match(spec.get("schedule", ""), scheduled.astimezone(zone))
        except (ValueError, KeyError):
            return False

    def _deliver(self, source: Obj, sink_uri: str, tick_time: datetime) -> None:
        jitter = self.sim.clock.scaled(random.uniform(0, MAX_JITTER_SECONDS))
        if self._stopping.wait(jitter):
            return
        # The event's time is the tick's (real) instant plus the jitter the runner slept before
        # sending (mtping/runner.go cronTick, then WithTimeNow on send), whatever the delays of
        # this process.
        headers, body = self._event_message(
            source,
            tick_time + timedelta(seconds=jitter),
            wrong=faults.WRONG_PING_EVENT in self.sim.faults,
        )
        # The event lost is one a reader of the sink's websocket would have seen: one sent
        # before anyone listens is not missed by anybody.
        with self._loss_lock:
            lose = self._lose_next_event and self._listened_to(sink_uri)
            if lose:
                self._lose_next_event = False
        if lose:
            return
        backoff = FIRST_BACKOFF_SECONDS
        for attempt in range(SEND_RETRIES + 1):
            if attempt and self._stopping.wait(self.sim.clock.scaled(backoff)):
                return
            if attempt:
                backoff *= 2
            if self._send_once(sink_uri, headers, body):
                return

    def _listened_to(self, sink_uri: str) -> bool:
        network = getattr(self.sim, "network", None)
        return network is not None and network.has_open_websocket(sink_uri)

    def _send_once(self, sink_uri: str, headers: dict[str, str], body: bytes) -> bool:
        network = getattr(self.sim, "network", None)
        if network is None:
            return False
        timeout = self.sim.clock.scaled(DELIVERY_TIMEOUT_SECONDS)
        try:
            target = network.resolve(sink_uri, timeout)
            response = requests.post(
                target,
                data=body,
                timeout=timeout,
                headers={**headers, "Host": urlsplit(sink_uri).netloc},
            )
        except (LookupError, TimeoutError, requests.RequestException):
            return False
        return 200 <= response.status_code < 300

    @staticmethod
    def _event_message(
        source: Obj, when: datetime | None = None, wrong: bool = False
    ) -> tuple[dict[str, str], bytes]:
        """The binary-mode HTTP request of one ping event; `wrong`: an adapter that sends
        other data as text/plain, whatever the PingSource says."""
        meta, spec = source["metadata"], source.get("spec") or {}
        moment = when or datetime.now(timezone.utc)
        attributes: Obj = {
            "type": PING_EVENT_TYPE,
            "source": ping_source_uri(meta["namespace"], meta["name"]),
            "id": str(uuid.uuid4()),
            "time": moment,
        }
        if spec.get("contentType"):
            attributes["datacontenttype"] = spec["contentType"]
        data: bytes | None = None
        if spec.get("dataBase64"):
            with contextlib.suppress(binascii.Error, ValueError):
                data = base64.b64decode(spec["dataBase64"])
        elif spec.get("data"):
            data = spec["data"].encode()
        if wrong:
            attributes["datacontenttype"] = WRONG_CONTENT_TYPE
            data = WRONG_DATA
        message = to_binary(CloudEvent(attributes, data), JSONFormat())
        headers = {_canonical_header(name): value for name, value in message.headers.items()}
        # Go's time.Now() has nanoseconds, and RFC3339Nano prints them (trailing zeros cut).
        headers["Ce-Time"] = rfc3339_nano(moment, random.randrange(1000))
        headers["Kn-Namespace"] = meta["namespace"]
        headers["User-Agent"] = "Go-http-client/1.1"
        return headers, message.body


def rfc3339_nano(moment: datetime, extra_nanoseconds: int = 0) -> str:
    """Go's `time.RFC3339Nano` in UTC: up to nine fraction digits, trailing zeros dropped."""
    moment = moment.astimezone(timezone.utc)
    nanos = moment.microsecond * 1000 + extra_nanoseconds
    fraction = f".{nanos:09d}".rstrip("0").rstrip(".")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
