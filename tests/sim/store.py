"""The object store of the simulated API server: etcd plus the generic registry.

Follows k8s.io/apiserver `pkg/registry/generic/registry/store.go` (create/update/delete,
resourceVersion, generation), `pkg/storage/cacher/watch_cache.go` (bounded watch history,
"too old resource version"), k8s.io/apiextensions-apiserver `pkg/controller/establish`
and `pkg/controller/status` (CRD NamesAccepted/Established), and the garbage collector and
namespace controller of kubernetes/kubernetes `pkg/controller/{garbagecollector,namespace}`.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import queue
import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Errors: each carries what a metav1.Status needs (k8s.io/apimachinery pkg/api/errors/errors.go)


class StoreError(Exception):
    code = 500
    reason = "InternalError"

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(StoreError):
    code = 404
    reason = "NotFound"


class Conflict(StoreError):
    code = 409
    reason = "Conflict"


class AlreadyExists(Conflict):
    reason = "AlreadyExists"


class Invalid(StoreError):
    code = 422
    reason = "Invalid"


class BadRequest(StoreError):
    code = 400
    reason = "BadRequest"


class Forbidden(StoreError):
    code = 403
    reason = "Forbidden"


class Expired(StoreError):
    code = 410
    reason = "Expired"


class MethodNotAllowed(StoreError):
    code = 405
    reason = "MethodNotAllowed"


class Denied(StoreError):
    """An admission webhook refused the request (apiserver `admission/plugin/webhook/errors`
    ToStatusErr: 400 BadRequest, message `admission webhook "<name>" denied the request: ...`)."""

    code = 400
    reason = "BadRequest"


class ServerError(StoreError):
    """A plain Go error surfacing from the registry: ErrorToAPIStatus makes it a 500 whose
    reason is StatusReasonUnknown (empty)."""

    reason = ""


# (operation "CREATE" | "UPDATE", obj, old object or None) -> warnings. May default `obj` in
# place; raises Denied to refuse. Registered per (group, kind) with Store.add_admission.
Admit = Callable[[str, dict, "dict | None"], list[str]]


# ---------------------------------------------------------------------------------------------
# Resource types


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = False
    extra_subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    printer_columns: tuple[dict, ...] = ()
    storage_version: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(self) -> str:
        """How error messages name the resource: `deployments.apps`, `pods`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _builtin(
    api_version: str,
    kind: str,
    plural: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    status: bool = False,
    extra: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(
        group, version, kind, plural, kind.lower(), namespaced, short, status, extra, categories
    )


# The subset of `kubectl api-resources` of a kind v1.27 node that the recipes touch.
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin("v1", "Namespace", "namespaces", False, ("ns",), status=True),
    _builtin("v1", "Pod", "pods", short=("po",), status=True, extra=("log",), categories=("all",)),
    _builtin("v1", "Service", "services", short=("svc",), status=True, categories=("all",)),
    _builtin("v1", "ConfigMap", "configmaps", short=("cm",)),
    _builtin("v1", "Secret", "secrets"),
    _builtin("v1", "ServiceAccount", "serviceaccounts", short=("sa",)),
    _builtin("v1", "Event", "events", short=("ev",)),
    _builtin("v1", "Node", "nodes", False, ("no",), status=True),
    _builtin("v1", "Endpoints", "endpoints", short=("ep",)),
    _builtin("v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",), status=True),
    _builtin(
        "apps/v1", "Deployment", "deployments", short=("deploy",), status=True, categories=("all",)
    ),
    _builtin(
        "apps/v1", "StatefulSet", "statefulsets", short=("sts",), status=True, categories=("all",)
    ),
    _builtin(
        "apps/v1", "ReplicaSet", "replicasets", short=("rs",), status=True, categories=("all",)
    ),
    _builtin("apps/v1", "DaemonSet", "daemonsets", short=("ds",), status=True, categories=("all",)),
    _builtin("batch/v1", "Job", "jobs", status=True, categories=("all",)),
    _builtin("batch/v1", "CronJob", "cronjobs", short=("cj",), status=True, categories=("all",)),
    _builtin("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    _builtin("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _builtin("rbac.authorization.k8s.io/v1", "Role", "roles"),
    _builtin("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    _builtin(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        status=True,
    ),
    _builtin(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
    ),
    _builtin(
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
    ),
    _builtin(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short=("hpa",),
        status=True,
        categories=("all",),
    ),
    _builtin(
        "policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",), status=True
    ),
    _builtin("coordination.k8s.io/v1", "Lease", "leases"),
    _builtin("events.k8s.io/v1", "Event", "events", short=("ev",)),
    _builtin("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", short=("netpol",)),
    _builtin("networking.k8s.io/v1", "Ingress", "ingresses", short=("ing",), status=True),
    _builtin("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False, ("pc",)),
    _builtin("storage.k8s.io/v1", "StorageClass", "storageclasses", False, ("sc",)),
    _builtin("apiregistration.k8s.io/v1", "APIService", "apiservices", False, status=True),
)

CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Name validation (k8s.io/apimachinery pkg/util/validation/validation.go)

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex"
    f" used for validation is '{_DNS1123_SUBDOMAIN}')"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and"
    " must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex"
    f" used for validation is '{_DNS1123_LABEL}')"
)
# Groups whose names are only path segments (k8s.io/apimachinery ValidatePathSegmentName).
_PATH_SEGMENT_GROUPS = {"rbac.authorization.k8s.io"}


def name_problem(rtype: ResourceType, name: str) -> str | None:
    """The validation message for an unacceptable metadata.name, or None if it is fine."""
    if rtype.group in _PATH_SEGMENT_GROUPS:
        if name in (".", "..") or "/" in name or "%" in name:
            return "may not contain '/' or '%' and may not be '.' or '..'"
        return None
    if rtype.kind == "Namespace":
        if len(name) > 63:
            return "must be no more than 63 characters"
        return None if re.fullmatch(_DNS1123_LABEL, name) else _LABEL_MESSAGE
    if len(name) > 253:
        return "must be no more than 253 characters"
    return None if re.fullmatch(_DNS1123_SUBDOMAIN, name) else _SUBDOMAIN_MESSAGE


def invalid(rtype: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> Invalid:
    """An Invalid error like registry/rest's NewInvalid: causes are (field, reason, message)."""
    detail = ", ".join(f"{path}: {message}" for path, _, message in causes)
    if len(causes) > 1:
        detail = f"[{detail}]"
    return Invalid(
        f'{rtype.kind}.{rtype.group} "{name}" is invalid: {detail}'
        if rtype.group
        else f'{rtype.kind} "{name}" is invalid: {detail}',
        {
            "name": name,
            "group": rtype.group,
            "kind": rtype.kind,
            "causes": [
                {"reason": reason, "message": message, "field": path}
                for path, reason, message in causes
            ],
        },
    )


# ---------------------------------------------------------------------------------------------
# Merge keys shared by server-side apply and strategic merge patch (k8s.io/api core/v1 types.go
# `patchMergeKey` / `listMapKey` tags). Lists not named here are atomic.

_NAME_KEYED_LISTS = {
    "containers",
    "initContainers",
    "ephemeralContainers",
    "env",
    "volumes",
    "volumeMounts",
    "imagePullSecrets",
    "volumeDevices",
    "hostAliases",
}


def list_merge_key(field_name: str, items: list) -> str | None:
    """The key that identifies items of the list `field_name`, or None if the list is atomic."""
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    if field_name in _NAME_KEYED_LISTS:
        return "name"
    if field_name == "conditions":
        return "type"
    if field_name == "ownerReferences":
        return "uid"
    if field_name == "ports":
        return "containerPort" if "containerPort" in items[0] else "port"
    return None


# ---------------------------------------------------------------------------------------------
# Managed fields (structured-merge-diff fieldpath, encoded as fieldsV1 keys: "f:x", "k:{..}").

FieldPath = tuple[str, ...]
# Parts of an object no manager owns (apiserver `fieldmanager` strips these before tracking).
_UNMANAGED_METADATA = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generateName",
}


def _key_element(key_name: str, item: dict) -> str:
    return "k:" + json.dumps({key_name: item.get(key_name)}, separators=(",", ":"))


def leaf_paths(obj: dict, associative_lists: bool, with_status: bool = False) -> set[FieldPath]:
    """Every field path set in `obj` that a manager may own."""
    paths: set[FieldPath] = set()

    def walk(value: object, path: FieldPath, field_name: str) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(child, (*path, f"f:{key}"), key)
            return
        if isinstance(value, list) and associative_lists:
            key_name = list_merge_key(field_name, value)
            if key_name:
                for item in value:
                    item_path = (*path, _key_element(key_name, item))
                    paths.add((*item_path, "."))
                    walk(item, item_path, "")
                return
        paths.add(path)

    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status" and not with_status):
            continue
        if key == "metadata":
            for meta_key, meta_value in value.items():
                if meta_key not in _UNMANAGED_METADATA:
                    walk(meta_value, ("f:metadata", f"f:{meta_key}"), meta_key)
            continue
        walk(value, (f"f:{key}",), key)
    return paths


