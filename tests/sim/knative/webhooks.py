"""The Knative admission webhooks (Serving, Eventing, Operator) as store admissions.

Each component registers its webhooks through `store.add_admission(group, kind, admit)` when
it starts. A webhook answers only while its Deployment is Available, as the API server reaches
it through its Service:

- no webhook Deployment at all (the component is not installed): nothing is called;
- the Deployment exists but is not Available: the request fails as kube-apiserver reports an
  unreachable webhook with `failurePolicy: Fail` (k8s.io/apiserver
  `pkg/admission/plugin/webhook/errors`, HTTP 500 `Internal error occurred: failed calling
  webhook "<name>": failed to call webhook: Post "https://<svc>.<ns>.svc:443/<path>?timeout=10s":
  dial tcp <clusterIP>:443: connect: connection refused`); the mutating webhook is called
  first, so its name is the one reported;
- Available: defaulting, then validation; a refusal is HTTP 400 `admission webhook "<name>"
  denied the request: <message>` (`ToStatusErr`), the knative/pkg webhook prefixing
  "validation failed: " (resourcesemantics/validation) to the apis.FieldError text.

Admissions never read the store (the store may call them under its lock): Deployment and
Service state comes from a store subscription.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.sim import store as store_module
from tests.sim.store import Invalid, StoreError

Obj = dict[str, Any]
log = logging.getLogger(__name__)

USER = "kubernetes-admin"  # the kind admin, as the webhook's user info records it
CREATOR = "serving.knative.dev/creator"
LAST_MODIFIER = "serving.knative.dev/lastModifier"
WINDOW_ANNOTATION = "autoscaling.knative.dev/window"
DEFAULT_SCHEDULE = "* * * * *"  # eventing pkg/apis/sources/v1/ping_defaults.go


class _FallbackDenied(store_module.BadRequest):
    """Stands in for store.Denied until the store provides it (same HTTP answer)."""


Denied = getattr(store_module, "Denied", _FallbackDenied)


def parse_duration(text: str) -> float:
    """Go `time.ParseDuration` ("60s", "1m30s", "6s", "500ms"); ValueError when invalid."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    text = text.strip()
    if text == "0":
        return 0.0
    match = re.fullmatch(r"[+-]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+", text)
    if not match:
        raise ValueError(f'time: invalid duration "{text}"')
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
    total = sum(float(number) * units[unit] for number, unit in parts)
    return -total if text.startswith("-") else total


# --- Serving defaults (serving@release-1.11 pkg/apis/serving/v1/*_defaults.go) --------------


def default_template_spec(spec: Obj) -> Obj:
    """RevisionSpec.SetDefaults: containerConcurrency 0, timeoutSeconds 300,
    enableServiceLinks false, container name user-container, readinessProbe tcpSocket port 0
    successThreshold 1 on the serving container, resources {}."""
    spec = copy.deepcopy(spec or {})
    spec.setdefault("containerConcurrency", 0)
    spec.setdefault("timeoutSeconds", 300)
    spec.setdefault("enableServiceLinks", False)
    containers = spec.setdefault("containers", [{}])
    for index, container in enumerate(containers):
        if len(containers) == 1 or index == 0:
            container.setdefault("name", "user-container")
        container.setdefault("resources", {})
        if index == 0:
            container.setdefault(
                "readinessProbe", {"successThreshold": 1, "tcpSocket": {"port": 0}}
            )
    return spec


def default_service(obj: Obj, old: Obj | None) -> None:
    """Service.SetDefaults in place: the template spec, the traffic default
    (RouteSpec.SetDefaults: [{latestRevision: true, percent: 100}]) and the user info
    (`pkg/apis/serving/metadata_validation.go` SetUserInfo: creator and lastModifier on
    create, lastModifier when the spec changes)."""
    spec = obj.setdefault("spec", {})
    template = spec.setdefault("template", {})
    template["spec"] = default_template_spec(template.get("spec") or {})
    if not spec.get("traffic"):
        spec["traffic"] = [{"latestRevision": True, "percent": 100}]
    annotations = obj.setdefault("metadata", {}).setdefault("annotations", {})
    if old is None:
        annotations[CREATOR] = USER
        annotations[LAST_MODIFIER] = USER
    elif (old.get("spec") or {}) != spec:
        annotations[LAST_MODIFIER] = USER


# --- Serving validation (service_validation.go, revision_validation.go, k8s_validation.go,
# pkg/apis/autoscaling/annotation_validation.go) ---------------------------------------------


