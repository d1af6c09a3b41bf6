"""Recipe 14.4, Create a Knative Service: the book's nodeinfo.yaml applied in `default` and
Ready. Also the library functions its checks use: the domain in force, requests through
Kourier timed on the monotonic clock, the autoscaler settings in force and the time to zero
they imply, the wait for scale to zero, and the diagnosis of a pod that cannot start.

Scale to zero goes in stages (serving `pkg/reconciler/autoscaling/kpa/scaler.go`): a stable
window without requests marks the PodAutoscaler inactive (Active=False NoTraffic; its pod is
still there); the Deployment goes to 0 once the activator has backed the revision for the
grace period (right after a 3 s re-check when it already has, as with the default
target-burst-capacity) and any scale-to-zero-pod-retention-period has passed; the last pod then
stays Terminating while queue-proxy drains (30 s). So the time to zero is counted until no pod
of the revision is left, not until Active=False.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from cookbook14.errors import HarnessError, WaitTimeout
from cookbook14.kube import Kube
from cookbook14.loopback import direct_if_loopback
from cookbook14.options import endpoint_url
from cookbook14.plan import WINDOW_ANNOTATION
from cookbook14.steps import StepContext, apply_and_wait
from cookbook14.waits import Observation, Progress, Watched, conditions_of, pod_summary, wait

SERVING_API = "serving.knative.dev/v1"
AUTOSCALING_API = "autoscaling.internal.knative.dev/v1alpha1"
SERVING_NAMESPACE = "knative-serving"
NAME = "nodeinfo"
NAMESPACE = "default"
FIRST_REVISION = "nodeinfo-00001"
IMAGE = "functions/nodeinfo:latest"
SERVICE_SELECTOR = "serving.knative.dev/service=nodeinfo"
CLUSTER_LOCAL_DOMAIN = "svc.cluster.local"
# knative-facts.md: functions/nodeinfo is an old image built for amd64 only.
PUBLISHED_ARCHITECTURE = "amd64"
# serving `pkg/autoscaler/config/config.go`: the value of each key config-autoscaler lacks
# (serving-core ships only `_example`).
AUTOSCALER_DEFAULTS = {
    "enable-scale-to-zero": "true",
    "stable-window": "60s",
    "scale-to-zero-grace-period": "30s",
    "scale-to-zero-pod-retention-period": "0s",
}
# Between two requests of steady traffic: far inside the shortest stable window (6 s), so the
# autoscaler never sees the revision idle while a check looks at its pods.
STEADY_TRAFFIC_INTERVAL = 0.2
# queue-proxy's drain before the last pod goes (`pkg/queue/sharedmain`, drainSleepDuration).
DRAIN_SECONDS = 30.0
# Container states that keep a pod from ever serving; their reason and message say why.
STUCK_REASONS = (
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerError",
    "RunContainerError",
)


class NodeinfoError(HarnessError):
    """nodeinfo did not do what the book says; the first line names what and why."""


# -- the step --------------------------------------------------------------------------------


def install(ctx: StepContext) -> dict:
    try:
        apply_and_wait(ctx)
    except WaitTimeout as timeout:
        cause = why_pods_cannot_start(ctx.kube, NAMESPACE, SERVICE_SELECTOR) or why_not_ready(
            ctx.kube
        )
        foreign = foreign_architectures(ctx.kube)
        if foreign:
            warning = (
                f"{IMAGE} is published for linux/{PUBLISHED_ARCHITECTURE} only; "
                f"this cluster's nodes are {foreign}"
            )
            ctx.warn(warning)
            cause = f"{cause}; {warning}" if cause else warning
        if cause:
            raise NodeinfoError(f"ksvc {NAME} never became Ready: {cause}\n{timeout}") from None
        raise
    ksvc = ctx.kube.get(SERVING_API, "Service", NAME, NAMESPACE) or {}
    status = ksvc.get("status", {})
    return {
        "url": status.get("url", ""),
        "latest_created_revision": status.get("latestCreatedRevisionName", ""),
        "latest_ready_revision": status.get("latestReadyRevisionName", ""),
    }


def why_pods_cannot_start(kube: Kube, namespace: str, selector: str) -> str:
    """What the pods' own status says keeps them from running (image pull, crash, exec
    format), with the kubelet's last `Failed` event of that pod; "" when nothing is stuck."""
    pods, _ = kube.list("v1", "Pod", namespace, label_selector=selector)
    causes = []
    for pod in pods:
        name = pod["metadata"]["name"]
        for status in pod.get("status", {}).get("containerStatuses") or []:
            waiting = status.get("state", {}).get("waiting") or {}
            if waiting.get("reason") not in STUCK_REASONS:
                continue
            text = f"pod {name} container {status['name']} is {waiting['reason']}"
            if waiting.get("message"):
                text += f": {waiting['message']}"
            ended = (status.get("lastState") or {}).get("terminated") or {}
            if ended:
                text += f" (last exit {ended.get('exitCode')}: {ended.get('message') or ended.get('reason', '')})"
            failures = [
                event.message
                for event in kube.events(namespace, name, "Pod")
                if event.reason == "Failed" and event.message not in text
            ]
            if failures and not failures[-1].startswith("Error: "):
                text += f"; kubelet: {failures[-1]}"
            causes.append(text)
    return "; ".join(causes)