def paths_to_fields_v1(paths: Iterable[FieldPath]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return tree


def fields_v1_to_paths(tree: dict, prefix: FieldPath = ()) -> set[FieldPath]:
    paths: set[FieldPath] = set()
    for element, child in tree.items():
        path = (*prefix, element)
        if child:
            paths |= fields_v1_to_paths(child, path)
        else:
            paths.add(path)
    return paths


def path_to_string(path: FieldPath) -> str:
    """Render like fieldpath.Path.String(): `.spec.containers[name="app"].image`."""
    text = ""
    for element in path:
        if element == ".":
            continue
        kind, _, rest = element.partition(":")
        if kind == "f":
            text += f".{rest}"
        elif kind == "k":
            text += (
                "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
            )
        else:
            text += f"[{rest}]"
    return text


def _value_at(obj: object, path: FieldPath) -> object:
    current = obj
    for element in path:
        if element == ".":
            return current
        kind, _, rest = element.partition(":")
        if kind == "f" and isinstance(current, dict):
            current = current.get(rest, _MISSING)
        elif kind == "k" and isinstance(current, list):
            ((key_name, key_value),) = json.loads(rest).items()
            current = next(
                (i for i in current if isinstance(i, dict) and i.get(key_name) == key_value),
                _MISSING,
            )
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def _remove_path(obj: dict, path: FieldPath) -> None:
    """Remove the field (or list item) at path; empty parents are left for the caller."""
    if path and path[-1] == ".":
        path = path[:-1]
    parent = _value_at(obj, path[:-1]) if len(path) > 1 else obj
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        ((key_name, key_value),) = json.loads(rest).items()
        parent[:] = [
            i for i in parent if not (isinstance(i, dict) and i.get(key_name) == key_value)
        ]


_MISSING = object()


def merge_applied(live: object, applied: object, field_name: str, associative: bool) -> object:
    """Merge an applied configuration into the live value (maps recursive, keyed lists by key)."""
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = (
                merge_applied(live[key], value, key, associative) if key in live else value
            )
        return merged
    if associative and isinstance(live, list) and isinstance(applied, list):
        key_name = list_merge_key(field_name, applied) or list_merge_key(field_name, live)
        if key_name and all(isinstance(i, dict) for i in live):
            live_by_key = {item.get(key_name): item for item in live}
            result = [
                merge_applied(live_by_key[item.get(key_name)], item, "", associative)
                if item.get(key_name) in live_by_key
                else item
                for item in applied
            ]
            applied_keys = {item.get(key_name) for item in applied}
            result += [item for item in live if item.get(key_name) not in applied_keys]
            return result
    return applied


def _prune_empty_parents(obj: dict, path: FieldPath) -> None:
    for depth in range(len(path) - 1, 0, -1):
        parent_path = path[:depth]
        value = _value_at(obj, parent_path)
        if isinstance(value, (dict, list)) and not value:
            _remove_path(obj, parent_path)
        else:
            return


# ---------------------------------------------------------------------------------------------
# Object validation shared by every kind: labels, annotations (k8s.io/apimachinery
# pkg/api/validation/objectmeta.go ValidateObjectMetaAccessor, pkg/util/validation IsQualifiedName,
# IsValidLabelValue) and Go's %#v rendering of invalid values (pkg/util/validation/field
# errors.go ErrorBody).

_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QUALIFIED_NAME_MESSAGE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an"
    " alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for"
    f" validation is '{_QUALIFIED_NAME}')"
)
_LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or"
    f" 'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)


def qualified_name_problems(key: str) -> list[str]:
    """IsQualifiedName: an optional DNS subdomain prefix and '/', then a name part."""
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
        problems: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        problems = []
        if not prefix:
            problems.append("prefix part must be non-empty")
        elif len(prefix) > 253:
            problems.append("prefix part must be no more than 253 characters")
        elif not re.fullmatch(_DNS1123_SUBDOMAIN, prefix):
            problems.append(f"prefix part {_SUBDOMAIN_MESSAGE}")
    else:
        return [
            f"a qualified name {_QUALIFIED_NAME_MESSAGE} with an optional DNS subdomain prefix"
            " and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if name and not re.fullmatch(_QUALIFIED_NAME, name):
        problems.append(f"name part {_QUALIFIED_NAME_MESSAGE}")
    return problems


def label_value_problems(value: object) -> list[str]:
    text = value if isinstance(value, str) else str(value)
    problems = []
    if len(text) > 63:
        problems.append("must be no more than 63 characters")
    if not re.fullmatch(_LABEL_VALUE, text):
        problems.append(_LABEL_VALUE_MESSAGE)
    return problems


def go_quote(text: str) -> str:
    """Go's %q for the strings that occur here (JSON escaping is the same for ASCII)."""
    return json.dumps(text)


def go_value(value: object) -> str:
    """field.ErrorBody's rendering of a value: strings quoted, numbers bare, else %#v."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"))


def go_string_map(labels: dict | None) -> str:
    """%#v of a map[string]string (keys sorted, as fmt prints maps)."""
    if labels is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted(labels.items()))
    return "map[string]string{" + items + "}"


def go_label_selector(selector: dict) -> str:
    """%#v of a metav1.LabelSelector."""
    expressions = selector.get("matchExpressions")
    if expressions is None:
        rendered = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for item in expressions:
            values = item.get("values")
            values_text = (
                "[]string(nil)"
                if values is None
                else "[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}"
            )
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{go_quote(item.get('key', ''))},"
                f" Operator:{go_quote(item.get('operator', ''))}, Values:{values_text}}}"
            )
        rendered = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return (
        f"v1.LabelSelector{{MatchLabels:{go_string_map(selector.get('matchLabels'))},"
        f" MatchExpressions:{rendered}}}"
    )


def selector_matches(selector: dict, labels: dict) -> bool:
    """metav1.LabelSelectorAsSelector(selector).Matches(labels)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for item in selector.get("matchExpressions") or []:
        key, op, values = item.get("key"), item.get("operator"), item.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and key in labels and labels[key] in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def metadata_causes(meta: dict) -> list[tuple[str, str, str]]:
    """ValidateLabels and ValidateAnnotations (key names) of ObjectMeta."""
    causes = []
    labels = meta.get("labels") or {}
    if isinstance(labels, dict):
        for key, value in labels.items():
            for problem in qualified_name_problems(key):
                causes.append(
                    (
                        "metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {go_quote(key)}: {problem}",
                    )
                )
            for problem in label_value_problems(value):
                causes.append(
                    (
                        "metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {go_value(value)}: {problem}",
                    )
                )
    annotations = meta.get("annotations") or {}
    if isinstance(annotations, dict):
        for key in annotations:
            for problem in qualified_name_problems(key.lower()):
                causes.append(
                    (
                        "metadata.annotations",
                        "FieldValueInvalid",
                        f"Invalid value: {go_quote(key)}: {problem}",
                    )
                )
    return causes


# Workloads whose spec.selector must select the template and may not change
# (k8s.io/kubernetes pkg/apis/apps/validation ValidateDeploymentSpec, ValidateStatefulSetSpec,
# ValidateDaemonSetSpec, ValidateReplicaSetSpec and their *Update; pkg/apis/batch/validation
# ValidateJobSpecUpdate for the immutability of Job selectors).
_SELECTING_WORKLOADS = {
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
}
_IMMUTABLE_SELECTORS = _SELECTING_WORKLOADS | {("batch", "Job")}


def workload_causes(rtype: ResourceType, obj: dict, old: dict | None) -> list[tuple[str, str, str]]:
    key = (rtype.group, rtype.kind)
    spec = obj.get("spec") or {}
    causes = []
    if key in _SELECTING_WORKLOADS:
        selector = spec.get("selector")
        if not isinstance(selector, dict):
            causes.append(("spec.selector", "FieldValueRequired", "Required value"))
        elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
            causes.append(
                (
                    "spec.selector",
                    "FieldValueInvalid",
                    f"Invalid value: {go_label_selector(selector)}: empty selector is invalid"
                    f" for {rtype.kind.lower()}",
                )
            )
        else:
            template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
            if not selector_matches(selector, template_labels or {}):
                causes.append(
                    (
                        "spec.template.metadata.labels",
                        "FieldValueInvalid",
                        f"Invalid value: {go_string_map(template_labels)}: `selector` does not"
                        " match template `labels`",
                    )
                )
    if old is not None and key in _IMMUTABLE_SELECTORS:
        new_selector = spec.get("selector")
        old_selector = (old.get("spec") or {}).get("selector")
        if old_selector is not None and new_selector != old_selector:
            shown = go_label_selector(new_selector) if isinstance(new_selector, dict) else "null"
            causes.append(
                (
                    "spec.selector",
                    "FieldValueInvalid",
                    f"Invalid value: {shown}: field is immutable",
                )
            )
    return causes


# ---------------------------------------------------------------------------------------------
# Custom resources: structural pruning and OpenAPI v3 validation of the CRD schema
# (k8s.io/apiextensions-apiserver pkg/apiserver/schema/pruning/algorithm.go,
# pkg/apiserver/validation/validation.go kubeOpenAPIResultToFieldErrors, k8s.io/kube-openapi
# pkg/validation/validate type/required/enum validators).


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: object, wanted: str) -> bool:
    actual = _json_type(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def prune(
    value: object, schema: dict | None, path: str, pruned: list[str], root: bool = False
) -> object:
    """Drop fields the schema does not declare (unless it preserves unknown fields) and nulls
    of non-nullable fields; the dropped paths are appended to `pruned`."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        for key in list(value):
            if root and key in ("apiVersion", "kind", "metadata"):
                continue
            child_schema = properties.get(key)
            if child_schema is None and isinstance(additional, dict):
                child_schema = additional
            if child_schema is None:
                if not (preserve or additional is True):
                    del value[key]
                    pruned.append(_child(path, key))
                continue
            if value[key] is None and not child_schema.get("nullable"):
                del value[key]
                continue
            value[key] = prune(value[key], child_schema, _child(path, key), pruned)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            value[index] = prune(item, schema["items"], f"{path}[{index}]", pruned)
    return value