def validate_service(obj: Obj, old: Obj | None) -> list[str]:
    """apis.FieldError texts (empty when valid)."""
    errors = []
    template = (obj.get("spec") or {}).get("template") or {}
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        errors.append("missing field(s): spec.template.spec.containers")
    missing = [
        f"spec.template.spec.containers[{index}].image"
        for index, container in enumerate(containers)
        if not container.get("image")
    ]
    if missing:
        errors.append(f"missing field(s): {', '.join(missing)}")
    window = ((template.get("metadata") or {}).get("annotations") or {}).get(WINDOW_ANNOTATION)
    path = f"spec.template.metadata.annotations.{WINDOW_ANNOTATION}"
    if window is not None:
        # validateWindow: ErrInvalidValue / ErrOutOfBoundsValue(v, WindowMin 6s, WindowMax 1h).
        try:
            seconds = parse_duration(str(window))
        except ValueError:
            errors.append(f"invalid value: {window}: {path}")
        else:
            if seconds < 6 or seconds > 3600:
                errors.append(f"expected 6s <= {window} <= 1h0m0s: {path}")
            elif seconds != int(seconds):
                errors.append(f"must be specified with at most second precision: {path}")
    if old is not None:
        # ValidateCreatorAndModifier: the creator annotation is immutable.
        before = ((old.get("metadata") or {}).get("annotations") or {}).get(CREATOR)
        after = ((obj.get("metadata") or {}).get("annotations") or {}).get(CREATOR)
        if before != after:
            errors.append(f"annotation value is immutable: metadata.annotations.{CREATOR}")
    return errors


def secure_defaults_warning(obj: Obj) -> list[str]:
    """k8s_validation.go warnDefaultContainerSecurityContext: with secure-pod-defaults off,
    every unset securityContext field Knative may default later, as one warning."""
    template_spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    pod_context = template_spec.get("securityContext") or {}
    fields = []
    for index, container in enumerate(template_spec.get("containers") or []):
        context = container.get("securityContext") or {}
        prefix = f"spec.template.spec.containers[{index}].securityContext"
        if context.get("allowPrivilegeEscalation") is None:
            fields.append(f"{prefix}.allowPrivilegeEscalation")
        if context.get("capabilities") is None:
            fields.append(f"{prefix}.capabilities")
        if context.get("runAsNonRoot") is None and pod_context.get("runAsNonRoot") is None:
            fields.append(f"{prefix}.runAsNonRoot")
        if context.get("seccompProfile") is None and pod_context.get("seccompProfile") is None:
            fields.append(f"{prefix}.seccompProfile")
    if not fields:
        return []
    return [
        "Kubernetes default value is insecure, Knative may default this to secure in a future "
        f"release: {', '.join(fields)}"
    ]


# --- Eventing PingSource (eventing@release-1.11 pkg/apis/sources/v1/ping_*.go) -------------