def why_not_ready(kube: Kube) -> str:
    """The ksvc's own reason when it failed without a pod to blame (e.g. the controller could
    not resolve the image's tag to a digest: ContainerMissing)."""
    ksvc = kube.get(SERVING_API, "Service", NAME, NAMESPACE) or {}
    ready = next((c for c in conditions_of(ksvc) if c.type == "Ready"), None)
    return str(ready) if ready and ready.status == "False" else ""


def foreign_architectures(kube: Kube) -> str:
    """The nodes whose architecture nodeinfo's image was not built for, as `name (arch)`."""
    nodes, _ = kube.list("v1", "Node")
    found = [
        f"{node['metadata']['name']} ({arch})"
        for node in nodes
        for arch in [node.get("status", {}).get("nodeInfo", {}).get("architecture", "")]
        if arch and arch != PUBLISHED_ARCHITECTURE
    ]
    return ", ".join(found)


# -- the domain and requests through Kourier --------------------------------------------------


def default_domain(kube: Kube) -> str:
    """The domain config-domain gives every ksvc (the key whose value, a label selector, is
    empty); svc.cluster.local, cluster-local only, when it gives none."""
    config = kube.get("v1", "ConfigMap", "config-domain", SERVING_NAMESPACE) or {}
    for domain, selector in (config.get("data") or {}).items():
        if not domain.startswith("_") and not str(selector).strip():
            return domain
    return CLUSTER_LOCAL_DOMAIN


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    seconds: float  # monotonic, from sending the request to the last byte of the body

    @property
    def hostname(self) -> str | None:
        """The `Hostname:` line nodeinfo prints: the name of the pod that answered."""
        match = re.search(r"^Hostname:\s*(\S+)", self.body, re.MULTILINE)
        return match[1] if match else None


def get_through_ingress(endpoint: tuple[str, int], host: str, timeout: float) -> Answer:
    """GET / through Kourier with the ksvc's Host header, timed to the full body."""
    url = endpoint_url(endpoint)
    started = time.monotonic()
    try:
        response = requests.get(
            url, headers={"Host": host}, timeout=(10, timeout), proxies=direct_if_loopback(url)
        )
        body = response.text
    except requests.RequestException as error:
        raise NodeinfoError(
            f"GET {url} with Host: {host} failed after "
            f"{time.monotonic() - started:.1f}s: {type(error).__name__}: {error}"
        ) from None
    return Answer(response.status_code, body, time.monotonic() - started)


@contextmanager
def steady_traffic(endpoint: tuple[str, int], host: str, timeout: float) -> Iterator[list[str]]:
    """GET / through Kourier every STEADY_TRAFFIC_INTERVAL seconds while the block runs, so
    the revision cannot scale to zero under a check that looks at its pods. Yields the list of
    failed requests (filled as they happen) for the check's message; waits for the request in
    flight when the block ends, so no request outlives it."""
    failures: list[str] = []
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            try:
                answer = get_through_ingress(endpoint, host, timeout)
                if answer.status != 200:
                    failures.append(f"GET / with Host: {host}: HTTP {answer.status}")
            except NodeinfoError as error:
                failures.append(str(error))
            stop.wait(STEADY_TRAFFIC_INTERVAL)

    sender = threading.Thread(target=send, name=f"steady traffic to {host}", daemon=True)
    sender.start()
    try:
        yield failures
    finally:
        stop.set()
        sender.join(timeout)


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def unreachable_through_kourier(name: str, url: str) -> str | None:
    """Why a Knative Service's URL cannot be reached from this machine through Kourier's
    gateway (it answers 404 for cluster-local hosts), or None when it can. No URL at all is
    not a reason to skip: the Service is broken, and that is raised."""
    host = host_of(url)
    if not host:
        raise HarnessError(
            f"Knative Service {name} has no URL (status.url {url!r}): Serving never routed it; "
            f"see `kubectl get ksvc {name}` and its Ready condition"
        )
    if host.endswith(CLUSTER_LOCAL_DOMAIN):
        return (
            f"{name}'s URL {url} is cluster-local: config-domain sets no domain, so Kourier "
            "answers 404 from outside (give --domain)"
        )
    return None


# -- scale to zero ----------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the forms Knative settings use: 60s, 1m30s, 6s, 500ms."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise NodeinfoError(f"{text!r} is not a duration (Go time.ParseDuration form, e.g. 60s)")
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(number) * units[unit] for number, unit in parts)