def schema_causes(value: object, schema: dict | None, path: str, root: bool = False) -> list:
    if not isinstance(schema, dict):
        return []
    causes: list[tuple[str, str, str]] = []
    wanted = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if _json_type(value) not in ("integer", "string"):
            actual = _json_type(value)
            causes.append(
                (
                    path,
                    "FieldValueInvalid",
                    f'Invalid value: "{actual}": {path} in body must be of type'
                    f' integer,string: "{actual}"',
                )
            )
            return causes
    elif wanted and not (value is None and schema.get("nullable")) and not _type_ok(value, wanted):
        actual = _json_type(value)
        causes.append(
            (
                path,
                "FieldValueInvalid",
                f'Invalid value: "{actual}": {path} in body must be of type {wanted}: "{actual}"',
            )
        )
        return causes
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        supported = ", ".join(
            go_quote(v) if isinstance(v, str) else go_quote(json.dumps(v)) for v in enum
        )
        causes.append(
            (
                path,
                "FieldValueNotSupported",
                f"Unsupported value: {go_value(value)}: supported values: {supported}",
            )
        )
    if isinstance(value, dict):
        for key in schema.get("required") or []:
            if key not in value:
                causes.append((_child(path, key), "FieldValueRequired", "Required value"))
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, child in value.items():
            if root and key in ("apiVersion", "kind", "metadata"):
                continue
            child_schema = properties.get(key)
            if child_schema is None and isinstance(additional, dict):
                child_schema = additional
            causes += schema_causes(child, child_schema, _child(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            causes += schema_causes(item, schema.get("items"), f"{path}[{index}]")
    return causes


# ---------------------------------------------------------------------------------------------
# Built-in kinds' top-level fields, for strict field validation (k8s.io/api */v1 types.go; the
# apiserver's strict decoding reports `unknown field "<path>"`).

_OBJECT_META_FIELDS = {
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
}  # fmt: skip
_SPEC_STATUS = {"spec", "status"}
_TOP_LEVEL_FIELDS: dict[tuple[str, str], set[str]] = {
    ("", "ConfigMap"): {"data", "binaryData", "immutable"},
    ("", "Secret"): {"data", "stringData", "type", "immutable"},
    ("", "ServiceAccount"): {"secrets", "imagePullSecrets", "automountServiceAccountToken"},
    ("", "Endpoints"): {"subsets"},
    ("", "Event"): {
        "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp",
        "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
        "reportingInstance",
    },
    ("events.k8s.io", "Event"): {
        "eventTime", "series", "reportingController", "reportingInstance", "action", "reason",
        "regarding", "related", "note", "type", "deprecatedSource", "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp", "deprecatedCount",
    },
    ("rbac.authorization.k8s.io", "ClusterRole"): {"rules", "aggregationRule"},
    ("rbac.authorization.k8s.io", "Role"): {"rules"},
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): {"subjects", "roleRef"},
    ("rbac.authorization.k8s.io", "RoleBinding"): {"subjects", "roleRef"},
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): {"webhooks"},
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): {"webhooks"},
    ("scheduling.k8s.io", "PriorityClass"): {
        "value", "globalDefault", "description", "preemptionPolicy",
    },
    ("storage.k8s.io", "StorageClass"): {
        "provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion",
        "volumeBindingMode", "allowedTopologies",
    },
}  # fmt: skip
_SPEC_FIELDS: dict[tuple[str, str], set[str]] = {
    ("apps", "Deployment"): {
        "replicas", "selector", "template", "strategy", "minReadySeconds",
        "revisionHistoryLimit", "paused", "progressDeadlineSeconds",
    },
}  # fmt: skip


def unknown_builtin_fields(rtype: ResourceType, obj: dict) -> list[str]:
    """Paths of fields a built-in kind does not declare (top level, metadata, some specs)."""
    allowed = {"apiVersion", "kind", "metadata"} | _TOP_LEVEL_FIELDS.get(
        (rtype.group, rtype.kind), _SPEC_STATUS
    )
    unknown = [key for key in obj if key not in allowed]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        unknown += [f"metadata.{key}" for key in meta if key not in _OBJECT_META_FIELDS]
    spec_fields = _SPEC_FIELDS.get((rtype.group, rtype.kind))
    spec = obj.get("spec")
    if spec_fields and isinstance(spec, dict):
        unknown += [f"spec.{key}" for key in spec if key not in spec_fields]
    return unknown


def _drop_path(obj: dict, path: str) -> None:
    parts = path.split(".")
    node: object = obj
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(parts[-1], None)


# ---------------------------------------------------------------------------------------------
# events.k8s.io/v1 Event and v1 Event are one resource stored once (k8s.io/kubernetes
# pkg/apis/events/v1/conversion.go): field renames between the two versions.

_EVENT_RENAMES = (
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
)


def _is_events_v1(rtype: ResourceType) -> bool:
    return (rtype.group, rtype.kind) == ("events.k8s.io", "Event")


def event_to_core(obj: dict) -> dict:
    result = dict(obj)
    for core_name, events_name in _EVENT_RENAMES:
        if events_name in result:
            result[core_name] = result.pop(events_name)
    result["apiVersion"] = "v1"
    return result


def event_from_core(obj: dict) -> dict:
    result = dict(obj)
    for core_name, events_name in _EVENT_RENAMES:
        if core_name in result:
            result[events_name] = result.pop(core_name)
    result.setdefault("eventTime", None)  # a MicroTime struct: null when unset
    result["apiVersion"] = "events.k8s.io/v1"
    return result


# ---------------------------------------------------------------------------------------------
# Watches


@dataclass
class _Watcher:
    group: str
    kind: str
    namespace: str | None
    events: queue.Queue = field(default_factory=queue.Queue)


class _CommitLock:
    """A re-entrant lock that runs subscriber callbacks after the outermost release.

    The README promises callbacks outside the store lock, in commit order, from the writer.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()

    def __enter__(self) -> _CommitLock:
        self._lock.acquire()
        self._local.depth = getattr(self._local, "depth", 0) + 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._local.depth -= 1
        if self._local.depth:
            self._lock.release()
            return
        pending = getattr(self._local, "pending", [])
        self._local.pending = []
        self._lock.release()
        for callback, event_type, obj in pending:
            try:
                callback(event_type, copy.deepcopy(obj))
            except Exception:
                # One broken subscriber must not fail the write that triggered it.
                logger.exception("store subscriber %r failed", callback)

    def defer(self, notifications: list) -> None:
        if not hasattr(self._local, "pending"):
            self._local.pending = []
        self._local.pending.extend(notifications)


class Watch:
    """A stream of (event_type, object) for one kind; `None` from next() means timeout."""

    def __init__(self, store: Store, watcher: _Watcher, rtype: ResourceType) -> None:
        self._store = store
        self._watcher = watcher
        self._rtype = rtype

    def next(self, timeout: float) -> tuple[str, dict] | None:
        event = self.next_event(timeout)
        return None if event is None else event[:2]

    def next_event(self, timeout: float) -> tuple[str, dict, dict | None] | None:
        """(event_type, object, previous state or None): the previous state lets a filtered
        watch turn a MODIFIED into ADDED/DELETED as the apiserver's cacher does."""
        try:
            event_type, obj, previous = self._watcher.events.get(timeout=timeout)
        except queue.Empty:
            return None
        obj = self._store._out(obj, self._rtype)
        if previous is not None:
            previous = self._store._out(previous, self._rtype)
        return event_type, obj, previous

    def close(self) -> None:
        self._store._remove_watcher(self._watcher)


# ---------------------------------------------------------------------------------------------
# The store

NODE_LABELS = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/os": "linux",
    "node-role.kubernetes.io/control-plane": "",
    "node.kubernetes.io/exclude-from-external-load-balancers": "",
}
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
SEED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage")