_CRON_FIELDS = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (
        1,
        12,
        {
            m: i + 1
            for i, m in enumerate(
                ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            )
        },
    ),
    (0, 6, {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}),
)
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def _go_atoi(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError(
            f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'
        )
    return int(text)


def _cron_value(text: str, names: dict[str, int]) -> int:
    return names[text.lower()] if text.lower() in names else _go_atoi(text)


def _cron_field(field: str, low: int, high: int, names: dict[str, int]) -> None:
    """robfig/cron/v3 parser.go getRange, error texts included."""
    for expr in field.split(","):
        range_and_step = expr.split("/")
        low_and_high = range_and_step[0].split("-")
        if low_and_high[0] in ("*", "?"):
            start, end = low, high
            if len(low_and_high) > 1:
                raise ValueError(f"too many hyphens: {expr}")
        else:
            start = _cron_value(low_and_high[0], names)
            if len(low_and_high) == 1:
                end = start
            elif len(low_and_high) == 2:
                end = _cron_value(low_and_high[1], names)
            else:
                raise ValueError(f"too many hyphens: {expr}")
        if len(range_and_step) == 2:
            step = _go_atoi(range_and_step[1])
            if step <= 0:
                raise ValueError(f"step of range should be a positive number: {expr}")
        elif len(range_and_step) > 2:
            raise ValueError(f"too many slashes: {expr}")
        if start < low:
            raise ValueError(f"beginning of range ({start}) below minimum ({low}): {expr}")
        if end > high:
            raise ValueError(f"end of range ({end}) above maximum ({high}): {expr}")
        if start > end:
            raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")


def cron_error(schedule: str) -> str | None:
    """robfig/cron/v3 ParseStandard's error text for `schedule`, None when it parses."""
    spec = schedule
    if spec.startswith(("TZ=", "CRON_TZ=")):
        spec = spec.split(" ", 1)[1] if " " in spec else ""
    if not spec:
        return "empty spec string"
    if spec.startswith("@"):
        if spec in _DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            try:
                parse_duration(spec.removeprefix("@every "))
            except ValueError:
                return f"failed to parse duration {spec}: time: invalid duration " + (
                    f'"{spec.removeprefix("@every ")}"'
                )
            return None
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    for field, (low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        try:
            _cron_field(field, low, high, names)
        except ValueError as error:
            return str(error)
    return None


def default_ping_source(obj: Obj) -> None:
    """PingSourceSpec.SetDefaults: an empty schedule becomes "* * * * *"."""
    spec = obj.setdefault("spec", {})
    if not spec.get("schedule"):
        spec["schedule"] = DEFAULT_SCHEDULE


def validate_ping_source(obj: Obj) -> list[str]:
    spec = obj.get("spec") or {}
    errors = []
    schedule = str(spec.get("schedule", ""))
    if spec.get("timezone"):
        schedule = f"CRON_TZ={spec['timezone']} {schedule}"
        try:
            ZoneInfo(spec["timezone"])
        except (ValueError, KeyError, OSError, ZoneInfoNotFoundError):
            errors.append(
                f"invalid value: provided bad location {spec['timezone']}: unknown time zone "
                f"{spec['timezone']}: spec.timezone"
            )
    problem = cron_error(schedule)
    if problem and not errors:
        errors.append(f"invalid value: {problem}: spec.schedule")
    # duckv1.Destination.Validate via field "sink".
    sink = spec.get("sink") or {}
    ref, uri = sink.get("ref"), sink.get("uri")
    if not ref and not uri:
        errors.append("expected at least one, got none: spec.sink.ref, spec.sink.uri")
    elif ref:
        missing = [
            f"spec.sink.ref.{key}" for key in ("apiVersion", "kind", "name") if not ref.get(key)
        ]
        if missing:
            errors.append(f"missing field(s): {', '.join(missing)}")
    if spec.get("data") and spec.get("dataBase64"):
        errors.append("expected exactly one, got both: spec.data, spec.dataBase64")
    return errors


# --- Operator (operator@release-1.11 pkg/apis/operator/base, v1beta1 types) ---------------

_OPERATOR_TYPES = (
    ("spec.version", ("version",), "string"),
    ("spec.config", ("config",), "object"),
    ("spec.ingress", ("ingress",), "object"),
    ("spec.source", ("source",), "object"),
    ("spec.manifests", ("manifests",), "array"),
    ("spec.additionalManifests", ("additionalManifests",), "array"),
)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def operator_type_errors(obj: Obj) -> list[str]:
    """Field type errors in the apiextensions structural-schema wording (the CRD schema of
    operator.knative.dev refuses these before any webhook decodes the object)."""
    spec = obj.get("spec") or {}
    errors = []
    for path, keys, wanted in _OPERATOR_TYPES:
        value = spec
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        actual = _json_type(value)
        if actual != wanted:
            errors.append(
                f'{path}: Invalid value: "{actual}": {path} in body must be of type {wanted}: '
                f'"{actual}"'
            )
    config = spec.get("config")
    if isinstance(config, dict):
        for name, data in config.items():
            if not isinstance(data, dict):
                actual = _json_type(data)
                errors.append(
                    f'spec.config.{name}: Invalid value: "{actual}": spec.config.{name} in body '
                    f'must be of type object: "{actual}"'
                )
                continue
            for key, value in data.items():
                if not isinstance(value, str):
                    actual = _json_type(value)
                    errors.append(
                        f'spec.config.{name}.{key}: Invalid value: "{actual}": '
                        f'spec.config.{name}.{key} in body must be of type string: "{actual}"'
                    )
    return errors


# --- Reaching the webhook -----------------------------------------------------------------


class WebhookEndpoint:
    """Tracks one webhook Deployment and its Service through store events."""

    def __init__(
        self,
        store: Any,
        deployment: str,
        mutating_name: str,
        service: str,
        part_of: str | None = None,
    ) -> None:
        self.deployment = deployment
        self.mutating_name = mutating_name
        self.service = service
        self.part_of = part_of
        self.registered = False  # whether the store took the admission
        self._lock = threading.Lock()
        self._deployments: dict[tuple[str, str], bool] = {}
        self._cluster_ips: dict[tuple[str, str], str] = {}
        self.unsubscribe = store.subscribe(self._on_event)
        for deploy in store.list("apps/v1", "Deployment"):
            self._on_event("ADDED", deploy)
        for svc in store.list("v1", "Service"):
            self._on_event("ADDED", svc)

    def _on_event(self, event_type: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or "", meta.get("name") or "")
        if obj.get("kind") == "Deployment" and key[1] == self.deployment:
            labels = meta.get("labels") or {}
            if self.part_of and labels.get("app.kubernetes.io/name") != self.part_of:
                return
            with self._lock:
                if event_type == "DELETED":
                    self._deployments.pop(key, None)
                else:
                    # Reachable = the Service has a ready endpoint: Available with a pod up
                    # (a Deployment scaled to 0 is Available but answers nothing).
                    status = obj.get("status") or {}
                    self._deployments[key] = status.get("availableReplicas", 0) >= 1 and any(
                        c.get("type") == "Available" and c.get("status") == "True"
                        for c in status.get("conditions") or []
                    )
        elif obj.get("kind") == "Service" and key[1] == self.service:
            with self._lock:
                if event_type == "DELETED":
                    self._cluster_ips.pop(key, None)
                else:
                    self._cluster_ips[key] = (obj.get("spec") or {}).get("clusterIP", "")

    def reachable(self) -> bool:
        """False when not installed; raises the API server's error when it is installed but
        does not answer; True when it answers."""
        with self._lock:
            deployments = dict(self._deployments)
            cluster_ips = dict(self._cluster_ips)
        if not deployments:
            return False
        if any(deployments.values()):
            return True
        namespace = sorted(deployments)[0][0]
        address = cluster_ips.get((namespace, self.service)) or "10.96.0.1"
        raise StoreError(
            f'Internal error occurred: failed calling webhook "{self.mutating_name}": failed to '
            f'call webhook: Post "https://{self.service}.{namespace}.svc:443/defaulting'
            f'?timeout=10s": dial tcp {address}:443: connect: connection refused'
        )


def _deny(webhook: str, errors: list[str], what: str = "validation failed") -> None:
    if errors:
        raise Denied(
            f'admission webhook "{webhook}" denied the request: {what}: ' + "\n".join(errors)
        )


def _register(store: Any, group: str, kind: str, admit: Callable) -> bool:
    add = getattr(store, "add_admission", None)
    if add is None:
        log.warning("store has no add_admission: %s/%s webhook not registered", group, kind)
        return False
    add(group, kind, admit)
    return True


def register_serving(store: Any) -> WebhookEndpoint:
    """serving `webhook` (knative-serving): webhook.serving.knative.dev (defaulting),
    validation.webhook.serving.knative.dev (validation) for serving.knative.dev Services."""
    endpoint = WebhookEndpoint(
        store, "webhook", "webhook.serving.knative.dev", "webhook", part_of="knative-serving"
    )

    def admit(operation: str, obj: Obj, old: Obj | None) -> list[str]:
        if not endpoint.reachable():
            return []
        default_service(obj, old if operation == "UPDATE" else None)
        _deny(
            "validation.webhook.serving.knative.dev",
            validate_service(obj, old if operation == "UPDATE" else None),
        )
        return secure_defaults_warning(obj)

    endpoint.registered = _register(store, "serving.knative.dev", "Service", admit)
    return endpoint


def register_eventing(store: Any) -> WebhookEndpoint:
    """`eventing-webhook` (knative-eventing): webhook.eventing.knative.dev,
    validation.webhook.eventing.knative.dev for sources.knative.dev PingSources."""
    endpoint = WebhookEndpoint(
        store, "eventing-webhook", "webhook.eventing.knative.dev", "eventing-webhook"
    )

    def admit(operation: str, obj: Obj, old: Obj | None) -> list[str]:
        if not endpoint.reachable():
            return []
        default_ping_source(obj)
        _deny("validation.webhook.eventing.knative.dev", validate_ping_source(obj))
        return []

    endpoint.registered = _register(store, "sources.knative.dev", "PingSource", admit)
    return endpoint


def register_operator(store: Any) -> WebhookEndpoint:
    """`operator-webhook`: webhook.operator.knative.dev for KnativeServing/KnativeEventing."""
    endpoint = WebhookEndpoint(
        store, "operator-webhook", "webhook.operator.knative.dev", "operator-webhook"
    )

    def make(kind: str) -> Callable:
        def admit(operation: str, obj: Obj, old: Obj | None) -> list[str]:
            if not endpoint.reachable():
                return []
            errors = operator_type_errors(obj)
            if errors:
                # The CRD's structural schema answers first (kube-apiserver validates the
                # schema before the validating webhooks are called).
                name = (obj.get("metadata") or {}).get("name", "")
                raise Invalid(
                    f'{kind}.operator.knative.dev "{name}" is invalid: '
                    + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
                )
            return []

        return admit

    for kind in ("KnativeServing", "KnativeEventing"):
        endpoint.registered = _register(store, "operator.knative.dev", kind, make(kind))
    return endpoint