@dataclass(frozen=True)
class AutoscalerSettings:
    """The scale-to-zero settings in force for one revision, and where each came from."""

    scale_to_zero: bool
    stable_window: float
    grace_period: float
    pod_retention: float
    window_source: str

    @property
    def expected_time_to_zero(self) -> float:
        """From the last request until no pod is left: the stable window, then the grace
        period (or the pod retention period, if longer), then queue-proxy's drain."""
        return self.stable_window + max(self.grace_period, self.pod_retention) + DRAIN_SECONDS

    def describe(self) -> str:
        return (
            f"stable window {self.stable_window:g}s ({self.window_source}), grace period "
            f"{self.grace_period:g}s, pod retention {self.pod_retention:g}s, drain "
            f"{DRAIN_SECONDS:g}s"
        )


def autoscaler_settings(kube: Kube, revision: dict) -> AutoscalerSettings:
    config = kube.get("v1", "ConfigMap", "config-autoscaler", SERVING_NAMESPACE) or {}
    data = config.get("data") or {}
    settings = {key: data.get(key, default) for key, default in AUTOSCALER_DEFAULTS.items()}
    window = (revision.get("metadata", {}).get("annotations") or {}).get(WINDOW_ANNOTATION)
    if window:
        source = f"annotation {WINDOW_ANNOTATION} on {revision['metadata']['name']}"
    elif "stable-window" in data:
        window, source = data["stable-window"], "config-autoscaler stable-window"
    else:
        window, source = settings["stable-window"], "default; config-autoscaler sets none"
    return AutoscalerSettings(
        scale_to_zero=settings["enable-scale-to-zero"].strip().lower() == "true",
        stable_window=parse_duration(window),
        grace_period=parse_duration(settings["scale-to-zero-grace-period"]),
        pod_retention=parse_duration(settings["scale-to-zero-pod-retention-period"]),
        window_source=source,
    )


def revision_pods(kube: Kube, revision: str) -> list[dict]:
    pods, _ = kube.list(
        "v1", "Pod", NAMESPACE, label_selector=f"serving.knative.dev/revision={revision}"
    )
    return pods


def wait_until_no_pods(
    kube: Kube, revision: str, timeout: float, expected: float, progress: Progress | None
) -> None:
    """Watch the revision's pods until none is left, Terminating ones included."""

    def none_left(state: dict[str, dict]) -> Observation:
        described = ", ".join(_pod_state(pod) for pod in state.values())
        return Observation(not state, described or "no pods")

    try:
        wait(
            kube,
            Watched(
                "v1", "Pod", NAMESPACE, label_selector=f"serving.knative.dev/revision={revision}"
            ),
            none_left,
            timeout,
            f"no pod of revision {revision} (scale to zero)",
            progress,
        )
    except WaitTimeout as timeout_error:
        pods = ", ".join(_pod_state(pod) for pod in revision_pods(kube, revision))
        revision_obj = kube.get(SERVING_API, "Revision", revision, NAMESPACE) or {}
        active = next((c for c in conditions_of(revision_obj) if c.type == "Active"), None)
        events = [
            str(event)
            for kind, name in (
                ("PodAutoscaler", revision),
                ("Deployment", f"{revision}-deployment"),
            )
            for event in kube.events(NAMESPACE, name, kind)
        ]
        raise NodeinfoError(
            f"pods never went: {timeout_error.waited:.0f}s after the last request (about "
            f"{expected:.0f}s expected) revision {revision} still has {pods}; revision "
            f"{active or 'has no Active condition'}; autoscaler events: "
            f"{'; '.join(events) or 'none'}"
        ) from None


def wait_for_no_traffic(kube: Kube, revision: str, timeout: float) -> dict:
    """The revision at zero: Ready stays True, Active is False with reason NoTraffic."""

    def at_zero(state: dict[str, dict]) -> Observation:
        if not state:
            return Observation(False, "not found")
        conditions = conditions_of(next(iter(state.values())))
        ready = next((c for c in conditions if c.type == "Ready"), None)
        active = next((c for c in conditions if c.type == "Active"), None)
        done = bool(
            ready
            and ready.status == "True"
            and active
            and (active.status, active.reason) == ("False", "NoTraffic")
        )
        return Observation(done, f"{ready}, {active}", conditions)

    try:
        state = wait(
            kube,
            Watched(SERVING_API, "Revision", NAMESPACE, revision),
            at_zero,
            timeout,
            f"revision {revision} Ready with Active=False (NoTraffic)",
        )
    except WaitTimeout as timeout_error:
        pa = kube.get(AUTOSCALING_API, "PodAutoscaler", revision, NAMESPACE) or {}
        raise NodeinfoError(
            f"the revision did not report NoTraffic: its pods are gone, but revision {revision} "
            f"shows {', '.join(str(c) for c in timeout_error.evidence.conditions) or 'no conditions'}"
            f"; PodAutoscaler {', '.join(str(c) for c in conditions_of(pa)) or 'not found'}"
        ) from None
    return next(iter(state.values()))


def _pod_state(pod: dict) -> str:
    summary = pod_summary(pod)
    return f"{summary} Terminating" if pod["metadata"].get("deletionTimestamp") else summary
