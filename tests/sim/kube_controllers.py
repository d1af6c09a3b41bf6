"""The kube-controller-manager, scheduler and kubelet stand-in.

Deployments -> ReplicaSets -> pods, StatefulSets -> pods, Jobs -> complete, pods -> Running and
Ready after a short scaled delay (starting the app of the `user-container` image). The store
itself does garbage collection and namespace cleanup. Status shapes follow kubernetes `pkg/controller/deployment/`
(`util/deployment_util.go` reasons and messages) and `pkg/kubelet/status/`.

Also the shared reconcile-loop base, condition and Event helpers the Knative stand-ins use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Any

from tests.sim import apps, faults

Obj = dict[str, Any]
log = logging.getLogger(__name__)

NODE_NAME = "kind-control-plane"
NODE_IP = "172.18.0.2"
POD_IP = "127.0.0.1"
POD_START_SECONDS = 2.0
# kubernetes `pkg/util/hash` + rand.SafeEncodeString: consonants and digits without vowels.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Images pinned to this digest do not exist in any registry: their pods stay in ImagePullBackOff.
UNPULLABLE_DIGEST = "sha256:" + "0" * 64
# How long a deleted pod stays Terminating: a Knative pod's queue-proxy drains for 30 s
# (serving `pkg/queue/sharedmain`, drainSleepDuration; the user-container's preStop hook waits
# for it); other containers stop on SIGTERM at once. Never longer than the grace period.
QUEUE_PROXY_DRAIN_SECONDS = 30.0
PLAIN_STOP_SECONDS = 0.5
DEFAULT_TERMINATION_GRACE_SECONDS = 30
# Docker Hub refusing an anonymous pull (fault nodeinfo-image-pull), as containerd reports it.
RATE_LIMITED = (
    "failed to copy: httpReadSeeker: failed open: unexpected status code "
    "https://registry-1.docker.io/v2/{repository}/manifests/{reference}: 429 Too Many Requests - "
    "Server message: toomanyrequests: You have reached your pull rate limit. You may increase "
    "the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"
)
# Jobs whose program is simulated elsewhere (serving's default-domain, which polls for a load
# balancer address) finish when that program says so, not at once.
PROGRAM_JOB_IMAGE = "knative.dev/serving/cmd/default-domain"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(SAFE_ALPHABET) for _ in range(length))


def stable_hash(value: Any, length: int = 10) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    return "".join(SAFE_ALPHABET[byte % len(SAFE_ALPHABET)] for byte in digest[:length])


def get_condition(obj: Obj, condition_type: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return condition
    return None


def is_true(obj: Obj | None, condition_type: str) -> bool:
    condition = get_condition(obj or {}, condition_type)
    return bool(condition and condition.get("status") == "True")


def set_condition(
    conditions: list[Obj],
    condition_type: str,
    status: str,
    reason: str | None = None,
    message: str | None = None,
    severity: str | None = None,
) -> list[Obj]:
    """Conditions as knative/pkg `apis/condition_set.go` SetCondition keeps them: sorted by
    type, the transition time kept only while nothing but it would change (status, reason,
    message and severity all equal)."""
    previous = next((c for c in conditions if c.get("type") == condition_type), None)
    condition: Obj = {"type": condition_type, "status": status}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    if severity:
        condition["severity"] = severity
    unchanged = previous is not None and all(
        previous.get(field) == condition.get(field)
        for field in ("status", "reason", "message", "severity")
    )
    if unchanged and previous.get("lastTransitionTime"):
        condition["lastTransitionTime"] = previous["lastTransitionTime"]
    else:
        condition["lastTransitionTime"] = now_iso()
    others = [c for c in conditions if c.get("type") != condition_type]
    return sorted([*others, condition], key=lambda c: c["type"])


def owner_reference(owner: Obj, block: bool = True) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"].get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": block,
    }


def is_owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"].get("uid")
    return any(
        ref.get("kind") == owner["kind"]
        and ref.get("name") == owner["metadata"]["name"]
        and (not uid or ref.get("uid") == uid)
        for ref in obj["metadata"].get("ownerReferences") or []
    )


def emit_event(
    store: Any,
    involved: Obj,
    reason: str,
    message: str,
    component: str,
    event_type: str = "Normal",
) -> None:
    """A core/v1 Event about `involved`, as the named component records it."""
    meta = involved["metadata"]
    namespace = meta.get("namespace") or "default"
    stamp = now_iso()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": {"component": component},
        "reportingComponent": component,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    if not meta.get("namespace"):
        del event["involvedObject"]["namespace"]
    try:
        store.create(event)
    except Exception:  # noqa: BLE001 - an Event is best effort, as in client-go's recorder
        log.debug("event %s on %s not recorded", reason, meta["name"], exc_info=True)


class ReconcileLoop:
    """A component that reconciles on every store change and on a periodic resync.

    Subclasses implement `reconcile()`; it must be idempotent and avoid writing unchanged
    objects, otherwise it would wake itself forever.
    """

    name = "sim-controller"
    resync_seconds = 0.1  # real seconds between passes without any store change

    def __init__(self) -> None:
        self.sim: Any = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Any = None
        self._failures: dict[tuple, str] = {}

    @property
    def store(self) -> Any:
        return self.sim.store

    def start(self, sim: Any) -> None:
        self.sim = sim
        self._unsubscribe = sim.store.subscribe(self._on_change)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._unsubscribe:
            self._unsubscribe()
        if self._thread:
            self._thread.join(timeout=5)

    def _on_change(self, event_type: str, obj: Obj) -> None:
        if obj.get("kind") != "Event":
            self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.resync_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.reconcile()
            except Exception:  # noqa: BLE001 - a controller logs and retries, never dies
                log.warning("%s reconcile failed:\n%s", self.name, traceback.format_exc())
                time.sleep(self.resync_seconds)
            # Coalesce bursts of our own writes into the next pass.
            time.sleep(0.01)

    def reconcile(self) -> None:
        raise NotImplementedError

    def each(self, objects: list[Obj], handle: Any, what: str = "") -> None:
        """Run `handle(obj)` for every object on its own, as a controller-runtime / knative/pkg
        workqueue does per key: an error on one object is logged (and retried on the next
        pass) and never keeps the others from being reconciled."""
        for obj in objects:
            meta = obj.get("metadata") or {}
            key = (obj.get("kind"), meta.get("namespace"), meta.get("name"))
            try:
                handle(obj)
            except Exception as error:  # noqa: BLE001 - one bad key never stalls the queue
                if self._deleted(obj):
                    # Deleted while reconciled: the next pass has no key for it, no error.
                    self._failures.pop(key, None)
                    continue
                log.warning(
                    "%s: reconciling %s %s failed:\n%s",
                    self.name,
                    what or obj.get("kind", "object"),
                    "/".join(p for p in key[1:] if p),
                    traceback.format_exc(),
                )
                # knative/pkg's generated reconcilers record the returned error as a Warning
                # Event "InternalError" on the object (once per distinct error here).
                message = str(error) or type(error).__name__
                if self._failures.get(key) != message and obj.get("apiVersion"):
                    self._failures[key] = message
                    emit_event(self.store, obj, "InternalError", message, self.name, "Warning")
            else:
                self._failures.pop(key, None)

    def _deleted(self, obj: Obj) -> bool:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        if not api_version or not kind:
            return False
        if not self.store.served(api_version, kind):
            return True
        meta = obj.get("metadata") or {}
        return (
            self.store.get(api_version, kind, meta.get("name", ""), meta.get("namespace")) is None
        )


def write_status_if_changed(store: Any, obj: Obj, status: Obj) -> Obj:
    if obj.get("status") == status:
        return obj
    meta = obj["metadata"]
    return store.update_status(
        obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"), status
    )


class KubeControllers(ReconcileLoop):
    """Deployment, ReplicaSet, StatefulSet and Job controllers plus the scheduler and kubelet."""

    name = "sim-kube-controllers"

    def __init__(self) -> None:
        super().__init__()
        self._pod_started_at: dict[tuple[str, str], float] = {}
        self._pod_stopping_at: dict[tuple[str, str], float] = {}
        self._apps: dict[tuple[str, str], Any] = {}

    def stop(self) -> None:
        super().stop()
        for key in list(self._apps):
            self._stop_app(key)

    def reconcile(self) -> None:
        self.each(self.store.list("apps/v1", "Deployment"), self._reconcile_deployment)
        self.each(self.store.list("apps/v1", "StatefulSet"), self._reconcile_stateful_set)
        self.each(self.store.list("batch/v1", "Job"), self._complete_job)
        self._run_kubelet()

    # --- Deployments ------------------------------------------------------------------------

    def _reconcile_deployment(self, listed: Obj) -> None:
        # Read again: under load a pass takes long enough for the list to be stale, and pods
        # deleted for a replica count already changed back would be lost for nothing.
        meta = listed["metadata"]
        deploy = self.store.get("apps/v1", "Deployment", meta["name"], meta["namespace"])
        if deploy is None:
            return
        meta, spec = deploy["metadata"], deploy["spec"]
        namespace, name = meta["namespace"], meta["name"]
        desired = spec.get("replicas", 1)
        template = spec.get("template") or {}
        template_hash = stable_hash(template)
        rs_name = f"{name}-{template_hash}"
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        replica_sets = [
            rs
            for rs in self.store.list("apps/v1", "ReplicaSet", namespace)
            if is_owned_by(rs, deploy)
        ]
        current = next((rs for rs in replica_sets if rs["metadata"]["name"] == rs_name), None)
        if current is None:
            current = self._create_replica_set(deploy, rs_name, template_hash, desired)
        elif current["spec"].get("replicas") != desired:
            previous = current["spec"].get("replicas", 0)
            current["spec"]["replicas"] = desired
            current = self.store.update(current)
            direction = "up" if desired > previous else "down"
            emit_event(
                self.store,
                deploy,
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {rs_name} to {desired}",
                "deployment-controller",
            )
        for old in replica_sets:
            if old["metadata"]["name"] != rs_name:
                for pod in self._pods_of(old, namespace):
                    self._delete_pod(pod)
                self.store.delete("apps/v1", "ReplicaSet", old["metadata"]["name"], namespace)
        pods = self._reconcile_replica_set(current, namespace, desired, selector)
        ready = sum(1 for pod in pods if is_true(pod, "Ready"))
        self._write_deployment_status(deploy, rs_name, len(pods), ready, desired)

    def _create_replica_set(
        self, deploy: Obj, rs_name: str, template_hash: str, desired: int
    ) -> Obj:
        template = json.loads(json.dumps(deploy["spec"].get("template") or {}))
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = (
            template_hash
        )
        selector = dict((deploy["spec"].get("selector") or {}).get("matchLabels") or {})
        selector["pod-template-hash"] = template_hash
        replica_set = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": deploy["metadata"]["namespace"],
                "labels": dict(template["metadata"]["labels"]),
                "annotations": {"deployment.kubernetes.io/desired-replicas": str(desired)},
                "ownerReferences": [owner_reference(deploy)],
            },
            "spec": {
                "replicas": desired,
                "selector": {"matchLabels": selector},
                "template": template,
            },
        }
        created = self.store.create(replica_set)
        emit_event(
            self.store,
            deploy,
            "ScalingReplicaSet",
            f"Scaled up replica set {rs_name} to {desired}",
            "deployment-controller",
        )
        return created

    def _pods_of(self, owner: Obj, namespace: str) -> list[Obj]:
        return [pod for pod in self.store.list("v1", "Pod", namespace) if is_owned_by(pod, owner)]

    def _reconcile_replica_set(
        self, replica_set: Obj, namespace: str, desired: int, selector: dict
    ) -> list[Obj]:
        pods = [
            pod
            for pod in self._pods_of(replica_set, namespace)
            if not pod["metadata"].get("deletionTimestamp")
        ]
        while len(pods) > desired:
            # The controller removes the youngest (least ready) pods first, gracefully: they
            # stay Terminating until the kubelet has stopped their containers.
            victim = pods.pop()
            grace = victim["spec"].get(
                "terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_SECONDS
            )
            meta = victim["metadata"]
            self.store.delete("v1", "Pod", meta["name"], meta["namespace"], grace_seconds=grace)
            emit_event(
                self.store,
                replica_set,
                "SuccessfulDelete",
                f"Deleted pod: {victim['metadata']['name']}",
                "replicaset-controller",
            )
        while len(pods) < desired:
            name = f"{replica_set['metadata']['name']}-{safe_suffix()}"
            pods.append(self._create_pod(replica_set, name, namespace, {}))
            emit_event(
                self.store,
                replica_set,
                "SuccessfulCreate",
                f"Created pod: {name}",
                "replicaset-controller",
            )
        ready = sum(1 for pod in pods if is_true(pod, "Ready"))
        status: Obj = {
            "replicas": len(pods),
            "observedGeneration": replica_set["metadata"].get("generation", 1),
        }
        if ready:
            status.update(
                readyReplicas=ready, availableReplicas=ready, fullyLabeledReplicas=len(pods)
            )
        write_status_if_changed(self.store, replica_set, status)
        return pods

    def _write_deployment_status(
        self, deploy: Obj, rs_name: str, pods: int, ready: int, desired: int
    ) -> None:
        old_status = deploy.get("status") or {}
        conditions = list(old_status.get("conditions") or [])
        available = ready >= desired
        if available:
            conditions = _k8s_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
        else:
            conditions = _k8s_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
        if available and pods == desired:
            conditions = _k8s_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
            )
        else:
            conditions = _k8s_condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
            )
        status: Obj = {"observedGeneration": deploy["metadata"].get("generation", 1)}
        # Zero counts are omitted, as the API's omitempty does.
        for key, value in (
            ("replicas", pods),
            ("updatedReplicas", pods),
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("unavailableReplicas", max(desired - ready, 0)),
        ):
            if value:
                status[key] = value
        status["conditions"] = conditions
        write_status_if_changed(self.store, deploy, status)

    # --- StatefulSets and Jobs --------------------------------------------------------------

    def _reconcile_stateful_set(self, stateful_set: Obj) -> None:
        meta, spec = stateful_set["metadata"], stateful_set["spec"]
        namespace, name = meta["namespace"], meta["name"]
        desired = spec.get("replicas", 1)
        revision = f"{name}-{stable_hash(spec.get('template') or {})}"
        pods = {pod["metadata"]["name"]: pod for pod in self._pods_of(stateful_set, namespace)}
        for pod_name, pod in pods.items():
            ordinal = int(pod_name.rsplit("-", 1)[1])
            stale = pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision
            if ordinal >= desired or stale:
                self._delete_pod(pod)
        pods = {
            n: p
            for n, p in pods.items()
            if int(n.rsplit("-", 1)[1]) < desired
            and p["metadata"].get("labels", {}).get("controller-revision-hash") == revision
        }
        for ordinal in range(desired):
            pod_name = f"{name}-{ordinal}"
            if pod_name not in pods:
                pods[pod_name] = self._create_pod(
                    stateful_set,
                    pod_name,
                    namespace,
                    {
                        "controller-revision-hash": revision,
                        "statefulset.kubernetes.io/pod-name": pod_name,
                    },
                )
                emit_event(
                    self.store,
                    stateful_set,
                    "SuccessfulCreate",
                    f"create Pod {pod_name} in StatefulSet {name} successful",
                    "statefulset-controller",
                )
        ready = sum(1 for pod in pods.values() if is_true(pod, "Ready"))
        status: Obj = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "currentReplicas": len(pods),
            "updatedReplicas": len(pods),
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
            "availableReplicas": ready,
        }
        if ready:
            status["readyReplicas"] = ready
        write_status_if_changed(self.store, stateful_set, status)

    def _complete_job(self, job: Obj) -> None:
        if (job.get("status") or {}).get("succeeded"):
            return
        containers = job["spec"].get("template", {}).get("spec", {}).get("containers") or []
        if any(PROGRAM_JOB_IMAGE in c.get("image", "") for c in containers):
            return  # its program decides when it is done (knative/serving.py)
        stamp = now_iso()
        write_status_if_changed(
            self.store,
            job,
            {
                "startTime": stamp,
                "completionTime": stamp,
                "succeeded": 1,
                "conditions": [
                    {
                        "type": "Complete",
                        "status": "True",
                        "lastProbeTime": stamp,
                        "lastTransitionTime": stamp,
                    }
                ],
            },
        )
        emit_event(self.store, job, "Completed", "Job completed", "job-controller")

    # --- pods and the kubelet ---------------------------------------------------------------

    def _create_pod(self, owner: Obj, name: str, namespace: str, extra_labels: dict) -> Obj:
        template = owner["spec"].get("template") or {}
        template_meta = template.get("metadata") or {}
        pod_spec = json.loads(json.dumps(template.get("spec") or {}))
        pod_spec.setdefault("restartPolicy", "Always")
        pod_spec.setdefault("schedulerName", "default-scheduler")
        pod_spec.setdefault("serviceAccountName", "default")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {**(template_meta.get("labels") or {}), **extra_labels},
                "ownerReferences": [owner_reference(owner)],
            },
            "spec": pod_spec,
        }
        if template_meta.get("annotations"):
            pod["metadata"]["annotations"] = dict(template_meta["annotations"])
        created = self.store.create(pod)
        self.store.update_status(
            "v1",
            "Pod",
            name,
            namespace,
            {
                "phase": "Pending",
                "qosClass": "BestEffort",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "True",
                        "lastTransitionTime": now_iso(),
                        "lastProbeTime": None,
                    }
                ],
            },
        )
        return created

    def _delete_pod(self, pod: Obj) -> None:
        meta = pod["metadata"]
        self.store.delete("v1", "Pod", meta["name"], meta["namespace"])
        self._forget_pod((meta["namespace"], meta["name"]))

    def _forget_pod(self, key: tuple[str, str]) -> None:
        self._pod_started_at.pop(key, None)
        self._pod_stopping_at.pop(key, None)
        self._stop_app(key)

    def _stop_app(self, key: tuple[str, str]) -> None:
        app = self._apps.pop(key, None)
        self.sim.pod_ports.pop(key, None)
        if app is not None:
            app.stop()

    def _run_kubelet(self) -> None:
        """Pending pods start after POD_START_SECONDS (scaled); gone pods lose their app."""
        live: set[tuple[str, str]] = set()

        def run(pod: Obj) -> None:
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            live.add(key)
            if pod["metadata"].get("deletionTimestamp"):
                self._stop_pod(pod, key)
                return
            if (pod.get("status") or {}).get("phase") not in (None, "Pending"):
                return
            started = self._pod_started_at.setdefault(key, time.monotonic())
            if time.monotonic() - started >= self.sim.clock.scaled(POD_START_SECONDS):
                self._start_pod(pod, key)

        self.each(self.store.list("v1", "Pod"), run)
        for key in set(self._pod_started_at) | set(self._apps):
            if key not in live:
                self._forget_pod(key)

    def _stop_pod(self, pod: Obj, key: tuple[str, str]) -> None:
        """A Terminating pod: not Ready while its containers stop (queue-proxy drains), then
        deleted for good, as the kubelet does once the containers have exited."""
        containers = pod["spec"].get("containers") or []
        stop = (
            QUEUE_PROXY_DRAIN_SECONDS
            if any(c.get("name") == "queue-proxy" for c in containers)
            else PLAIN_STOP_SECONDS
        )
        grace = pod["metadata"].get("deletionGracePeriodSeconds") or 0
        started = self._pod_stopping_at.setdefault(key, time.monotonic())
        if key not in self._apps and (pod.get("status") or {}).get("phase") != "Running":
            stop = 0.0  # nothing was started: nothing to stop
        if time.monotonic() - started >= self.sim.clock.scaled(min(stop, grace)):
            self.store.delete("v1", "Pod", key[1], key[0])
            self._forget_pod(key)
            return
        status = pod.get("status") or {}
        ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
        if ready and ready[0].get("status") == "True":
            stamp = now_iso()
            conditions = [
                {**c, "status": "False", "lastTransitionTime": stamp}
                if c.get("type") in ("Ready", "ContainersReady")
                else c
                for c in status.get("conditions") or []
            ]
            statuses = [
                {**s, "ready": False} if s.get("name") == "queue-proxy" else s
                for s in status.get("containerStatuses") or []
            ]
            self.store.update_status(
                "v1",
                "Pod",
                key[1],
                key[0],
                {**status, "conditions": conditions, "containerStatuses": statuses},
            )

    def _start_pod(self, pod: Obj, key: tuple[str, str]) -> None:
        namespace, name = key
        if not pod["spec"].get("nodeName"):
            emit_event(
                self.store,
                pod,
                "Scheduled",
                f"Successfully assigned {namespace}/{name} to {NODE_NAME}",
                "default-scheduler",
            )
            pod["spec"]["nodeName"] = NODE_NAME
            pod = self.store.update(pod)
        containers = pod["spec"].get("containers") or []
        if any(self._pull_error(c.get("image", "")) for c in containers):
            self._back_off_pull(pod, containers)
            return
        foreign = [c for c in containers if self._built_for_another_architecture(c)]
        if foreign:
            self._crash_loop(pod, containers, foreign[0])
            return
        for container in containers:
            if container.get("name") == "user-container":
                app_class = apps.app_for_image(container.get("image", ""))
                if app_class is not None and key not in self._apps:
                    app = app_class(name, self._pod_logger(namespace, name), self.sim.clock)
                    self.sim.pod_ports[key] = app.start()
                    self._apps[key] = app
            emit_event(
                self.store,
                pod,
                "Pulled",
                f'Container image "{container.get("image")}" already present on machine',
                "kubelet",
            )
            emit_event(
                self.store, pod, "Created", f"Created container {container['name']}", "kubelet"
            )
            emit_event(
                self.store, pod, "Started", f"Started container {container['name']}", "kubelet"
            )
        stamp = now_iso()
        statuses = [
            {
                "name": container["name"],
                "image": container.get("image", ""),
                "imageID": _image_id(container.get("image", "")),
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": stamp}},
                "lastState": {},
            }
            for container in containers
        ]
        self.store.update_status(
            "v1",
            "Pod",
            name,
            namespace,
            _pod_status(
                "Running",
                stamp,
                [
                    {
                        "type": condition,
                        "status": "True",
                        "lastTransitionTime": stamp,
                        "lastProbeTime": None,
                    }
                    for condition in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
                ],
                statuses,
            ),
        )

    def _node_architecture(self) -> str:
        nodes = self.store.list("v1", "Node")
        return nodes[0]["status"]["nodeInfo"]["architecture"] if nodes else "amd64"

    def _built_for_another_architecture(self, container: Obj) -> bool:
        """An image whose app was published for other architectures than the node's (a
        single-platform image runs there and fails with exec format error)."""
        app_class = apps.app_for_image(container.get("image", ""))
        published = getattr(app_class, "architectures", None)
        return bool(published) and self._node_architecture() not in published

    def _crash_loop(self, pod: Obj, containers: list[Obj], crashing: Obj) -> None:
        """A container whose binary the node cannot execute: it exits at once, the kubelet
        restarts it with back-off (CrashLoopBackOff); its log becomes the termination message
        (Knative sets terminationMessagePolicy FallbackToLogsOnError)."""
        if (pod.get("status") or {}).get("containerStatuses"):
            return
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        app_class = apps.app_for_image(crashing.get("image", ""))
        line = f"exec {getattr(app_class, 'entrypoint', '/entrypoint')}: exec format error"
        self.store.append_log(namespace, name, crashing["name"], line)
        stamp = now_iso()
        statuses = []
        for container in containers:
            status: Obj = {
                "name": container["name"],
                "image": container.get("image", ""),
                "imageID": _image_id(container.get("image", "")),
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "ready": False,
                "started": container is not crashing,
                "restartCount": 0,
                "lastState": {},
                "state": {"running": {"startedAt": stamp}},
            }
            if container is crashing:
                status["restartCount"] = 1
                status["lastState"] = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "message": line,
                        "startedAt": stamp,
                        "finishedAt": stamp,
                        "containerID": status.pop("containerID"),
                    }
                }
                status["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 10s restarting failed container={container['name']}"
                        f" pod={name}_{namespace}({pod['metadata']['uid']})",
                    }
                }
            statuses.append(status)
        emit_event(
            self.store,
            pod,
            "BackOff",
            f"Back-off restarting failed container {crashing['name']} in pod "
            f"{name}_{namespace}({pod['metadata']['uid']})",
            "kubelet",
            "Warning",
        )
        conditions = _unready_conditions(containers, stamp)
        self.store.update_status(
            "v1", "Pod", name, namespace, _pod_status("Running", stamp, conditions, statuses)
        )

    def _pull_error(self, image: str) -> str | None:
        """Why the container runtime cannot pull `image`, or None when it can."""
        if image.endswith(UNPULLABLE_DIGEST):
            return (
                f'failed to pull and unpack image "{image}": failed to resolve reference'
                f' "{image}": not found'
            )
        repository = apps.image_repository(image)
        if faults.NODEINFO_IMAGE_PULL in self.sim.faults and repository == "functions/nodeinfo":
            reference = image.split("@", 1)[1] if "@" in image else image.rsplit(":", 1)[-1]
            return f'failed to pull and unpack image "{image}": ' + RATE_LIMITED.format(
                repository=repository, reference=reference
            )
        if faults.TRIGGERMESH_IMAGE_PULL in self.sim.faults and image.startswith(
            "gcr.io/triggermesh/"
        ):
            # gcr.io refusing an anonymous token for a project that is gone (INFERRED wording,
            # containerd's resolver error for a 403 from the token endpoint).
            path = image.removeprefix("gcr.io/").split("@")[0].rsplit(":", 1)[0]
            return (
                f'failed to pull and unpack image "{image}": failed to resolve reference '
                f'"{image}": failed to authorize: failed to fetch anonymous token: unexpected '
                f"status from GET request to https://gcr.io/v2/token?scope=repository%3A"
                f"{path.replace('/', '%2F')}%3Apull&service=gcr.io: 403 Forbidden"
            )
        return None

    def _back_off_pull(self, pod: Obj, containers: list[Obj]) -> None:
        """kubelet `images/image_manager.go`: ErrImagePull, then ImagePullBackOff forever; the
        back-off message carries the last pull error (`prevPullErrMsg`), as current kubelets write it."""
        if (pod.get("status") or {}).get("containerStatuses"):
            return
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        statuses = []
        for container in containers:
            image = container.get("image", "")
            status: Obj = {
                "name": container["name"],
                "image": image,
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "lastState": {},
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
            error = self._pull_error(image)
            if error:
                emit_event(
                    self.store,
                    pod,
                    "Failed",
                    f'Failed to pull image "{image}": {error}',
                    "kubelet",
                    "Warning",
                )
                emit_event(self.store, pod, "Failed", "Error: ErrImagePull", "kubelet", "Warning")
                emit_event(
                    self.store, pod, "BackOff", f'Back-off pulling image "{image}"', "kubelet"
                )
                status["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{image}": {error}',
                    }
                }
            statuses.append(status)
        stamp = now_iso()
        self.store.update_status(
            "v1",
            "Pod",
            name,
            namespace,
            _pod_status(
                "Pending",
                stamp,
                _unready_conditions(containers, stamp),
                statuses,
            ),
        )

    def _pod_logger(self, namespace: str, pod: str) -> Any:
        def append(text: str) -> None:
            self.store.append_log(namespace, pod, "user-container", text)

        return append


def _unready_conditions(containers: list[Obj], stamp: str) -> list[Obj]:
    """The conditions of a scheduled pod whose containers are not ready (kubelet status)."""
    not_ready = "containers with unready status: [" + " ".join(c["name"] for c in containers) + "]"
    unready = {"status": "False", "reason": "ContainersNotReady", "message": not_ready}
    return [
        {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
        {"type": "Ready", **unready, "lastTransitionTime": stamp},
        {"type": "ContainersReady", **unready, "lastTransitionTime": stamp},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp},
    ]


def _pod_status(phase: str, stamp: str, conditions: list[Obj], statuses: list[Obj]) -> Obj:
    """A scheduled pod's status on the kind node, as the kubelet reports it."""
    return {
        "phase": phase,
        "hostIP": NODE_IP,
        "podIP": POD_IP,
        "podIPs": [{"ip": POD_IP}],
        "startTime": stamp,
        "qosClass": "BestEffort",
        "conditions": conditions,
        "containerStatuses": statuses,
    }


def _image_id(image: str) -> str:
    if "@sha256:" in image:
        return image if "/" in image.split("@")[0] else f"docker.io/library/{image}"
    repository = image.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _k8s_condition(
    conditions: list[Obj], condition_type: str, status: str, reason: str, message: str
) -> list[Obj]:
    """Workload conditions (lastUpdateTime + lastTransitionTime, API order kept)."""
    stamp = now_iso()
    previous = next((c for c in conditions if c["type"] == condition_type), None)
    unchanged = (
        previous
        and previous["status"] == status
        and previous.get("reason") == reason
        and previous.get("message") == message
    )
    if unchanged:
        return conditions
    condition = {
        "type": condition_type,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": previous["lastTransitionTime"]
        if previous and previous["status"] == status
        else stamp,
        "reason": reason,
        "message": message,
    }
    order = ["Available", "Progressing"]
    merged = [c for c in conditions if c["type"] != condition_type] + [condition]
    return sorted(merged, key=lambda c: order.index(c["type"]) if c["type"] in order else 9)
