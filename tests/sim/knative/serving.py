"""Knative Serving stand-in: the webhook's defaults, the controller, the autoscaler (KPA) and
the Kourier ingress reconciler.

Follows knative/serving@release-1.11:
- `pkg/apis/serving/v1/*_defaults.go` (container name user-container, containerConcurrency 0,
  timeoutSeconds 300, enableServiceLinks false, readinessProbe tcpSocket port 0) and
  `pkg/webhook` user info (serving.knative.dev/creator, lastModifier),
- `pkg/reconciler/service/resources/{configuration,route}.go`, `service_lifecycle.go`
  (ConfigurationsReady, RoutesReady -> Ready; OutOfDate / RevisionMissing /
  IngressNotConfigured / Uninitialized / TrafficNotMigrated),
- `pkg/reconciler/configuration/resources/revision.go` (`<config>-<generation:05d>`, labels),
- `pkg/reconciler/revision/resources/{meta,deploy,pa}.go` (`<rev>-deployment`, pod labels,
  user-container + queue-proxy, PodAutoscaler),
- `pkg/apis/serving/v1/revision_lifecycle.go` and `pkg/reconciler/autoscaling/kpa/kpa.go`
  (Active: Deploying / Queued / NoTraffic; ResourcesAvailable, ContainerHealthy),
- `pkg/reconciler/route/{route.go,resources/ingress.go}` and `route_lifecycle.go`
  (KIngress rules, visibility, AllTrafficAssigned, CertificateProvisioned TLSNotEnabled),
- `pkg/autoscaler/config/config.go` (stable-window, scale-to-zero-grace-period,
  enable-scale-to-zero, window annotation),
- net-kourier@release-1.11 `pkg/reconciler/ingress/ingress.go` (KIngress status,
  LoadBalancerReady once the gateway is up, domainInternal of kourier / kourier-internal).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from typing import Any

from tests.sim import faults
from tests.sim.knative import webhooks
from tests.sim.knative.webhooks import default_template_spec
from tests.sim.kube_controllers import (
    PROGRAM_JOB_IMAGE,
    ReconcileLoop,
    emit_event,
    get_condition,
    is_true,
    now_iso,
    owner_reference,
    set_condition,
    write_status_if_changed,
)
from tests.sim.network import ClusterNetwork

Obj = dict[str, Any]

SERVING_API = "serving.knative.dev/v1"
NETWORKING_API = "networking.internal.knative.dev/v1alpha1"
AUTOSCALING_API = "autoscaling.internal.knative.dev/v1alpha1"
SERVING_SYSTEM = "knative-serving"
USER = "kubernetes-admin"  # the kind admin, as the webhook records it
CLUSTER_LOCAL_DOMAIN = "svc.cluster.local"
VISIBILITY_LABEL = "networking.knative.dev/visibility"
WINDOW_ANNOTATION = "autoscaling.knative.dev/window"
MIN_SCALE_ANNOTATION = "autoscaling.knative.dev/min-scale"
KOURIER_CLASS = "kourier.ingress.networking.knative.dev"
CLASS_ANNOTATION = "networking.knative.dev/ingress.class"
USER_PORT = 8080
COLD_START_SECONDS = 3.0
# kpa/scaler.go handleScaleToZero: a PA just marked inactive, with the activator already in the
# path (SKS in proxy mode, the default target-burst-capacity 211), is reconciled again after 3 s.
DEACTIVATION_RECHECK_SECONDS = 3.0
# pkg/autoscaler/config/config.go defaults for keys missing from config-autoscaler.
AUTOSCALER_DEFAULTS = {
    "enable-scale-to-zero": "true",
    "stable-window": "60s",
    "scale-to-zero-grace-period": "30s",
    "scale-to-zero-pod-retention-period": "0s",
    "min-scale": "0",
}

ROUTE_OUT_OF_DATE = "The Route is still working to reflect the latest desired specification."
CONFIG_OUT_OF_DATE = (
    "The Configuration is still working to reflect the latest desired specification."
)


def ingress_class(network: dict[str, str]) -> str:
    """config-network's ingress class (`ingress-class`, or the legacy `ingress.class`);
    Istio's when unset (networking pkg/config: DefaultIngressClass)."""
    return (
        network.get("ingress-class")
        or network.get("ingress.class")
        or "istio.ingress.networking.knative.dev"
    )