class Store:
    """Thread-safe object store; every method takes and returns deep copies."""

    def __init__(
        self,
        kubernetes_version: str = "1.27.3",
        cluster_name: str = "kind",
        history_limit: int = 1000,
        establish_delay: float = 0.02,
        namespace_cleanup_delay: float = 0.05,
    ) -> None:
        self._lock = _CommitLock()
        self._revision = itertools.count(1)
        self._last_revision = 0
        self._objects: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._history: deque[tuple[int, str, str, str, str, dict, dict | None]] = deque(
            maxlen=history_limit
        )
        # The last committed snapshot of each object, the "previous object" of its next event.
        self._snapshots: dict[tuple[str, str, str, str], dict] = {}
        self._admissions: dict[tuple[str, str], list[Admit]] = {}
        self._request = threading.local()
        self._draining: set[str] = set()
        self._oldest_history_revision = 0
        self._watchers: list[_Watcher] = []
        self._subscribers: list[Callable[[str, dict], None]] = []
        self._logs: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._timers: set[threading.Timer] = set()
        self._closed = False
        self._establish_delay = establish_delay
        self._namespace_cleanup_delay = namespace_cleanup_delay
        self._service_ips = itertools.count(2)
        for rtype in BUILTIN_TYPES:
            self._types[(rtype.group, rtype.version, rtype.kind)] = rtype
        self._seed(kubernetes_version, cluster_name)

    # -- seeding ----------------------------------------------------------------------------

    def _seed(self, kubernetes_version: str, cluster_name: str) -> None:
        for name in SEED_NAMESPACES:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        # The apiserver's own Service (pkg/controlplane/controller/kubernetesservice).
        self.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": "10.96.0.1",
                    "ports": [
                        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}
                    ],
                },
            }
        )
        node_name = f"{cluster_name}-control-plane"
        self.create(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": node_name,
                    "labels": {**NODE_LABELS, "kubernetes.io/hostname": node_name},
                },
                "spec": {
                    "podCIDR": "10.244.0.0/24",
                    "podCIDRs": ["10.244.0.0/24"],
                    "providerID": f"kind://docker/{cluster_name}/{node_name}",
                },
                "status": {
                    "addresses": [
                        {"address": "172.18.0.2", "type": "InternalIP"},
                        {"address": node_name, "type": "Hostname"},
                    ],
                    "allocatable": {"cpu": "2", "memory": "8048056Ki", "pods": "110"},
                    "capacity": {"cpu": "2", "memory": "8048056Ki", "pods": "110"},
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": now_rfc3339(),
                            "lastTransitionTime": now_rfc3339(),
                        },
                    ],
                    "nodeInfo": {
                        "architecture": "amd64",
                        "operatingSystem": "linux",
                        "kubeletVersion": f"v{kubernetes_version}",
                        "kubeProxyVersion": f"v{kubernetes_version}",
                        "containerRuntimeVersion": "containerd://1.7.1",
                        "osImage": "Debian GNU/Linux 11 (bullseye)",
                        "kernelVersion": "6.1.0",
                        "bootID": str(uuid.uuid4()),
                        "machineID": uuid.uuid4().hex,
                        "systemUUID": str(uuid.uuid4()),
                    },
                },
            }
        )

    # -- type registry ----------------------------------------------------------------------

    def resource_type(self, api_version: str, kind: str) -> ResourceType | None:
        group, version = split_api_version(api_version)
        with self._lock:
            return self._types.get((group, version, kind))

    def resource_type_for_plural(
        self, group: str, version: str, plural: str
    ) -> ResourceType | None:
        with self._lock:
            for rtype in self._types.values():
                if (rtype.group, rtype.version, rtype.plural) == (group, version, plural):
                    return rtype
        return None

    def resource_types(self) -> list[ResourceType]:
        with self._lock:
            return list(self._types.values())

    def served(self, api_version: str, kind: str) -> bool:
        return self.resource_type(api_version, kind) is not None

    def _require_type(self, api_version: str, kind: str) -> ResourceType:
        rtype = self.resource_type(api_version, kind)
        if rtype is None:
            raise NotFound(
                f'no matches for kind "{kind}" in version "{api_version}"',
                {"kind": kind, "group": split_api_version(api_version)[0]},
            )
        return rtype

    # -- reads ------------------------------------------------------------------------------

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict | None:
        rtype = self.resource_type(api_version, kind)
        if rtype is None:
            return None
        with self._lock:
            obj = self._bucket(rtype).get((self._ns(rtype, namespace), name))
            return self._out(obj, rtype) if obj else None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: dict | None = None,
    ) -> list[dict]:
        rtype = self.resource_type(api_version, kind)
        if rtype is None:
            return []
        with self._lock:
            objects = [
                self._out(obj, rtype)
                for (obj_ns, _), obj in sorted(self._bucket(rtype).items())
                if (namespace is None or not rtype.namespaced or obj_ns == namespace)
                and _labels_match(obj, labels)
            ]
        return objects

    def list_with_revision(
        self, api_version: str, kind: str, namespace: str | None = None
    ) -> tuple[list[dict], str]:
        """A consistent list plus the resourceVersion to watch from."""
        with self._lock:
            return self.list(api_version, kind, namespace), str(self._last_revision)

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._last_revision)

    # -- admission and request options ------------------------------------------------------

    def add_admission(self, group: str, kind: str, admit: Admit) -> None:
        """Run `admit` on every create and main-resource update of group/kind (like a mutating
        plus validating webhook): before validation and persistence, dry runs included."""
        with self._lock:
            self._admissions.setdefault((group, kind), []).append(admit)

    @contextlib.contextmanager
    def request_scope(self, field_validation: str = "Ignore") -> Iterator[list[str]]:
        """Per-request options of the calling thread; yields the list warnings collect in.

        `field_validation` is the fieldValidation query parameter: Strict refuses unknown
        fields, Warn drops them with a warning, Ignore drops them silently.
        """
        previous = getattr(self._request, "scope", None)
        warnings: list[str] = []
        self._request.scope = (field_validation, warnings)
        try:
            yield warnings
        finally:
            self._request.scope = previous

    def _warn(self, text: str) -> None:
        scope = getattr(self._request, "scope", None)
        if scope is not None and text not in scope[1]:
            scope[1].append(text)

    def _admit(self, rtype: ResourceType, operation: str, obj: dict, old: dict | None) -> None:
        admits = self._admissions.get((rtype.group, rtype.kind), [])
        for admit in list(admits):
            for warning in admit(operation, obj, copy.deepcopy(old) if old else None) or []:
                self._warn(warning)

    def _drop_unknown_fields(self, rtype: ResourceType, obj: dict) -> None:
        """Decoding: unknown fields are pruned (CRD schema) or dropped (built-ins); Strict
        field validation refuses them instead (apiserver handlers `fieldValidation`)."""
        if self._is_custom(rtype):
            schema = self._custom_schema(rtype)
            unknown: list[str] = []
            if schema is not None:
                prune(obj, schema, "", unknown, root=True)
        else:
            unknown = unknown_builtin_fields(rtype, obj)
            for path in unknown:
                _drop_path(obj, path)
        if not unknown:
            return
        scope = getattr(self._request, "scope", None)
        mode = scope[0] if scope else "Ignore"
        texts = [f'unknown field "{path}"' for path in unknown]
        if mode == "Strict":
            raise BadRequest(
                f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}:'
                f" strict decoding error: {', '.join(texts)}"
            )
        if mode == "Warn":
            for text in texts:
                self._warn(text)

    def _custom_schema(self, rtype: ResourceType) -> dict | None:
        crd_type = self._types.get(("apiextensions.k8s.io", "v1", CRD_KIND))
        crd = (
            self._bucket(crd_type).get(("", f"{rtype.plural}.{rtype.group}")) if crd_type else None
        )
        if crd is None:
            return None
        for version in crd["spec"].get("versions") or []:
            if version.get("name") == rtype.version:
                return (version.get("schema") or {}).get("openAPIV3Schema")
        return None

    def _validate(self, rtype: ResourceType, obj: dict, old: dict | None) -> None:
        """Validation after admission: ObjectMeta, workloads, CRD schemas, finalizers."""
        meta = obj["metadata"]
        causes = metadata_causes(meta)
        if old is not None and old["metadata"].get("deletionTimestamp"):
            # apimachinery ValidateObjectMetaUpdate -> ValidateNoNewFinalizers
            new = sorted(
                set(meta.get("finalizers") or []) - set(old["metadata"].get("finalizers") or [])
            )
            if new:
                causes.append(
                    (
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        "Forbidden: no new finalizers can be added if the object is being"
                        " deleted, found new finalizers []string{"
                        + ", ".join(go_quote(f) for f in new)
                        + "}",
                    )
                )
        if self._is_custom(rtype):
            schema = self._custom_schema(rtype)
            if schema is not None:
                causes += schema_causes(obj, schema, "", root=True)
        else:
            causes += workload_causes(rtype, obj, old)
        if causes:
            raise invalid(rtype, meta.get("name", ""), causes)

    # -- writes -----------------------------------------------------------------------------

    def create(self, obj: dict, dry_run: bool = False) -> dict:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        rtype = self._require_type(api_version, kind)
        if _is_events_v1(rtype):
            return self._out(self.create(event_to_core(obj), dry_run), rtype)
        if self._is_custom(rtype) and self._crd_of(rtype).get("metadata", {}).get(
            "deletionTimestamp"
        ):
            # apiextensions-apiserver customresource_handler.go, while its CRD terminates.
            raise MethodNotAllowed(
                "create not allowed while custom resource definition is terminating",
                {"group": rtype.group, "kind": rtype.plural},
            )
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        self._drop_unknown_fields(rtype, obj)
        self._admit(rtype, "CREATE", obj, None)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choices("bcdfghjklmnpqrstvwxz2456789", k=5)
            )
        name = meta.get("name") or ""
        if not name:
            raise invalid(
                rtype,
                "",
                [
                    (
                        "metadata.name",
                        "FieldValueRequired",
                        "Required value: name or generateName is required",
                    )
                ],
            )
        problem = name_problem(rtype, name)
        if problem:
            raise invalid(
                rtype,
                name,
                [("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {problem}')],
            )
        if rtype.namespaced and not meta.get("namespace"):
            raise invalid(
                rtype, name, [("metadata.namespace", "FieldValueRequired", "Required value")]
            )
        if not rtype.namespaced:
            meta.pop("namespace", None)
        if rtype.kind == CRD_KIND:
            self._validate_crd(rtype, obj)
        with self._lock:
            self._validate(rtype, obj, None)
            namespace = self._ns(rtype, meta.get("namespace"))
            if rtype.namespaced:
                self._require_live_namespace(namespace)
            bucket = self._bucket(rtype)
            if (namespace, name) in bucket:
                raise AlreadyExists(
                    f'{rtype.qualified_plural} "{name}" already exists',
                    {"name": name, "group": rtype.group, "kind": rtype.plural},
                )
            given_rv = str(meta.get("resourceVersion") or "")
            if given_rv.isdigit() and int(given_rv) != 0:
                # k8s.io/apiserver pkg/storage/etcd3/store.go Create
                raise ServerError("resourceVersion should not be set on objects to be created")
            meta.update({"uid": str(uuid.uuid4()), "creationTimestamp": now_rfc3339()})
            if rtype.group:
                # Core v1 strategies (pods, configmaps, namespaces...) do not track generation.
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            for transient in (
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ):
                meta.pop(transient, None)
            self._default(rtype, obj)
            if dry_run:
                return self._out(obj, rtype)
            self._commit(rtype, "ADDED", obj)
            stored = self._out(obj, rtype)
        self._after_create(rtype, stored)
        return stored

    def update(self, obj: dict, dry_run: bool = False, keep_status: bool = False) -> dict:
        """Replace an object; `keep_status` ignores the given status (main-resource PUT)."""
        rtype = self._require_type(obj.get("apiVersion", ""), obj.get("kind", ""))
        if _is_events_v1(rtype):
            return self._out(self.update(event_to_core(obj), dry_run, keep_status), rtype)
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name", "")
        self._drop_unknown_fields(rtype, obj)
        meta = obj.setdefault("metadata", {})
        with self._lock:
            live = self._live(rtype, name, meta.get("namespace"))
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
                raise self._modified_conflict(rtype, name)
            for fixed in (
                "uid",
                "creationTimestamp",
                "namespace",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ):
                if fixed in live["metadata"]:
                    meta[fixed] = live["metadata"][fixed]
                else:
                    meta.pop(fixed, None)
            if "status" not in obj or keep_status:
                if "status" in live:
                    obj["status"] = live["status"]
                else:
                    obj.pop("status", None)
            self._admit(rtype, "UPDATE", obj, live)
            meta = obj.setdefault("metadata", {})
            self._validate(rtype, obj, live)
            if "generation" in live["metadata"]:
                meta["generation"] = live["metadata"]["generation"] + (
                    1 if _spec_of(obj) != _spec_of(live) else 0
                )
            else:
                meta.pop("generation", None)
            if "managedFields" not in meta and "managedFields" in live["metadata"]:
                meta["managedFields"] = live["metadata"]["managedFields"]
            meta["resourceVersion"] = live["metadata"]["resourceVersion"]
            if rtype.kind == CRD_KIND:
                self._validate_crd(rtype, obj)
            if _without_revision(obj) == _without_revision(live) or dry_run:
                return self._out(obj if dry_run else live, rtype)
            self._commit(rtype, "MODIFIED", obj)
            stored = self._out(obj, rtype)
            if rtype.kind == CRD_KIND and _is_established(obj):
                self._register_crd_types(obj)
            if meta.get("deletionTimestamp") and not meta.get("finalizers"):
                # The registry deletes an object whose last finalizer goes (generic registry
                # Store.Update -> shouldDeleteDuringUpdate): MODIFIED, then DELETED.
                if rtype.kind == "Namespace":
                    self._check_namespace_drained(name)
                else:
                    self._remove_locked(rtype, obj, "Background")
        return stored

    def update_status(
        self, api_version: str, kind: str, name: str, namespace: str | None, status: dict
    ) -> dict:
        rtype = self._require_type(api_version, kind)
        with self._lock:
            live = copy.deepcopy(self._live(rtype, name, namespace))
            if live.get("status") == status:
                return self._out(live, rtype)
            live["status"] = copy.deepcopy(status)
            schema = self._custom_schema(rtype) if self._is_custom(rtype) else None
            if schema is not None:
                # The status strategy prunes and validates the whole object as well.
                prune(live, schema, "", [], root=True)
                causes = schema_causes(live, schema, "", root=True)
                if causes:
                    raise invalid(rtype, name, causes)
            self._commit(rtype, "MODIFIED", live)
            return self._out(live, rtype)

    def apply(
        self,
        obj: dict,
        manager: str = "sim-controller",
        force: bool = True,
        dry_run: bool = False,
        subresource: str = "",
    ) -> dict:
        """Server-side apply: create, or merge the fields `manager` sets into the live object.

        Follows k8s.io/apiserver `pkg/endpoints/handlers/fieldmanager` with
        sigs.k8s.io/structured-merge-diff `merge/update.go`: conflicts when another manager
        owns a field with a different value (unless forced), removal of fields this manager
        applied before and now omits, no write when nothing changes.
        """
        rtype = self._require_type(obj.get("apiVersion", ""), obj.get("kind", ""))
        if _is_events_v1(rtype):
            core = event_to_core(obj)
            return self._out(self.apply(core, manager, force, dry_run, subresource), rtype)
        applied = copy.deepcopy(obj)
        meta = applied.setdefault("metadata", {})
        name = meta.get("name", "")
        associative = not self._is_custom(rtype)
        with_status = subresource == "status"
        applied_paths = leaf_paths(applied, associative, with_status)
        if with_status:
            applied_paths = {p for p in applied_paths if p[0] == "f:status"}
        entry_base = {"manager": manager, "operation": "Apply", "apiVersion": rtype.api_version}
        if subresource:
            entry_base["subresource"] = subresource
        with self._lock:
            existing = self._bucket(rtype).get((self._ns(rtype, meta.get("namespace")), name))
            if existing is None:
                if with_status:
                    raise self._not_found(rtype, name)
                for transient in ("resourceVersion", "managedFields", "uid"):
                    meta.pop(transient, None)
                meta["managedFields"] = [_managed_entry(entry_base, applied_paths)]
                return self.create(applied, dry_run=dry_run)
            live = copy.deepcopy(existing)
            owners = _ownership(live)
            mine = owners.pop(_owner_key(entry_base), set())
            conflicts = []
            for other_key, other_paths in owners.items():
                for path in sorted(applied_paths & other_paths):
                    # "." marks a keyed list item's presence; its fields are checked one by one.
                    if path[-1] != "." and _value_at(live, path) != _value_at(applied, path):
                        conflicts.append((other_key, path))
            if conflicts and not force:
                raise _apply_conflict(conflicts)
            merged = live
            for key in applied:
                if key in ("apiVersion", "kind"):
                    continue
                if key == "status" and not with_status and rtype.has_status:
                    continue
                if key != "status" and with_status:
                    continue
                if key == "metadata":
                    for meta_key, value in applied["metadata"].items():
                        if meta_key in _UNMANAGED_METADATA:
                            continue
                        _merge_into(merged["metadata"], meta_key, value, associative)
                    continue
                _merge_into(merged, key, applied[key], associative)
            still_owned = set().union(*owners.values()) if owners else set()
            for path in sorted(mine - applied_paths - still_owned, key=len, reverse=True):
                _remove_path(merged, path)
                _prune_empty_parents(merged, path)
            if force:
                owners = {k: paths - applied_paths for k, paths in owners.items()}
            new_owners = {k: v for k, v in owners.items() if v}
            entries = [
                e for e in live["metadata"].get("managedFields", []) if _owner_key(e) in new_owners
            ]
            for entry in entries:
                entry["fieldsV1"] = paths_to_fields_v1(new_owners[_owner_key(entry)])
            old_mine = next(
                (
                    e
                    for e in live["metadata"].get("managedFields", [])
                    if _owner_key(e) == _owner_key(entry_base)
                ),
                None,
            )
            if old_mine and mine == applied_paths:
                entries.append(old_mine)
            else:
                entries.append(_managed_entry(entry_base, applied_paths))
            merged["metadata"]["managedFields"] = entries
            if _without_revision(merged) == _without_revision(existing):
                return self._out(existing, rtype)
            if with_status:
                merged["metadata"]["resourceVersion"] = existing["metadata"]["resourceVersion"]
                if dry_run:
                    return self._out(merged, rtype)
                self._commit(rtype, "MODIFIED", merged)
                return self._out(merged, rtype)
            merged["metadata"]["resourceVersion"] = ""
            return self.update(merged, dry_run=dry_run)

    def record_update_ownership(
        self, old: dict | None, new: dict, manager: str, subresource: str = ""
    ) -> None:
        """Give `manager` (operation Update) the fields it changed, as the apiserver does."""
        rtype = self._require_type(new.get("apiVersion", ""), new.get("kind", ""))
        associative = not self._is_custom(rtype)
        with_status = subresource == "status"
        new_paths = leaf_paths(new, associative, with_status)
        old_paths = leaf_paths(old, associative, with_status) if old else set()
        changed = {
            p for p in new_paths if p not in old_paths or _value_at(new, p) != _value_at(old, p)
        }
        if with_status:
            changed = {p for p in changed if p[0] == "f:status"}
        if not changed:
            return
        entry_base = {"manager": manager, "operation": "Update", "apiVersion": rtype.api_version}
        if subresource:
            entry_base["subresource"] = subresource
        meta = new["metadata"]
        with self._lock:
            current = self._bucket(rtype).get(
                (self._ns(rtype, meta.get("namespace")), meta["name"])
            )
            if current is None or current["metadata"]["uid"] != meta.get("uid"):
                return
            owners = _ownership(current)
            mine = owners.pop(_owner_key(entry_base), set()) | changed
            entries = []
            for entry in current["metadata"].get("managedFields", []):
                key = _owner_key(entry)
                if key == _owner_key(entry_base):
                    continue
                remaining = owners[key] - changed
                if remaining:
                    entries.append({**entry, "fieldsV1": paths_to_fields_v1(remaining)})
            entries.append(
                _managed_entry(
                    entry_base, {p for p in mine if _value_at(current, p) is not _MISSING}
                )
            )
            current["metadata"]["managedFields"] = entries

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        propagation: str = "Background",
        grace_seconds: int = 0,
    ) -> dict | None:
        rtype = self.resource_type(api_version, kind)
        if rtype is None:
            return None
        with self._lock:
            obj = self._bucket(rtype).get((self._ns(rtype, namespace), name))
            if obj is None:
                return None
            if rtype.kind == "Pod" and grace_seconds > 0:
                return self._delete_gracefully(rtype, obj, grace_seconds)
            if rtype.kind == "Namespace":
                if name in IMMORTAL_NAMESPACES:
                    # k8s.io/kubernetes plugin/pkg/admission/namespace/lifecycle
                    raise Forbidden(
                        f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                        {"name": name, "kind": "namespaces"},
                    )
                return self._terminate_namespace(obj, rtype)
            if rtype.kind == CRD_KIND:
                return self._terminate_crd(obj, rtype)
            return self._delete_object(rtype, obj, propagation)

    # -- logs -------------------------------------------------------------------------------

    def append_log(self, namespace: str, pod: str, container: str, text: str) -> None:
        """One write to a container's stdout: its lines reach the log together, as a process's
        single write does, so a reader never sees part of it."""
        with self._lock:
            self._logs.setdefault((namespace, pod), {}).setdefault(container, []).extend(
                text.split("\n")
            )

    def read_log(
        self, namespace: str, pod: str, container: str | None, tail_lines: int | None = None
    ) -> list[str]:
        """Lines of a pod's container log, with the real server's errors for bad requests."""
        pod_type = self._types[("", "v1", "Pod")]
        with self._lock:
            obj = self._bucket(pod_type).get((namespace, pod))
            if obj is None:
                raise self._not_found(pod_type, pod)
            containers = [c.get("name") for c in obj.get("spec", {}).get("containers", [])]
            if container is None:
                if len(containers) != 1:
                    # k8s.io/kubernetes pkg/registry/core/pod/strategy.go LogLocation
                    raise BadRequest(
                        f"a container name must be specified for pod {pod}, choose one of:"
                        f" [{' '.join(containers)}]"
                    )
                container = containers[0]
            init = [c.get("name") for c in obj.get("spec", {}).get("initContainers", [])]
            if container not in containers + init:
                raise BadRequest(f"container {container} is not valid for pod {pod}")
            lines = list(self._logs.get((namespace, pod), {}).get(container, []))
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        return lines

    # -- subscriptions and watches ----------------------------------------------------------

    def subscribe(self, callback: Callable[[str, dict], None]) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def watch(self, api_version: str, kind: str, namespace: str | None, since: str | None) -> Watch:
        """Events after resourceVersion `since`; with no `since`, synthetic ADDED for all."""
        rtype = self._require_type(api_version, kind)
        group, stored_kind = _storage_key(rtype)
        watcher = _Watcher(group, stored_kind, namespace if rtype.namespaced else None)
        with self._lock:
            if since in (None, "", "0"):
                for obj in self.list(api_version, kind, namespace):
                    watcher.events.put(("ADDED", obj, None))
            else:
                try:
                    since_revision = int(since)
                except ValueError:
                    raise BadRequest(f"invalid resource version: {since}") from None
                if since_revision < self._oldest_history_revision - 1:
                    raise Expired(
                        f"too old resource version: {since_revision}"
                        f" ({self._oldest_history_revision - 1})"
                    )
                for revision, event_type, group, obj_kind, obj_ns, obj, prev in self._history:
                    if revision > since_revision and self._matches(
                        watcher, group, obj_kind, obj_ns
                    ):
                        watcher.events.put((event_type, obj, prev))
            self._watchers.append(watcher)
        return Watch(self, watcher, rtype)

    def _remove_watcher(self, watcher: _Watcher) -> None:
        with self._lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    @staticmethod
    def _matches(watcher: _Watcher, group: str, kind: str, namespace: str) -> bool:
        return (watcher.group, watcher.kind) == (group, kind) and (
            watcher.namespace is None or watcher.namespace == namespace
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
            if timer.is_alive() and timer is not threading.current_thread():
                timer.join(timeout=1)

    # -- internals --------------------------------------------------------------------------

    def _bucket(self, rtype: ResourceType) -> dict[tuple[str, str], dict]:
        return self._objects.setdefault(_storage_key(rtype), {})

    @staticmethod
    def _ns(rtype: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rtype.namespaced else ""

    @staticmethod
    def _out(obj: dict, rtype: ResourceType) -> dict:
        result = copy.deepcopy(obj)
        if _is_events_v1(rtype):
            result = event_from_core(result)
        result["apiVersion"] = rtype.api_version
        result["kind"] = rtype.kind
        return result

    def _is_custom(self, rtype: ResourceType) -> bool:
        return rtype not in BUILTIN_TYPES

    def _not_found(self, rtype: ResourceType, name: str) -> NotFound:
        return NotFound(
            f'{rtype.qualified_plural} "{name}" not found',
            {"name": name, "group": rtype.group, "kind": rtype.plural},
        )

    def _modified_conflict(self, rtype: ResourceType, name: str) -> Conflict:
        return Conflict(
            f'Operation cannot be fulfilled on {rtype.qualified_plural} "{name}": the object has'
            " been modified; please apply your changes to the latest version and try again",
            {"name": name, "group": rtype.group, "kind": rtype.plural},
        )

    def _live(self, rtype: ResourceType, name: str, namespace: str | None) -> dict:
        obj = self._bucket(rtype).get((self._ns(rtype, namespace), name))
        if obj is None:
            raise self._not_found(rtype, name)
        return obj

    def _require_live_namespace(self, namespace: str) -> None:
        ns_type = self._types[("", "v1", "Namespace")]
        ns_obj = self._bucket(ns_type).get(("", namespace))
        if ns_obj is None:
            raise NotFound(
                f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"}
            )
        if ns_obj.get("status", {}).get("phase") == "Terminating":
            raise Forbidden(
                f"unable to create new content in namespace {namespace} because it is being"
                " terminated",
                {"name": namespace, "kind": "namespaces"},
            )

    def _commit(self, rtype: ResourceType, event_type: str, obj: dict) -> None:
        """Store (or drop, for DELETED) obj under a new resourceVersion and notify watchers."""
        revision = next(self._revision)
        self._last_revision = revision
        meta = obj["metadata"]
        key = (self._ns(rtype, meta.get("namespace")), meta["name"])
        meta["resourceVersion"] = str(revision)
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        group, stored_kind = _storage_key(rtype)
        snapshot_key = (group, stored_kind, *key)
        if event_type == "DELETED":
            self._bucket(rtype).pop(key, None)
        else:
            self._bucket(rtype)[key] = obj
        snapshot = copy.deepcopy(obj)
        previous = self._snapshots.pop(snapshot_key, None)
        if event_type != "DELETED":
            self._snapshots[snapshot_key] = snapshot
        if len(self._history) == self._history.maxlen:
            self._oldest_history_revision = self._history[1][0]
        elif not self._history:
            self._oldest_history_revision = revision
        self._history.append((revision, event_type, group, stored_kind, key[0], snapshot, previous))
        for watcher in self._watchers:
            if self._matches(watcher, group, stored_kind, key[0]):
                watcher.events.put((event_type, snapshot, previous))
        self._lock.defer([(callback, event_type, snapshot) for callback in self._subscribers])

    def _default(self, rtype: ResourceType, obj: dict) -> None:
        """Defaults the real registries apply (namespace phase, Service cluster IP, ...)."""
        if rtype.has_status and rtype in BUILTIN_TYPES:
            # Built-in Go types always serialise their status struct, if only as {}.
            obj.setdefault("status", {})
        if rtype not in BUILTIN_TYPES:
            return
        if rtype.kind == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj[
                "metadata"
            ]["name"]
        elif rtype.kind == "Service":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if spec.get("clusterIP") != "None" and spec["type"] != "ExternalName":
                index = next(self._service_ips)
                spec.setdefault("clusterIP", f"10.96.{index // 250}.{index % 250 + 1}")
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports", []):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
                if spec["type"] in ("NodePort", "LoadBalancer"):
                    # The real allocator picks a free port in 30000-32767.
                    port.setdefault("nodePort", 30000 + next(self._service_ips) % 2768)
            if not obj.get("status"):
                obj["status"] = {"loadBalancer": {}}
        elif rtype.kind == "Deployment":
            spec = obj.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
        elif rtype.kind == CRD_KIND:
            obj["status"] = {
                "conditions": [],
                "acceptedNames": {"kind": "", "plural": ""},
                "storedVersions": [],
            }

    def _after_create(self, rtype: ResourceType, obj: dict) -> None:
        if rtype.kind == "Namespace":
            name = obj["metadata"]["name"]
            # The serviceaccount and root-ca-cert-publisher controllers add these.
            self.create(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": "default", "namespace": name},
                }
            )
            self.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "kube-root-ca.crt", "namespace": name},
                    "data": {
                        "ca.crt": "-----BEGIN CERTIFICATE-----\nsimulated\n"
                        "-----END CERTIFICATE-----\n"
                    },
                }
            )
        elif rtype.kind == CRD_KIND:
            self._later(self._establish_delay, self._establish_crd, obj["metadata"]["name"])
        meta = obj["metadata"]
        if meta.get("ownerReferences"):
            self._later(
                self._namespace_cleanup_delay,
                self._collect_if_orphaned,
                rtype,
                meta.get("namespace"),
                meta["name"],
                meta["uid"],
            )

    def _later(self, delay: float, action: Callable[..., None], *args: object) -> None:
        with self._lock:
            if self._closed:
                return
            timer = threading.Timer(delay, self._run_timer, args=(action, args))
            timer.daemon = True
            self._timers.add(timer)
            timer.start()

    def _run_timer(self, action: Callable[..., None], args: tuple) -> None:
        with self._lock:
            if self._closed:
                return
            self._timers = {t for t in self._timers if t is not threading.current_thread()}
        action(*args)

    # -- CRDs -------------------------------------------------------------------------------

    def _validate_crd(self, rtype: ResourceType, crd: dict) -> None:
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        name = crd["metadata"].get("name", "")
        causes = []
        if not spec.get("group"):
            causes.append(("spec.group", "FieldValueRequired", "Required value"))
        if not names.get("plural"):
            causes.append(("spec.names.plural", "FieldValueRequired", "Required value"))
        if not names.get("kind"):
            causes.append(("spec.names.kind", "FieldValueRequired", "Required value"))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            causes.append(
                (
                    "spec.scope",
                    "FieldValueNotSupported",
                    f'Unsupported value: "{spec.get("scope", "")}": supported values:'
                    ' "Cluster", "Namespaced"',
                )
            )
        versions = spec.get("versions") or []
        if not versions:
            causes.append(
                (
                    "spec.versions",
                    "FieldValueInvalid",
                    "Invalid value: null: must have exactly one version marked as storage version",
                )
            )
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(
                (
                    "spec.versions",
                    "FieldValueInvalid",
                    "Invalid value: must have exactly one version marked as storage version",
                )
            )
        expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
        if names.get("plural") and spec.get("group") and name != expected:
            causes.append(
                (
                    "metadata.name",
                    "FieldValueInvalid",
                    f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                )
            )
        if causes:
            raise invalid(rtype, name, causes)

    def _establish_crd(self, name: str) -> None:
        crd_type = self._types[("apiextensions.k8s.io", "v1", CRD_KIND)]
        with self._lock:
            crd = self._bucket(crd_type).get(("", name))
            if crd is None:
                return
            crd = copy.deepcopy(crd)
            spec = crd["spec"]
            names = dict(spec["names"])
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", f"{names['kind']}List")
            stamp = now_rfc3339()
            crd["status"] = {
                "acceptedNames": names,
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "True",
                        "reason": "NoConflicts",
                        "message": "no conflicts found",
                        "lastTransitionTime": stamp,
                    },
                    {
                        "type": "Established",
                        "status": "True",
                        "reason": "InitialNamesAccepted",
                        "message": "the initial names have been accepted",
                        "lastTransitionTime": stamp,
                    },
                ],
                "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
            }
            self._register_crd_types(crd)
            self._commit(crd_type, "MODIFIED", crd)

    def _register_crd_types(self, crd: dict) -> None:
        spec = crd["spec"]
        names = spec["names"]
        self._types = {
            k: t
            for k, t in self._types.items()
            if not (t.group == spec["group"] and t.kind == names["kind"] and t not in BUILTIN_TYPES)
        }
        for version in spec["versions"]:
            if not version.get("served"):
                continue
            self._types[(spec["group"], version["name"], names["kind"])] = ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                namespaced=spec["scope"] == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                has_status="status" in (version.get("subresources") or {}),
                extra_subresources=("scale",)
                if "scale" in (version.get("subresources") or {})
                else (),
                categories=tuple(names.get("categories") or ()),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                storage_version=bool(version.get("storage")),
            )

    def _crd_of(self, rtype: ResourceType) -> dict:
        """The CRD serving a custom kind (its name is <plural>.<group>), {} if none."""
        crd_type = self._types[("apiextensions.k8s.io", "v1", CRD_KIND)]
        return self._bucket(crd_type).get(("", f"{rtype.plural}.{rtype.group}")) or {}

    def _terminate_crd(self, crd: dict, crd_type: ResourceType) -> dict:
        """DELETE of a CRD (apiextensions-apiserver registry/customresourcedefinition/etcd.go):
        it gets the customresourcecleanup finalizer and Terminating=True; the finalizer
        controller (controller/finalizer/crd_finalizer.go) deletes every custom resource, each
        after its own finalizers, and the CRD goes once none is left."""
        name = crd["metadata"]["name"]
        if not crd["metadata"].get("deletionTimestamp"):
            marked = copy.deepcopy(crd)
            meta = marked["metadata"]
            meta["deletionTimestamp"] = now_rfc3339()
            meta["deletionGracePeriodSeconds"] = 0
            if CRD_CLEANUP_FINALIZER not in (meta.get("finalizers") or []):
                meta["finalizers"] = [*(meta.get("finalizers") or []), CRD_CLEANUP_FINALIZER]
            status = marked.setdefault("status", {})
            status["conditions"] = [
                c for c in status.get("conditions") or [] if c.get("type") != "Terminating"
            ] + [
                {
                    "type": "Terminating",
                    "status": "True",
                    "reason": "InstanceDeletionInProgress",
                    "message": "CustomResource deletion is in progress",
                    "lastTransitionTime": now_rfc3339(),
                }
            ]
            self._commit(crd_type, "MODIFIED", marked)
            rtype = self._served_type(marked)
            if rtype is not None:
                for obj in list(self._bucket(rtype).values()):
                    self._delete_object(rtype, obj, "Background")
        self._check_crd_drained(name)
        return self._out(self._bucket(crd_type).get(("", name)) or crd, crd_type)

    def _served_type(self, crd: dict) -> ResourceType | None:
        spec = crd["spec"]
        return next(
            (
                t
                for t in self._types.values()
                if t.group == spec["group"] and t.kind == spec["names"]["kind"]
            ),
            None,
        )

    def _finish_crd(self, name: str) -> None:
        with self._lock:
            self._check_crd_drained(name)

    def _check_crd_drained(self, name: str) -> None:
        """A terminating CRD without custom resources left loses its finalizer and goes, and
        its kind is no longer served."""
        crd_type = self._types[("apiextensions.k8s.io", "v1", CRD_KIND)]
        crd = self._bucket(crd_type).get(("", name))
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
        rtype = self._served_type(crd)
        if rtype is not None and self._bucket(rtype):
            return
        spec = crd["spec"]
        self._types = {
            k: t
            for k, t in self._types.items()
            if not (t.group == spec["group"] and t.kind == spec["names"]["kind"])
        }
        self._objects.pop((spec["group"], spec["names"]["kind"]), None)
        finalizers = [f for f in crd["metadata"]["finalizers"] if f != CRD_CLEANUP_FINALIZER]
        released = copy.deepcopy(crd)
        released["metadata"]["finalizers"] = finalizers
        self._commit(crd_type, "MODIFIED", released)
        if not finalizers:
            self._remove_locked(crd_type, released, "Background")

    # -- deletion, garbage collection, namespaces -------------------------------------------

    def _delete_object(self, rtype: ResourceType, obj: dict, propagation: str) -> dict:
        """DELETE of one object: with finalizers it only gets a deletionTimestamp (and
        deletionGracePeriodSeconds 0), as the generic registry's Store.Delete does via
        updateForGracefulDeletionAndFinalizers; otherwise it goes now, with its dependents."""
        meta = obj["metadata"]
        if propagation == "Foreground" and self._dependents(meta["uid"]):
            return self._delete_foreground(rtype, obj)
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                marked = copy.deepcopy(obj)
                marked["metadata"]["deletionTimestamp"] = now_rfc3339()
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                self._commit(rtype, "MODIFIED", marked)
                obj = marked
            return self._out(obj, rtype)
        self._remove_locked(rtype, obj, propagation)
        return self._out(obj, rtype)

    def _delete_foreground(self, rtype: ResourceType, obj: dict) -> dict:
        """Foreground propagation: the object gets the foregroundDeletion finalizer and stays
        until the garbage collector has deleted every dependent that blocks its owner's
        deletion (blockOwnerDeletion); dependents with dependents of their own are deleted in
        the foreground too (garbagecollector.go attemptToDeleteItem)."""
        meta = obj["metadata"]
        if FOREGROUND_FINALIZER not in (meta.get("finalizers") or []):
            marked = copy.deepcopy(obj)
            marked_meta = marked["metadata"]
            marked_meta.setdefault("deletionTimestamp", now_rfc3339())
            marked_meta.setdefault("deletionGracePeriodSeconds", 0)
            marked_meta["finalizers"] = [
                *(marked_meta.get("finalizers") or []),
                FOREGROUND_FINALIZER,
            ]
            self._commit(rtype, "MODIFIED", marked)
            obj = marked
        for dep_type, dependent in self._dependents(meta["uid"]):
            self._delete_object(dep_type, dependent, "Foreground")
        self._release_foreground_owners_of(None, rtype, obj)
        live = self._bucket(rtype).get((self._ns(rtype, meta.get("namespace")), meta["name"]))
        return self._out(live or obj, rtype)

    def _release_foreground_owners_of(
        self, removed: dict | None, rtype: ResourceType, owner: dict | None = None
    ) -> None:
        """After `removed` went (or for `owner` itself): an owner deleted in the foreground
        whose blocking dependents are all gone loses foregroundDeletion, and goes if that was
        its last finalizer."""
        owners: list[tuple[ResourceType, dict]] = []
        if owner is not None:
            owners.append((rtype, owner))
        for ref in (removed or {}).get("metadata", {}).get("ownerReferences") or []:
            found = self._owner(ref, removed["metadata"].get("namespace"))
            if found is not None and found[1] is not None:
                owners.append(found)
        for owner_type, found in owners:
            meta = found["metadata"]
            if FOREGROUND_FINALIZER not in (meta.get("finalizers") or []):
                continue
            blocking = [
                dependent
                for _, dependent in self._dependents(meta["uid"])
                for ref in dependent["metadata"].get("ownerReferences") or []
                if ref.get("uid") == meta["uid"] and ref.get("blockOwnerDeletion")
            ]
            if blocking:
                continue
            released = copy.deepcopy(found)
            released["metadata"]["finalizers"] = [
                f for f in meta["finalizers"] if f != FOREGROUND_FINALIZER
            ]
            self._commit(owner_type, "MODIFIED", released)
            if not released["metadata"]["finalizers"]:
                self._remove_locked(owner_type, released, "Background")

    def _owner(self, ref: dict, namespace: str | None) -> tuple[ResourceType, dict | None] | None:
        """The owner an ownerReference names: (type, object or None when it is gone); None
        when its kind is not served (the garbage collector cannot tell, so it waits)."""
        owner_type = self.resource_type(ref.get("apiVersion", ""), ref.get("kind", ""))
        if owner_type is None:
            return None
        key = (self._ns(owner_type, namespace if owner_type.namespaced else None), ref.get("name"))
        found = self._bucket(owner_type).get(key)
        if found is None or found["metadata"].get("uid") != ref.get("uid"):
            return owner_type, None
        return owner_type, found

    def _collect_if_orphaned(
        self, rtype: ResourceType, namespace: str | None, name: str, uid: str
    ) -> None:
        """The garbage collector (garbagecollector.go attemptToDeleteItem) deletes an object
        whose owners are all gone or being deleted in the foreground: one a controller made
        before it saw its owner's deletion."""
        with self._lock:
            obj = self._bucket(rtype).get((self._ns(rtype, namespace), name))
            if obj is None or obj["metadata"].get("uid") != uid:
                return
            owners = [
                self._owner(ref, namespace) for ref in obj["metadata"].get("ownerReferences") or []
            ]
            if owners and all(
                owner is not None
                and (
                    owner[1] is None
                    or FOREGROUND_FINALIZER in (owner[1]["metadata"].get("finalizers") or [])
                )
                for owner in owners
            ):
                self._delete_object(rtype, obj, "Background")

    def _delete_gracefully(self, rtype: ResourceType, obj: dict, grace_seconds: int) -> dict:
        """A pod's graceful deletion (pod strategy CheckGracefulDelete): it gets a
        deletionTimestamp `grace_seconds` ahead and stays, Terminating, until the kubelet
        deletes it for good once its containers have stopped."""
        if not obj["metadata"].get("deletionTimestamp"):
            marked = copy.deepcopy(obj)
            deadline = datetime.now(timezone.utc) + timedelta(seconds=grace_seconds)
            marked["metadata"]["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
            marked["metadata"]["deletionGracePeriodSeconds"] = grace_seconds
            self._commit(rtype, "MODIFIED", marked)
            obj = marked
        return self._out(obj, rtype)

    def _remove_locked(self, rtype: ResourceType, obj: dict, propagation: str) -> None:
        """Remove the object (DELETED) and let the garbage collector handle its dependents."""
        uid = obj["metadata"]["uid"]
        namespace = obj["metadata"].get("namespace") or ""
        self._commit(rtype, "DELETED", copy.deepcopy(obj))
        if rtype.kind == "Pod":
            self._logs.pop((obj["metadata"].get("namespace", ""), obj["metadata"]["name"]), None)
        for dep_type, dependent in self._dependents(uid):
            if propagation == "Orphan":
                orphan = copy.deepcopy(dependent)
                orphan["metadata"]["ownerReferences"] = [
                    ref for ref in orphan["metadata"]["ownerReferences"] if ref.get("uid") != uid
                ]
                self._commit(dep_type, "MODIFIED", orphan)
            else:
                self._delete_object(dep_type, dependent, propagation)
        if rtype.namespaced and namespace in self._draining:
            self._check_namespace_drained(namespace)
        if self._is_custom(rtype) and self._crd_of(rtype).get("metadata", {}).get(
            "deletionTimestamp"
        ):
            # The CRD finalizer controller notices the last one gone a moment later.
            self._later(
                self._namespace_cleanup_delay, self._finish_crd, f"{rtype.plural}.{rtype.group}"
            )
        self._release_foreground_owners_of(obj, rtype)

    def _dependents(self, uid: str) -> list[tuple[ResourceType, dict]]:
        found = []
        kinds = {(t.group, t.kind): t for t in self._types.values() if t.storage_version}
        for (group, kind), bucket in self._objects.items():
            rtype = kinds.get((group, kind))
            if rtype is None:
                continue
            for obj in list(bucket.values()):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in refs):
                    found.append((rtype, obj))
        return found

    def _terminate_namespace(self, ns_obj: dict, ns_type: ResourceType) -> dict:
        """Mark Terminating now; the namespace controller empties and removes it shortly."""
        if ns_obj.get("status", {}).get("phase") != "Terminating":
            terminating = copy.deepcopy(ns_obj)
            terminating["metadata"]["deletionTimestamp"] = now_rfc3339()
            terminating["metadata"]["deletionGracePeriodSeconds"] = 0
            terminating["status"] = {"phase": "Terminating"}
            self._commit(ns_type, "MODIFIED", terminating)
            self._later(
                self._namespace_cleanup_delay, self._finish_namespace, ns_obj["metadata"]["name"]
            )
        return self._out(self._bucket(ns_type)[("", ns_obj["metadata"]["name"])], ns_type)

    def _namespace_contents(self, name: str) -> list[tuple[ResourceType, dict]]:
        kinds = {
            (t.group, t.kind): t for t in self._types.values() if t.namespaced and t.storage_version
        }
        found = []
        for (group, kind), bucket in list(self._objects.items()):
            rtype = kinds.get((group, kind))
            if rtype is None:
                continue
            found += [(rtype, obj) for (obj_ns, _), obj in list(bucket.items()) if obj_ns == name]
        return found

    def _finish_namespace(self, name: str) -> None:
        """The namespace controller (pkg/controller/namespace/deletion): delete every object
        in the namespace; the namespace goes once none is left, waiting for finalizers."""
        with self._lock:
            for rtype, obj in self._namespace_contents(name):
                key = (name, obj["metadata"]["name"])
                if key in self._bucket(rtype):
                    self._delete_object(rtype, self._bucket(rtype)[key], "Background")
            self._draining.add(name)
            self._check_namespace_drained(name)

    def _check_namespace_drained(self, name: str) -> None:
        ns_type = self._types[("", "v1", "Namespace")]
        ns_obj = self._bucket(ns_type).get(("", name))
        if ns_obj is None or name not in self._draining:
            return
        remaining = self._namespace_contents(name)
        if not remaining and not ns_obj["metadata"].get("finalizers"):
            self._draining.discard(name)
            self._remove_locked(ns_type, ns_obj, "Background")
            return
        # status_condition_utils.go: the conditions a namespace stuck in Terminating shows.
        by_resource: dict[str, int] = {}
        by_finalizer: dict[str, int] = {}
        for rtype, obj in remaining:
            by_resource[rtype.qualified_plural] = by_resource.get(rtype.qualified_plural, 0) + 1
            for finalizer in obj["metadata"].get("finalizers") or []:
                by_finalizer[finalizer] = by_finalizer.get(finalizer, 0) + 1
        stamp = now_rfc3339()
        conditions = [
            ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
             "All resources successfully discovered"),
            ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
             "All legacy kube types successfully parsed"),
            ("NamespaceDeletionContentFailure", "False", "ContentDeleted",
             "All content successfully deleted, may be waiting on finalization"),
            ("NamespaceContentRemaining", "True" if by_resource else "False",
             "SomeResourcesRemain" if by_resource else "ContentRemoved",
             "Some resources are remaining: "
             + ", ".join(f"{r} has {n} resource instances" for r, n in sorted(by_resource.items()))
             if by_resource else "All content successfully removed"),
            ("NamespaceFinalizersRemaining", "True" if by_finalizer else "False",
             "SomeFinalizersRemain" if by_finalizer else "ContentHasNoFinalizers",
             "Some content in the namespace has finalizers remaining: "
             + ", ".join(f"{f} in {n} resource instances" for f, n in sorted(by_finalizer.items()))
             if by_finalizer else "All content-preserving finalizers finished"),
        ]  # fmt: skip
        old = {c["type"]: c for c in ns_obj.get("status", {}).get("conditions") or []}
        status = {
            "phase": "Terminating",
            "conditions": [
                {
                    "type": kind,
                    "status": state,
                    "lastTransitionTime": old[kind]["lastTransitionTime"]
                    if kind in old and old[kind]["status"] == state
                    else stamp,
                    "reason": reason,
                    "message": message,
                }
                for kind, state, reason, message in conditions
            ],
        }
        if ns_obj.get("status") != status:
            updated = copy.deepcopy(ns_obj)
            updated["status"] = status
            self._commit(ns_type, "MODIFIED", updated)