def parse_duration(text: str) -> float:
    """Go `time.ParseDuration` for the forms Knative configs use ("60s", "1m30s", "6s")."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text.strip())
    if not parts:
        return float(text)
    return sum(float(number) * units[unit] for number, unit in parts)


def _resolved_image(image: str) -> str:
    """Tag -> digest resolution by the controller (`pkg/reconciler/revision/resolve.go`)."""
    if "@sha256:" in image:
        return image
    name = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    if "." not in name.split("/")[0]:
        name = f"index.docker.io/{name if '/' in name else 'library/' + name}"
    return f"{name}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


class ServingController(ReconcileLoop):
    """Component: Serving's controller, autoscaler and activator plus net-kourier; it also
    publishes `sim.network`."""

    name = "sim-knative-serving"

    def __init__(self, cold_start_seconds: float = COLD_START_SECONDS) -> None:
        super().__init__()
        self.cold_start_seconds = cold_start_seconds
        self._lock = threading.Lock()
        self._last_request: dict[tuple[str, str], float] = {}
        # Requests still open (websockets): traffic for as long as they last.
        self._in_flight: dict[tuple[str, str], int] = {}
        self._activating: dict[tuple[str, str], int] = {}
        # Per revision: since when its PA is inactive (Active=False NoTraffic), and since when
        # the activator is in its path (the SKS in proxy mode: from the start, with TBC 211).
        self._inactive_since: dict[tuple[str, str], float] = {}
        self._proxy_since: dict[tuple[str, str], float] = {}
        # Since when the PA is active (a ready pod serves); only an active PA can go inactive.
        self._active_since: dict[tuple[str, str], float] = {}
        # Whose revision the entries above are: a revision deleted and made again under the
        # same name (a namespace removed and recreated) is a new object with a new history.
        self._revision_uids: dict[tuple[str, str], str] = {}
        self._scaled_changed = threading.Condition(self._lock)

    def start(self, sim: Any) -> None:
        sim.network = ClusterNetwork(sim, self)
        # The serving webhook's defaulting/validation of Services (webhooks.py).
        self._webhook = webhooks.register_serving(sim.store)
        super().start(sim)

    def stop(self) -> None:
        super().stop()
        if getattr(self, "_webhook", None) is not None:
            self._webhook.unsubscribe()

    # --- what network.py asks -----------------------------------------------------------------

    def record_request(self, namespace: str, revision: str) -> None:
        with self._lock:
            self._last_request[(namespace, revision)] = time.monotonic()

    def begin_request(self, namespace: str, revision: str) -> None:
        with self._lock:
            key = (namespace, revision)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            self._last_request[key] = time.monotonic()

    def open_requests(self, namespace: str, revision: str) -> int:
        """Long requests (websockets) open on the revision now."""
        with self._lock:
            return self._in_flight.get((namespace, revision), 0)

    def end_request(self, namespace: str, revision: str) -> None:
        with self._lock:
            key = (namespace, revision)
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]
            self._last_request[key] = time.monotonic()

    def activate(self, namespace: str, revision: str, timeout: float) -> int:
        """Hold the request until a pod of the revision serves, as the activator does; return
        the pod's app port. Raises TimeoutError when no pod comes up in time."""
        key = (namespace, revision)
        # The activator gives up after the revision's timeoutSeconds (default 300, scaled) with
        # 503 (serving pkg/activator/handler: throttler Try under the request's deadline); an
        # image without an app never gets a serving pod, so it fails after that, not later.
        spec = (self.store.get(SERVING_API, "Revision", revision, namespace) or {}).get(
            "spec"
        ) or {}
        revision_timeout = self.sim.clock.scaled(float(spec.get("timeoutSeconds") or 300))
        deadline = time.monotonic() + min(timeout, revision_timeout)
        with self._lock:
            port = self._serving_port(namespace, revision)
            if port is not None:
                return port
            self._activating[key] = self._activating.get(key, 0) + 1
        self._wake_now()
        try:
            while time.monotonic() < deadline:
                port = self._serving_port(namespace, revision)
                if port is not None:
                    # The activator forwards only once the queue-proxy probe succeeds.
                    time.sleep(
                        min(
                            self.sim.clock.scaled(self.cold_start_seconds),
                            max(deadline - time.monotonic(), 0),
                        )
                    )
                    return port
                time.sleep(0.02)
            raise TimeoutError(f"revision {namespace}/{revision} could not be activated")
        finally:
            with self._lock:
                self._activating[key] -= 1
                if not self._activating[key]:
                    del self._activating[key]
            self.record_request(namespace, revision)
            self._wake_now()

    def _wake_now(self) -> None:
        self._on_change("MODIFIED", {"kind": "Activation"})

    def _serving_port(self, namespace: str, revision: str) -> int | None:
        deployment = self.store.get("apps/v1", "Deployment", f"{revision}-deployment", namespace)
        if not (deployment or {}).get("spec", {}).get("replicas"):
            return None  # scaled to zero: its pods are no longer the activator's endpoints
        for pod in self.store.list(
            "v1", "Pod", namespace, labels={"serving.knative.dev/revision": revision}
        ):
            if pod["metadata"].get("deletionTimestamp"):
                continue  # a Terminating pod is out of the endpoints, draining
            port = self.sim.pod_ports.get((namespace, pod["metadata"]["name"]))
            if port is not None and is_true(pod, "Ready"):
                return port
        return None

    # --- the control loop ---------------------------------------------------------------------

    def reconcile(self) -> None:
        system = self._system_namespace()
        if system is None or not self.store.served(SERVING_API, "Service"):
            return
        config = self._configs(system)
        # FinalizeKind of the route and net-kourier reconcilers: let deleted objects go.
        self.each(
            self.store.list(SERVING_API, "Route"),
            lambda obj: self._release(obj, "routes.serving.knative.dev"),
        )
        self.each(
            self.store.list(NETWORKING_API, "Ingress"),
            lambda obj: self._release(obj, "ingresses.networking.internal.knative.dev"),
        )
        # One object at a time, as each knative/pkg reconciler's workqueue does.
        self.each(
            self.store.list(SERVING_API, "Service"),
            lambda service: self._reconcile_service(service, config),
        )
        self._reconcile_configurations()
        self.each(
            self.store.list(SERVING_API, "Revision"),
            lambda revision: self._reconcile_revision(revision, config),
        )
        self.each(self.store.list(NETWORKING_API, "Ingress"), self._reconcile_kingress)
        self.each(self.store.list("batch/v1", "Job", system), self._run_default_domain)

    # --- serving-default-domain.yaml's Job (cmd/default-domain/main.go) ----------------------

    def _run_default_domain(self, job: Obj) -> None:
        """Done at once when config-domain already names a domain; else it waits for the
        Kourier Service's load balancer IP (upstream polls 20 minutes; here, for as long as
        there is none) and adds `<ip>.<magic-dns>: ""` to config-domain."""
        containers = job["spec"]["template"]["spec"].get("containers") or []
        program = next((c for c in containers if PROGRAM_JOB_IMAGE in c.get("image", "")), None)
        if program is None or (job.get("status") or {}).get("succeeded"):
            return
        namespace = job["metadata"]["namespace"]
        domain = self.store.get("v1", "ConfigMap", "config-domain", namespace)
        data = dict((domain or {}).get("data") or {})
        if not any(not key.startswith("_") and not value for key, value in data.items()):
            gateway = self._kourier_namespace()
            kourier = self.store.get("v1", "Service", "kourier", gateway) if gateway else None
            addresses = ((kourier or {}).get("status") or {}).get("loadBalancer", {})
            ip = next((a["ip"] for a in addresses.get("ingress") or [] if a.get("ip")), None)
            if domain is None or ip is None:
                if not (job.get("status") or {}).get("active"):
                    write_status_if_changed(self.store, job, {"startTime": now_iso(), "active": 1})
                return
            magic = next(
                (a.split("=", 1)[1] for a in program.get("args") or [] if "-magic-dns=" in a),
                "sslip.io",
            )
            domain["data"] = {**data, f"{ip}.{magic}": ""}
            self.store.update(domain)
        stamp = now_iso()
        complete = {"type": "Complete", "status": "True"}
        complete.update(lastProbeTime=stamp, lastTransitionTime=stamp)
        write_status_if_changed(
            self.store,
            job,
            {
                "startTime": (job.get("status") or {}).get("startTime", stamp),
                "completionTime": stamp,
                "succeeded": 1,
                "conditions": [complete],
            },
        )

    def _release(self, obj: Obj, finalizer: str) -> None:
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and finalizer in (meta.get("finalizers") or []):
            meta["finalizers"] = [f for f in meta["finalizers"] if f != finalizer]
            self.store.update(obj)

    def _system_namespace(self) -> str | None:
        """Where Serving's `controller` runs (knative-serving, or an operator CR's namespace);
        None until it is Available: nothing is reconciled without the controller."""
        for deploy in self.store.list(
            "apps/v1", "Deployment", labels={"app.kubernetes.io/name": "knative-serving"}
        ):
            if deploy["metadata"]["name"] == "controller" and is_true(deploy, "Available"):
                return deploy["metadata"]["namespace"]
        return None

    def _configs(self, system: str) -> dict[str, dict[str, str]]:
        return {
            name: (self.store.get("v1", "ConfigMap", f"config-{name}", system) or {}).get("data")
            or {}
            for name in ("domain", "autoscaler", "deployment", "network")
        }

    # --- Service -> Configuration, Route ------------------------------------------------------

    def _reconcile_service(self, service: Obj, config: dict) -> None:
        meta = service["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if not self._webhook.registered:
            # A store without admission: write what the webhook would have defaulted.
            defaulted = copy.deepcopy(service)
            annotations = (defaulted["metadata"].get("annotations") or {}).copy()
            webhooks.default_service(defaulted, service)
            defaulted["metadata"]["annotations"] = {
                webhooks.CREATOR: USER,
                webhooks.LAST_MODIFIER: USER,
                **annotations,
            }
            if defaulted != service:
                service = self.store.update(defaulted)
                meta = service["metadata"]
        configuration = self.store.get(SERVING_API, "Configuration", name, namespace)
        route = self.store.get(SERVING_API, "Route", name, namespace)
        status = self._service_status(service, configuration, route)
        write_status_if_changed(self.store, service, status)
        self._ensure_configuration(service, configuration)
        self._ensure_route(service, route, configuration, config)

    def _service_status(self, service: Obj, configuration: Obj | None, route: Obj | None) -> Obj:
        meta = service["metadata"]
        status = copy.deepcopy(service.get("status") or {})
        conditions = list(status.get("conditions") or [])
        status["observedGeneration"] = meta.get("generation", 1)
        config_status = (configuration or {}).get("status") or {}
        route_status = (route or {}).get("status") or {}
        config_current = configuration is not None and config_status.get(
            "observedGeneration"
        ) == configuration["metadata"].get("generation")
        if config_current and is_true(configuration, "Ready"):
            conditions = set_condition(conditions, "ConfigurationsReady", "True")
        else:
            failed = get_condition(configuration or {}, "Ready")
            if failed and failed["status"] == "False":
                conditions = set_condition(
                    conditions,
                    "ConfigurationsReady",
                    "False",
                    failed.get("reason"),
                    failed.get("message"),
                )
            else:
                conditions = set_condition(
                    conditions, "ConfigurationsReady", "Unknown", "OutOfDate", CONFIG_OUT_OF_DATE
                )
        route_ready = get_condition(route or {}, "Ready")
        latest_created = config_status.get("latestCreatedRevisionName")
        routed = [t.get("revisionName") for t in route_status.get("traffic") or []]
        if route is None or route_ready is None:
            conditions = set_condition(
                conditions, "RoutesReady", "Unknown", "OutOfDate", ROUTE_OUT_OF_DATE
            )
        elif route_ready["status"] == "True" and latest_created and latest_created not in routed:
            conditions = set_condition(
                conditions,
                "RoutesReady",
                "Unknown",
                "TrafficNotMigrated",
                "Traffic is not yet migrated to the latest revision.",
            )
        else:
            conditions = set_condition(
                conditions,
                "RoutesReady",
                route_ready["status"],
                route_ready.get("reason"),
                route_ready.get("message"),
            )
        routes = next(c for c in conditions if c["type"] == "RoutesReady")
        configs = next(c for c in conditions if c["type"] == "ConfigurationsReady")
        if configs["status"] == "False":
            blocker = configs
        elif routes["status"] != "True":
            blocker = routes
        else:
            blocker = configs
        conditions = set_condition(
            conditions, "Ready", blocker["status"], blocker.get("reason"), blocker.get("message")
        )
        status["conditions"] = conditions
        for key in ("latestCreatedRevisionName", "latestReadyRevisionName"):
            if config_status.get(key):
                status[key] = config_status[key]
        for key in ("url", "address", "traffic"):
            if route_status.get(key):
                status[key] = route_status[key]
        return status

    def _child_meta(self, service: Obj, kind_labels: dict | None = None) -> Obj:
        meta = service["metadata"]
        # creator/lastModifier were written by the webhook (webhooks.default_service).
        given = meta.get("annotations") or {}
        annotations = {
            "serving.knative.dev/creator": given.get("serving.knative.dev/creator", USER),
            "serving.knative.dev/lastModifier": given.get("serving.knative.dev/lastModifier", USER),
        }
        for key, value in (meta.get("annotations") or {}).items():
            if key.startswith(("client.knative.dev/", "features.knative.dev/")):
                annotations[key] = value
        labels = {
            **(meta.get("labels") or {}),
            "serving.knative.dev/service": meta["name"],
            "serving.knative.dev/serviceUID": meta["uid"],
            **(kind_labels or {}),
        }
        return {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_reference(service)],
        }

    def _ensure_configuration(self, service: Obj, configuration: Obj | None) -> None:
        template = copy.deepcopy((service.get("spec") or {}).get("template") or {})
        template["spec"] = default_template_spec(template.get("spec") or {})
        if configuration is None:
            meta = self._child_meta(service)
            meta["annotations"]["serving.knative.dev/routes"] = service["metadata"]["name"]
            self.store.create(
                {
                    "apiVersion": SERVING_API,
                    "kind": "Configuration",
                    "metadata": meta,
                    "spec": {"template": template},
                }
            )
        elif configuration["spec"].get("template") != template:
            configuration["spec"]["template"] = template
            self.store.update(configuration)

    def _ensure_route(
        self, service: Obj, route: Obj | None, configuration: Obj | None, config: dict
    ) -> None:
        name = service["metadata"]["name"]
        if route is None:
            meta = self._child_meta(service)
            meta["labels"] = {"serving.knative.dev/service": name}
            meta["finalizers"] = ["routes.serving.knative.dev"]
            route = self.store.create(
                {
                    "apiVersion": SERVING_API,
                    "kind": "Route",
                    "metadata": meta,
                    "spec": {
                        "traffic": [
                            {"configurationName": name, "latestRevision": True, "percent": 100}
                        ]
                    },
                }
            )
        self._reconcile_route(service, route, configuration, config)

    # --- Route -> KIngress --------------------------------------------------------------------

    def _route_hosts(self, service: Obj, config: dict) -> tuple[str, str, bool]:
        """(external url host, cluster-local host, cluster-local only)."""
        meta = service["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        local_host = f"{name}.{namespace}.{CLUSTER_LOCAL_DOMAIN}"
        domains = [d for d in config["domain"] if not d.startswith("_")]
        cluster_local = (
            not domains or (meta.get("labels") or {}).get(VISIBILITY_LABEL) == "cluster-local"
        )
        if cluster_local:
            return local_host, local_host, True
        return f"{name}.{namespace}.{domains[0]}", local_host, False

    def _reconcile_route(
        self, service: Obj, route: Obj, configuration: Obj | None, config: dict
    ) -> None:
        meta = route["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        host, local_host, cluster_local = self._route_hosts(service, config)
        ready_revision = ((configuration or {}).get("status") or {}).get("latestReadyRevisionName")
        kingress = self.store.get(NETWORKING_API, "Ingress", name, namespace)
        status = copy.deepcopy(route.get("status") or {})
        conditions = list(status.get("conditions") or [])
        status["observedGeneration"] = meta.get("generation", 1)
        status["url"] = f"http://{host}"
        status["address"] = {"url": f"http://{local_host}"}
        conditions = set_condition(
            conditions, "CertificateProvisioned", "True", "TLSNotEnabled", "autoTLS is not enabled"
        )
        if not ready_revision:
            waiting = f'Configuration "{name}" is waiting for a Revision to become ready.'
            conditions = set_condition(
                conditions, "AllTrafficAssigned", "Unknown", "RevisionMissing", waiting
            )
            conditions = set_condition(conditions, "Ready", "Unknown", "RevisionMissing", waiting)
            write_status_if_changed(self.store, route, {**status, "conditions": conditions})
            return
        traffic = [{"latestRevision": True, "percent": 100, "revisionName": ready_revision}]
        self._ensure_route_service(route)
        conditions = set_condition(conditions, "AllTrafficAssigned", "True")
        self._ensure_kingress(
            service, route, ready_revision, host, local_host, cluster_local, config["network"]
        )
        if kingress is None or not get_condition(kingress, "Ready"):
            conditions = set_condition(
                conditions,
                "IngressReady",
                "Unknown",
                "IngressNotConfigured",
                "Ingress has not yet been reconciled.",
            )
        else:
            ready = get_condition(kingress, "Ready")
            conditions = set_condition(
                conditions,
                "IngressReady",
                ready["status"],
                ready.get("reason"),
                ready.get("message"),
            )
        ingress_ready = next(c for c in conditions if c["type"] == "IngressReady")
        conditions = set_condition(
            conditions,
            "Ready",
            ingress_ready["status"],
            ingress_ready.get("reason"),
            ingress_ready.get("message"),
        )
        if ingress_ready["status"] == "True":
            status["traffic"] = traffic
            self._mark_routed(namespace, ready_revision, name)
        write_status_if_changed(self.store, route, {**status, "conditions": conditions})

    def _ensure_route_service(self, route: Obj) -> None:
        """The placeholder ExternalName Service `<route>` (`route/resources/service.go`)
        pointing at the cluster-local gateway, so `<name>.<ns>.svc.cluster.local` resolves."""
        meta = route["metadata"]
        if self.store.get("v1", "Service", meta["name"], meta["namespace"]) is not None:
            return
        gateway = self._kourier_namespace() or SERVING_SYSTEM
        self.store.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "labels": {"serving.knative.dev/route": meta["name"]},
                    "annotations": {"serving.knative.dev/creator": USER},
                    "ownerReferences": [owner_reference(route)],
                },
                "spec": {
                    "type": "ExternalName",
                    "externalName": f"kourier-internal.{gateway}.svc.cluster.local",
                    "sessionAffinity": "None",
                    "ports": [{"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80}],
                },
            }
        )

    def _mark_routed(self, namespace: str, revision_name: str, route_name: str) -> None:
        for revision in self.store.list(
            SERVING_API,
            "Revision",
            namespace,
            labels={"serving.knative.dev/configuration": route_name},
        ):
            labels = revision["metadata"].setdefault("labels", {})
            state = "active" if revision["metadata"]["name"] == revision_name else "reserve"
            if labels.get("serving.knative.dev/routingState") != state:
                labels["serving.knative.dev/routingState"] = state
                revision["metadata"]["annotations"]["serving.knative.dev/routingStateModified"] = (
                    now_iso()
                )
                if state == "reserve":
                    revision["metadata"]["annotations"].pop("serving.knative.dev/routes", None)
                self.store.update(revision)

    def _ensure_kingress(
        self,
        service: Obj,
        route: Obj,
        revision: str,
        host: str,
        local_host: str,
        cluster_local: bool,
        network: dict[str, str],
    ) -> None:
        meta = route["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        split = {
            "serviceName": revision,
            "serviceNamespace": namespace,
            "servicePort": 80,
            "percent": 100,
            "appendHeaders": {
                "Knative-Serving-Namespace": namespace,
                "Knative-Serving-Revision": revision,
            },
        }
        local_hosts = [f"{name}.{namespace}", f"{name}.{namespace}.svc", local_host]
        rules = [
            {
                "hosts": local_hosts,
                "visibility": "ClusterLocal",
                "http": {"paths": [{"splits": [split]}]},
            }
        ]
        if not cluster_local:
            rules.append(
                {
                    "hosts": [host],
                    "visibility": "ExternalIP",
                    "http": {"paths": [{"splits": [split]}]},
                }
            )
        rollout = {
            "configurations": [
                {
                    "configurationName": name,
                    "percent": 100,
                    "revisions": [{"revisionName": revision, "percent": 100}],
                    "stepParams": {},
                }
            ]
        }
        spec = {"httpOption": "Enabled", "rules": rules}
        live = self.store.get(NETWORKING_API, "Ingress", name, namespace)
        if live is None:
            self.store.create(
                {
                    "apiVersion": NETWORKING_API,
                    "kind": "Ingress",
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "annotations": {
                            "networking.internal.knative.dev/rollout": json.dumps(
                                rollout, separators=(",", ":")
                            ),
                            CLASS_ANNOTATION: ingress_class(network),
                            "serving.knative.dev/creator": USER,
                            "serving.knative.dev/lastModifier": USER,
                        },
                        "labels": {
                            "serving.knative.dev/route": name,
                            "serving.knative.dev/routeNamespace": namespace,
                            "serving.knative.dev/service": name,
                        },
                        "finalizers": ["ingresses.networking.internal.knative.dev"],
                        "ownerReferences": [owner_reference(route)],
                    },
                    "spec": spec,
                }
            )
        elif live["spec"] != spec:
            live["spec"] = spec
            live["metadata"]["annotations"]["networking.internal.knative.dev/rollout"] = json.dumps(
                rollout, separators=(",", ":")
            )
            self.store.update(live)
        elif live["metadata"]["annotations"].get(CLASS_ANNOTATION) != ingress_class(network):
            # route reconcileIngress updates annotations too: a changed config-network class
            # hands the KIngress to another ingress.
            live["metadata"]["annotations"][CLASS_ANNOTATION] = ingress_class(network)
            self.store.update(live)

    def _reconcile_kingress(self, ingress: Obj) -> None:
        """net-kourier: Ready once the gateway serves the new config; KIngresses of another
        class are no business of Kourier's (nobody reconciles them here)."""
        annotations = ingress["metadata"].get("annotations") or {}
        if annotations.get(CLASS_ANNOTATION) != KOURIER_CLASS:
            return
        status = copy.deepcopy(ingress.get("status") or {})
        conditions = list(status.get("conditions") or [])
        status["observedGeneration"] = ingress["metadata"].get("generation", 1)
        gateway = self._kourier_namespace()
        conditions = set_condition(conditions, "NetworkConfigured", "True")
        if gateway is None:
            conditions = set_condition(
                conditions,
                "LoadBalancerReady",
                "Unknown",
                "Uninitialized",
                "Waiting for load balancer to be ready",
            )
            conditions = set_condition(
                conditions,
                "Ready",
                "Unknown",
                "Uninitialized",
                "Waiting for load balancer to be ready",
            )
        elif not get_condition(ingress, "NetworkConfigured"):
            # The first pass only programs Envoy; the load balancer is probed afterwards.
            conditions = set_condition(
                conditions,
                "LoadBalancerReady",
                "Unknown",
                "Uninitialized",
                "Waiting for load balancer to be ready",
            )
            conditions = set_condition(
                conditions,
                "Ready",
                "Unknown",
                "Uninitialized",
                "Waiting for load balancer to be ready",
            )
        else:
            conditions = set_condition(conditions, "LoadBalancerReady", "True")
            conditions = set_condition(conditions, "Ready", "True")
            status["privateLoadBalancer"] = {
                "ingress": [{"domainInternal": f"kourier-internal.{gateway}.svc.cluster.local"}]
            }
            status["publicLoadBalancer"] = {
                "ingress": [{"domainInternal": f"kourier.{gateway}.svc.cluster.local"}]
            }
        status["conditions"] = conditions
        write_status_if_changed(self.store, ingress, status)

    def _kourier_namespace(self) -> str | None:
        """The gateway's namespace once net-kourier-controller and the gateway are Available."""
        names = {}
        for deploy in self.store.list("apps/v1", "Deployment"):
            if deploy["metadata"]["name"] in ("net-kourier-controller", "3scale-kourier-gateway"):
                names[deploy["metadata"]["name"]] = deploy
        gateway = names.get("3scale-kourier-gateway")
        if not (
            is_true(names.get("net-kourier-controller"), "Available")
            and is_true(gateway, "Available")
        ):
            return None
        return gateway["metadata"]["namespace"]

    # --- Configuration -> Revision -> Deployment, PodAutoscaler -------------------------------

    def _reconcile_configurations(self) -> None:
        self.each(self.store.list(SERVING_API, "Configuration"), self._reconcile_configuration)

    def _reconcile_configuration(self, configuration: Obj) -> None:
        meta = configuration["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        generation = meta.get("generation", 1)
        template = configuration["spec"]["template"]
        revision_name = (template.get("metadata") or {}).get("name") or (f"{name}-{generation:05d}")
        revision = self.store.get(SERVING_API, "Revision", revision_name, namespace)
        if revision is None:
            revision = self._create_revision(configuration, revision_name)
        status = copy.deepcopy(configuration.get("status") or {})
        conditions = list(status.get("conditions") or [])
        status["observedGeneration"] = generation
        status["latestCreatedRevisionName"] = revision_name
        ready = get_condition(revision, "Ready")
        if ready and ready["status"] == "True":
            if status.get("latestReadyRevisionName") != revision_name:
                emit_event(
                    self.store,
                    configuration,
                    "LatestReadyUpdate",
                    f'LatestReadyRevisionName updated to "{revision_name}"',
                    "configuration-controller",
                )
            status["latestReadyRevisionName"] = revision_name
            conditions = set_condition(conditions, "Ready", "True")
        elif ready and ready["status"] == "False":
            conditions = set_condition(
                conditions,
                "Ready",
                "False",
                "RevisionFailed",
                f'Revision "{revision_name}" failed with message: {ready.get("message", "")}.',
            )
        else:
            conditions = set_condition(conditions, "Ready", "Unknown")
        status["conditions"] = conditions
        write_status_if_changed(self.store, configuration, status)

    def _create_revision(self, configuration: Obj, revision_name: str) -> Obj:
        meta = configuration["metadata"]
        template = configuration["spec"]["template"]
        template_meta = template.get("metadata") or {}
        service_name = meta["labels"].get("serving.knative.dev/service", "")
        labels = {
            **(template_meta.get("labels") or {}),
            "serving.knative.dev/configuration": meta["name"],
            "serving.knative.dev/configurationGeneration": str(meta.get("generation", 1)),
            "serving.knative.dev/configurationUID": meta["uid"],
            "serving.knative.dev/routingState": "pending",
        }
        if service_name:
            labels["serving.knative.dev/service"] = service_name
            labels["serving.knative.dev/serviceUID"] = meta["labels"].get(
                "serving.knative.dev/serviceUID", ""
            )
        annotations = {
            **(template_meta.get("annotations") or {}),
            "serving.knative.dev/creator": meta["annotations"].get(
                "serving.knative.dev/lastModifier", USER
            ),
            "serving.knative.dev/routes": meta["name"],
            "serving.knative.dev/routingStateModified": now_iso(),
        }
        revision = self.store.create(
            {
                "apiVersion": SERVING_API,
                "kind": "Revision",
                "metadata": {
                    "name": revision_name,
                    "namespace": meta["namespace"],
                    "labels": labels,
                    "annotations": annotations,
                    "ownerReferences": [owner_reference(configuration)],
                },
                "spec": copy.deepcopy(template["spec"]),
            }
        )
        emit_event(
            self.store,
            configuration,
            "Created",
            f'Created Revision "{revision_name}"',
            "configuration-controller",
        )
        return revision

    def _reconcile_revision(self, revision: Obj, config: dict) -> None:
        meta = revision["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        key = (namespace, name)
        deployment = self.store.get("apps/v1", "Deployment", f"{name}-deployment", namespace)
        with self._lock:
            if self._revision_uids.get(key) != meta["uid"]:
                self._revision_uids[key] = meta["uid"]
                for history in (self._inactive_since, self._proxy_since, self._active_since):
                    history.pop(key, None)
                self._last_request[key] = time.monotonic()
            self._last_request.setdefault(key, time.monotonic())
            if self._in_flight.get(key):
                self._last_request[key] = time.monotonic()
            self._proxy_since.setdefault(key, time.monotonic())
            last_request = self._last_request[key]
            idle = time.monotonic() - last_request
            activating = key in self._activating
        current = (deployment or {}).get("spec", {}).get("replicas", 1)
        if ((deployment or {}).get("status") or {}).get("readyReplicas"):
            self._active_since.setdefault(key, time.monotonic())
        desired = self._desired_scale(key, revision, config, idle, activating, current)
        inactive = key in self._inactive_since
        if deployment is None:
            self._create_revision_deployment(revision, config, desired)
        elif current != desired:
            self._scale(key, deployment, desired, last_request)
        self._ensure_pod_autoscaler(revision, desired, deployment, inactive)
        self._ensure_revision_services(revision)
        ready_pods = ((deployment or {}).get("status") or {}).get("readyReplicas", 0)
        status = copy.deepcopy(revision.get("status") or {})
        conditions = list(status.get("conditions") or [])
        status["observedGeneration"] = meta.get("generation", 1)
        status["containerStatuses"] = [
            {"name": c.get("name", "user-container"), "imageDigest": _resolved_image(c["image"])}
            for c in revision["spec"].get("containers") or []
            if c.get("image")
        ]
        status["actualReplicas"] = ready_pods
        status["desiredReplicas"] = desired
        ever_ready = is_true(revision, "Ready")
        # revision_lifecycle.go PropagateAutoscalerStatus: Active follows the PA's Ready, so an
        # inactive PA makes the revision Active=False even while its last pod still runs.
        if ready_pods and desired and not inactive:
            conditions = set_condition(conditions, "ResourcesAvailable", "True")
            conditions = set_condition(conditions, "ContainerHealthy", "True")
            conditions = set_condition(conditions, "Active", "True", severity="Info")
            conditions = set_condition(conditions, "Ready", "True")
        elif ever_ready and inactive:
            conditions = set_condition(
                conditions,
                "Active",
                "False",
                "NoTraffic",
                "The target is not receiving traffic.",
                "Info",
            )
        elif ever_ready:
            conditions = set_condition(
                conditions,
                "Active",
                "Unknown",
                "Queued",
                "Requests to the target are being buffered as resources are provisioned.",
                "Info",
            )
        elif self._pod_failure(namespace, name):
            reason, message = self._pod_failure(namespace, name)
            conditions = set_condition(conditions, "ResourcesAvailable", "False", reason, message)
            conditions = set_condition(conditions, "Ready", "False", reason, message)
        else:
            conditions = set_condition(conditions, "ResourcesAvailable", "Unknown", "Deploying")
            conditions = set_condition(conditions, "ContainerHealthy", "Unknown", "Deploying")
            conditions = set_condition(
                conditions, "Active", "Unknown", "Deploying", severity="Info"
            )
            conditions = set_condition(conditions, "Ready", "Unknown", "Deploying")
        status["conditions"] = conditions
        write_status_if_changed(self.store, revision, status)

    def _pod_failure(self, namespace: str, revision: str) -> tuple[str, str] | None:
        """A waiting container's reason and message, as `revision/reconcile_resources.go`
        surfaces image pull failures on the revision."""
        for pod in self.store.list(
            "v1", "Pod", namespace, labels={"serving.knative.dev/revision": revision}
        ):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") in (
                    "ImagePullBackOff",
                    "ErrImagePull",
                    "CrashLoopBackOff",
                ):
                    return waiting["reason"], waiting.get("message", "")
        return None

    def _ensure_revision_services(self, revision: Obj) -> None:
        """`<rev>` (endpoints managed by the SKS) and `<rev>-private` (selects the pods)."""
        meta = revision["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        labels = {
            k: v for k, v in meta["labels"].items() if k != "serving.knative.dev/routingState"
        }
        labels |= {
            "serving.knative.dev/revision": name,
            "serving.knative.dev/revisionUID": meta["uid"],
            "app": name,
            "networking.internal.knative.dev/serverlessservice": name,
        }
        ports = [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8012},
            {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8112},
        ]
        for service_name, selector, service_type in (
            (name, None, "public"),
            (f"{name}-private", {"serving.knative.dev/revisionUID": meta["uid"]}, "private"),
        ):
            if self.store.get("v1", "Service", service_name, namespace) is not None:
                continue
            spec: Obj = {"ports": ports}
            if selector:
                spec["selector"] = selector
            self.store.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": service_name,
                        "namespace": namespace,
                        "labels": {
                            **labels,
                            "networking.internal.knative.dev/serviceType": service_type.capitalize(),
                        },
                        "ownerReferences": [owner_reference(revision)],
                    },
                    "spec": spec,
                }
            )

    def _desired_scale(
        self,
        key: tuple[str, str],
        revision: Obj,
        config: dict,
        idle: float,
        activating: bool,
        current: int,
    ) -> int:
        """The KPA's decision in stages (kpa/scaler.go handleScaleToZero): a stable window
        without requests marks the PA inactive (the pod stays); once it has been inactive for the
        3 s re-check and any scale-to-zero-pod-retention-period, and the activator has been in
        the path for the grace period, the Deployment goes to 0. Scale to zero off, min-scale or
        fault no-scale-down keep the pod."""
        if activating:
            self._inactive_since.pop(key, None)
            return max(current, 1)
        settings = {**AUTOSCALER_DEFAULTS, **config["autoscaler"]}
        annotations = revision["metadata"].get("annotations") or {}
        min_scale = int(annotations.get(MIN_SCALE_ANNOTATION, settings["min-scale"]))
        if (
            faults.NO_SCALE_DOWN in self.sim.faults
            or min_scale > 0
            or settings["enable-scale-to-zero"] != "true"
        ):
            self._inactive_since.pop(key, None)
            return max(current, min_scale, 1)
        scaled = self.sim.clock.scaled
        window = parse_duration(annotations.get(WINDOW_ANNOTATION) or settings["stable-window"])
        if idle < scaled(window):
            self._inactive_since.pop(key, None)
            return current
        now = time.monotonic()
        if key not in self._inactive_since:
            active_since = self._active_since.get(key)
            if current and active_since is not None and now - active_since >= scaled(window):
                self._inactive_since[key] = now
                del self._active_since[key]
            return current
        inactive_for = now - self._inactive_since[key]
        proxy_for = now - self._proxy_since[key]
        grace = scaled(parse_duration(settings["scale-to-zero-grace-period"]))
        retention = scaled(parse_duration(settings["scale-to-zero-pod-retention-period"]))
        if (
            inactive_for >= max(scaled(DEACTIVATION_RECHECK_SECONDS), retention)
            and max(inactive_for, proxy_for) >= grace
        ):
            return 0
        return current

    def _scale(
        self, key: tuple[str, str], deployment: Obj, desired: int, last_request: float
    ) -> None:
        """Write the revision Deployment's replicas. Scaling to zero is decided again and
        written under the lock the activator takes: a request that came in since the decision
        keeps the pod (the KPA counts the activator's requests), and no request is handed a pod
        that is being scaled away (the activator drops it from its endpoints at once)."""
        with self._lock:
            if desired == 0 and (
                self._in_flight.get(key)
                or key in self._activating
                or self._last_request.get(key) != last_request
            ):
                return
            deployment["spec"]["replicas"] = desired
            self.store.update(deployment)

    def _create_revision_deployment(self, revision: Obj, config: dict, replicas: int) -> None:
        meta = revision["metadata"]
        name = meta["name"]
        pod_labels = {
            key: value
            for key, value in meta["labels"].items()
            if key not in ("serving.knative.dev/routingState", "serving.knative.dev/route")
        }
        pod_labels.update(
            {
                "serving.knative.dev/revision": name,
                "serving.knative.dev/revisionUID": meta["uid"],
                "app": name,
            }
        )
        pod_annotations = {
            key: value
            for key, value in (meta.get("annotations") or {}).items()
            if key not in ("serving.knative.dev/routes", "serving.knative.dev/routingStateModified")
        }
        spec = revision["spec"]
        containers = []
        for container in spec.get("containers") or []:
            user = copy.deepcopy(container)
            user["image"] = _resolved_image(container["image"])
            user.setdefault(
                "ports", [{"name": "user-port", "containerPort": USER_PORT, "protocol": "TCP"}]
            )
            user["env"] = [
                *user.get("env", []),
                {"name": "PORT", "value": str(USER_PORT)},
                {"name": "K_REVISION", "value": name},
                {
                    "name": "K_CONFIGURATION",
                    "value": meta["labels"]["serving.knative.dev/configuration"],
                },
                {
                    "name": "K_SERVICE",
                    "value": meta["labels"].get("serving.knative.dev/service", ""),
                },
            ]
            user.pop("readinessProbe", None)
            user["terminationMessagePolicy"] = "FallbackToLogsOnError"
            # deploy.go: the user container waits for queue-proxy's drain before it stops.
            user["lifecycle"] = {"preStop": {"httpGet": {"path": "/wait-for-drain", "port": 8022}}}
            containers.append(user)
        queue_image = config["deployment"].get(
            "queue-sidecar-image", "gcr.io/knative-releases/knative.dev/serving/cmd/queue"
        )
        containers.append(
            {
                "name": "queue-proxy",
                "image": queue_image,
                "ports": [
                    {"name": "http-queueadm", "containerPort": 8022},
                    {"name": "http-autometric", "containerPort": 9090},
                    {"name": "http-usermetric", "containerPort": 9091},
                    {"name": "queue-port", "containerPort": 8012},
                ],
                "readinessProbe": {
                    "httpGet": {
                        "path": "/",
                        "port": 8012,
                        "httpHeaders": [{"name": "K-Network-Probe", "value": "queue"}],
                    }
                },
                "env": [
                    {"name": "SERVING_REVISION", "value": name},
                    {"name": "USER_PORT", "value": str(USER_PORT)},
                ],
            }
        )
        self.store.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": f"{name}-deployment",
                    "namespace": meta["namespace"],
                    "labels": dict(pod_labels),
                    "annotations": dict(pod_annotations),
                    "ownerReferences": [owner_reference(revision)],
                },
                "spec": {
                    "replicas": replicas,
                    "progressDeadlineSeconds": 600,
                    "selector": {"matchLabels": {"serving.knative.dev/revisionUID": meta["uid"]}},
                    "strategy": {
                        "type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                    },
                    "template": {
                        "metadata": {"labels": pod_labels, "annotations": pod_annotations},
                        "spec": {
                            "containers": containers,
                            "enableServiceLinks": spec.get("enableServiceLinks", False),
                            "terminationGracePeriodSeconds": spec.get("timeoutSeconds", 300),
                            "automountServiceAccountToken": False,
                        },
                    },
                },
            }
        )

    def _ensure_pod_autoscaler(
        self, revision: Obj, desired: int, deployment: Obj | None, inactive: bool
    ) -> None:
        meta = revision["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        actual = ((deployment or {}).get("status") or {}).get("readyReplicas", 0)
        pa = self.store.get(AUTOSCALING_API, "PodAutoscaler", name, namespace)
        if pa is None:
            pa = self.store.create(
                {
                    "apiVersion": AUTOSCALING_API,
                    "kind": "PodAutoscaler",
                    "metadata": {
                        "name": name,
                        "namespace": namespace,
                        "labels": {
                            k: v
                            for k, v in meta["labels"].items()
                            if k != "serving.knative.dev/routingState"
                        }
                        | {
                            "serving.knative.dev/revision": name,
                            "serving.knative.dev/revisionUID": meta["uid"],
                            "app": name,
                        },
                        "annotations": {
                            "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
                            "autoscaling.knative.dev/metric": "concurrency",
                        },
                        "ownerReferences": [owner_reference(revision)],
                    },
                    "spec": {
                        "protocolType": "http1",
                        "reachability": "Reachable",
                        "scaleTargetRef": {
                            "apiVersion": "apps/v1",
                            "kind": "Deployment",
                            "name": f"{name}-deployment",
                        },
                    },
                }
            )
        conditions = list((pa.get("status") or {}).get("conditions") or [])
        # podautoscaler_lifecycle.go: Ready is the conjunction of Active, ScaleTargetInitialized
        # and SKSReady, so it is False NoTraffic while the PA is inactive (at zero too).
        if inactive:
            active = ("False", "NoTraffic", "The target is not receiving traffic.")
        elif actual:
            active = ("True", None, None)
        else:
            active = (
                "Unknown",
                "Queued",
                "Requests to the target are being buffered as resources are provisioned.",
            )
        conditions = set_condition(conditions, "Active", *active)
        conditions = set_condition(conditions, "Ready", *active)
        if actual:
            conditions = set_condition(conditions, "ScaleTargetInitialized", "True")
        conditions = set_condition(conditions, "SKSReady", "True")
        write_status_if_changed(
            self.store,
            pa,
            {
                "actualScale": actual,
                "desiredScale": desired,
                "conditions": conditions,
                "observedGeneration": pa["metadata"].get("generation", 1),
                "serviceName": name,
                "metricsServiceName": f"{name}-private",
            },
        )