def _storage_key(rtype: ResourceType) -> tuple[str, str]:
    """Where a kind's objects live: events.k8s.io Events are stored as v1 Events."""
    return ("", "Event") if _is_events_v1(rtype) else (rtype.group, rtype.kind)


def _merge_into(target: dict, key: str, applied: object, associative: bool) -> None:
    if key in target:
        target[key] = merge_applied(target[key], applied, key, associative)
    else:
        target[key] = copy.deepcopy(applied)


def _labels_match(obj: dict, labels: dict | None) -> bool:
    if not labels:
        return True
    actual = obj.get("metadata", {}).get("labels") or {}
    return all(actual.get(k) == v for k, v in labels.items())


def _spec_of(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _without_revision(obj: dict) -> dict:
    result = copy.deepcopy(obj)
    result.get("metadata", {}).pop("resourceVersion", None)
    result.pop("apiVersion", None)
    return result


def _is_established(crd: dict) -> bool:
    return any(
        c.get("type") == "Established" and c.get("status") == "True"
        for c in crd.get("status", {}).get("conditions", [])
    )


def _owner_key(entry: dict) -> str:
    """Identifies a managedFields entry the way structured-merge-diff names managers."""
    return json.dumps(
        {k: entry.get(k, "") for k in ("manager", "operation", "subresource")}, sort_keys=True
    ) + (entry.get("apiVersion", "") if entry.get("operation") == "Update" else "")


def _ownership(obj: dict) -> dict[str, set[FieldPath]]:
    return {
        _owner_key(entry): fields_v1_to_paths(entry.get("fieldsV1") or {})
        for entry in obj.get("metadata", {}).get("managedFields") or []
    }


def _managed_entry(base: dict, paths: set[FieldPath]) -> dict:
    return {
        **base,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": paths_to_fields_v1(paths),
    }


def _manager_label(owner_key: str) -> str:
    """printManager of apimachinery `managedfields/internal/conflict.go`."""
    info = json.loads(owner_key[: owner_key.index("}") + 1])
    text = json.dumps(info["manager"])
    if info["subresource"]:
        text += f' with subresource "{info["subresource"]}"'
    if info["operation"] == "Update":
        text += f" using {owner_key[owner_key.index('}') + 1 :]}"
    return text


def _apply_conflict(conflicts: list[tuple[str, FieldPath]]) -> Conflict:
    """NewConflictError/getConflictMessage of apimachinery `managedfields/internal/conflict.go`."""
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {_manager_label(k)}",
            "field": path_to_string(p),
        }
        for k, p in conflicts
    ]
    if len(conflicts) == 1:
        key, path = conflicts[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {_manager_label(key)}:"
            f" {path_to_string(path)}"
        )
    else:
        by_manager: dict[str, list[str]] = {}
        for key, path in conflicts:
            by_manager.setdefault(_manager_label(key), []).append(path_to_string(path))
        lines = []
        for label in sorted(by_manager):
            lines.append(f"conflicts with {label}:")
            lines += [f"- {p}" for p in by_manager[label]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return Conflict(message, {"causes": causes})
