"""The Kubernetes REST API of the simulated cluster, served over plain HTTP from the Store.

Request handling follows k8s.io/apiserver `pkg/endpoints/handlers/{create,update,patch,delete,
get,watch}.go` and `pkg/endpoints/discovery`, Status bodies follow
k8s.io/apimachinery `pkg/api/errors/errors.go`, tables follow
kubernetes `pkg/printers/internalversion/printers.go` and apiextensions-apiserver
`pkg/registry/customresource/tableconvertor`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import re
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.sim.faults import HELD_POD_LOGS, HELD_POD_LOGS_SECONDS, Faults
from tests.sim.store import (
    BUILTIN_TYPES,
    BadRequest,
    Conflict,
    Expired,
    Forbidden,
    Invalid,
    NotFound,
    ResourceType,
    Store,
    StoreError,
    invalid,
    list_merge_key,
)

logger = logging.getLogger(__name__)
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
WATCH_IDLE_DROP_SECONDS = 1.0
BOOKMARK_INTERVAL_SECONDS = 0.5
DEFAULT_WATCH_TIMEOUT_SECONDS = 1800
TABLE_MEDIA = "as=Table"
# maxRetryWhenPatchConflicts of apiserver handlers/patch.go
PATCH_CONFLICT_ATTEMPTS = 5


class UnsupportedMediaType(StoreError):
    code = 415
    reason = "UnsupportedMediaType"


class MethodNotAllowed(StoreError):
    code = 405
    reason = "MethodNotAllowed"


class ServiceUnavailable(StoreError):
    code = 503
    reason = "ServiceUnavailable"


def status_body(error: StoreError) -> dict:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "details": error.details,
        "code": error.code,
    }
    if error.reason == "InternalError" and error.code != 500:
        body["reason"] = ""
    return body


def unserved() -> NotFound:
    return NotFound("the server could not find the requested resource")


# ---------------------------------------------------------------------------------------------
# Version ordering (k8s.io/apimachinery pkg/version/helpers.go CompareKubeAwareVersionStrings)

_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    match = _KUBE_VERSION.match(version)
    if not match:
        return (0, 0, 0, version)
    major, stage, minor = match.groups()
    stage_rank = {"alpha": 1, "beta": 2, None: 3}[stage]
    return (1, stage_rank, int(major), int(minor or 0))


def sorted_versions(versions: set[str]) -> list[str]:
    return sorted(versions, key=version_priority, reverse=True)


# ---------------------------------------------------------------------------------------------
# Selectors (k8s.io/apimachinery pkg/labels/selector.go, pkg/fields/selector.go)

_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9_.-]*))?\s*$"
)


def _split_selector(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def parse_label_selector(text: str) -> list[tuple[str, str, list[str]]]:
    requirements = []
    for part in _split_selector(text or ""):
        match = _REQUIREMENT.match(part)
        if not match:
            raise BadRequest(f"unable to parse requirement: found '{part.strip()}'")
        key, op, value = match["key"], (match["op"] or "").strip(), match["value"]
        if match["neg"]:
            if op:
                raise BadRequest(f"unable to parse requirement: found '{part.strip()}'")
            requirements.append((key, "!", []))
        elif not op:
            requirements.append((key, "exists", []))
        elif op in ("in", "notin"):
            if not value or not value.startswith("("):
                raise BadRequest(f"unable to parse requirement: found '{part.strip()}'")
            values = [v.strip() for v in value[1:-1].split(",") if v.strip()]
            requirements.append((key, op, values))
        else:
            requirements.append((key, "!=" if op == "!=" else "=", [value or ""]))
    return requirements


def labels_match(labels: dict, requirements: list[tuple[str, str, list[str]]]) -> bool:
    for key, op, values in requirements:
        present = key in labels
        if (
            (op == "exists" and not present)
            or (op == "!" and present)
            or (op == "=" and labels.get(key) != values[0])
            or (op == "!=" and present and labels[key] == values[0])
            or (op == "in" and labels.get(key) not in values)
            or (op == "notin" and present and labels[key] in values)
        ):
            return False
    return True


_FIELD_SELECTORS = {
    "Event": (
        "involvedObject.kind",
        "involvedObject.name",
        "involvedObject.namespace",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "reason",
        "type",
    ),
    "Pod": ("status.phase", "spec.nodeName"),
}


def parse_field_selector(text: str, rtype: ResourceType) -> list[tuple[str, bool, str]]:
    allowed = ("metadata.name", "metadata.namespace", *_FIELD_SELECTORS.get(rtype.kind, ()))
    requirements = []
    for part in _split_selector(text or ""):
        match = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        path, op, value = match.groups()
        if path not in allowed:
            raise BadRequest(f"field label not supported: {path}")
        requirements.append((path, op == "!=", value))
    return requirements


def fields_match(obj: dict, requirements: list[tuple[str, bool, str]]) -> bool:
    for path, negate, value in requirements:
        current: object = obj
        for part in path.split("."):
            current = current.get(part, "") if isinstance(current, dict) else ""
        if (str(current) == value) == negate:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# Patches


def json_merge_patch(target: object, patch: object) -> object:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: object, patch: object, field_name: str = "") -> object:
    """Strategic merge patch for built-in types (k8s.io/apimachinery pkg/util/strategicpatch):
    maps merge, lists with a patch merge key merge by key, `$patch` and `$setElementOrder`,
    `$retainKeys` and `$deleteFromPrimitiveList` directives are honoured minimally."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            list_name = key.split("/", 1)[1]
            result[list_name] = [v for v in result.get(list_name, []) if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, key)
        else:
            merged = strategic_merge_patch(result.get(key), value, key)
            if isinstance(value, dict) and value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _merge_list(live: list, patch: list, field_name: str) -> list:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    key_name = list_merge_key(field_name, [i for i in patch if isinstance(i, dict)] or live)
    if not key_name:
        return copy.deepcopy(patch)
    result = copy.deepcopy(live)
    for item in patch:
        index = next(
            (
                n
                for n, existing in enumerate(result)
                if existing.get(key_name) == item.get(key_name)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise BadRequest(f"invalid JSON pointer: {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(target: dict, operations: list) -> dict:
    """RFC 6902."""
    doc = copy.deepcopy(target)

    def parent_of(parts: list[str]) -> tuple[object, str]:
        node: object = doc
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node, parts[-1]

    def read(path: str) -> object:
        node: object = doc
        for part in _pointer(path):
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def add(path: str, value: object) -> None:
        parent, key = parent_of(_pointer(path))
        if isinstance(parent, list):
            parent.insert(len(parent) if key == "-" else int(key), copy.deepcopy(value))
        else:
            parent[key] = copy.deepcopy(value)

    def remove(path: str) -> object:
        parent, key = parent_of(_pointer(path))
        return parent.pop(int(key)) if isinstance(parent, list) else parent.pop(key)

    try:
        for op in operations:
            kind, path = op.get("op"), op.get("path", "")
            if kind == "add":
                add(path, op["value"])
            elif kind == "remove":
                remove(path)
            elif kind == "replace":
                remove(path)
                add(path, op["value"])
            elif kind == "move":
                add(path, remove(op["from"]))
            elif kind == "copy":
                add(path, read(op["from"]))
            elif kind == "test":
                if read(path) != op.get("value"):
                    raise Invalid(
                        f"the server rejected our request due to an error in our"
                        f" request: testing value {path} failed"
                    )
            else:
                raise BadRequest(f"Unexpected kind: {kind}")
    except (KeyError, IndexError, ValueError, TypeError) as error:
        raise Invalid(
            f"the server rejected our request due to an error in our request: {error}"
        ) from None
    return doc


# ---------------------------------------------------------------------------------------------
# Tables


def _with_rest(amount: int, unit: str, rest: int, rest_unit: str) -> str:
    """`5m`, or `5m30s` when there is a rest."""
    return f"{amount}{unit}" if rest == 0 else f"{amount}{unit}{rest}{rest_unit}"


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery pkg/util/duration HumanDuration."""
    total = int(seconds)
    if total < -1:
        return "<invalid>"
    if total < 0:
        return "0s"
    if total < 120:
        return f"{total}s"
    minutes = total // 60
    if minutes < 10:
        return _with_rest(minutes, "m", total % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = total // 3600
    if hours < 8:
        return _with_rest(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _with_rest(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return f"{hours // (24 * 365)}y{(hours // 24) % 365}d"
    return f"{hours // (24 * 365)}y"


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return human_duration((datetime.now(timezone.utc) - created).total_seconds())


_JSONPATH_TOKEN = re.compile(
    r"\.(?P<name>(?:\\.|[A-Za-z0-9_/-])+)"
    r"|\[\s*(?P<quote>['\"])(?P<key>(?:\\.|(?!(?P=quote)).)*)(?P=quote)\s*\]"
    r"|\[\?\(@\.(?P<filter_key>[A-Za-z0-9_.-]+)\s*==\s*[\"'](?P<filter_value>[^\"']*)[\"']\)\]"
    r"|\[(?P<index>\d+|\*)\]"
)


def _unescape(key: str) -> str:
    """client-go jsonpath: a backslash takes the next character literally (`serving\\.knative`)."""
    return re.sub(r"\\(.)", r"\1", key)


def jsonpath_values(obj: object, expression: str) -> list:
    """The simple JSONPath of CRD printer columns: .a.b, .a\\.b, ['a.b'] (escaped dots
    too, as in `.metadata.labels['serving\\.knative\\.dev/configuration']`), [n], [*],
    [?(@.k=="v")]."""
    nodes = [obj]
    for token in _JSONPATH_TOKEN.finditer(expression.strip().strip("{}")):
        name, key, filter_key, index = token.group("name", "key", "filter_key", "index")
        if name is not None or key is not None:
            name = _unescape(name if name is not None else key)
        next_nodes = []
        for node in nodes:
            if name is not None:
                if isinstance(node, dict) and name in node:
                    next_nodes.append(node[name])
            elif filter_key:
                if isinstance(node, list):
                    next_nodes += [
                        i
                        for i in node
                        if isinstance(i, dict)
                        and str(i.get(filter_key)) == token.group("filter_value")
                    ]
            elif isinstance(node, list):
                next_nodes += node if index == "*" else node[int(index) : int(index) + 1]
        nodes = next_nodes
    return nodes


def _column(
    name: str, kind: str = "string", description: str = "", priority: int = 0, fmt: str = ""
) -> dict:
    return {
        "name": name,
        "type": kind,
        "format": fmt,
        "description": description,
        "priority": priority,
    }


NAME_COLUMN = _column("Name", fmt="name", description="Name must be unique within a namespace.")
AGE_COLUMN = _column(
    "Age",
    description="CreationTimestamp is a timestamp representing the server"
    " time when this object was created.",
)


def _pod_cells(pod: dict) -> list:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    containers = pod.get("spec", {}).get("containers") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(s.get("restartCount", 0) for s in statuses)
    reason = pod.get("status", {}).get("phase") or "Pending"
    for status in statuses:
        waiting = (status.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return [f"{ready}/{len(containers)}", reason, restarts]


def _service_cells(service: dict) -> list:
    spec = service.get("spec", {})
    ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress)
    if not external:
        external = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    ports = (
        ",".join(
            f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}"
            if p.get("nodePort")
            else f"{p.get('port')}/{p.get('protocol', 'TCP')}"
            for p in spec.get("ports") or []
        )
        or "<none>"
    )
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP", "<none>"), external, ports]


def _deployment_cells(deployment: dict) -> list:
    status = deployment.get("status", {})
    return [
        f"{status.get('readyReplicas', 0)}/{deployment.get('spec', {}).get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
    ]


def _node_cells(node: dict) -> list:
    ready = next(
        (c for c in node.get("status", {}).get("conditions", []) if c.get("type") == "Ready"), {}
    )
    roles = sorted(
        k.split("/", 1)[1]
        for k in node["metadata"].get("labels", {})
        if k.startswith("node-role.kubernetes.io/")
    )
    return [
        "Ready" if ready.get("status") == "True" else "NotReady",
        ",".join(roles) or "<none>",
        node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
    ]


def _replica_set_cells(replica_set: dict) -> list:
    status = replica_set.get("status", {})
    return [
        replica_set.get("spec", {}).get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
    ]


# kind -> (columns between NAME and AGE, cell function)
_BUILTIN_TABLES = {
    ("apps", "ReplicaSet"): (
        [
            _column("Desired", "integer", "Number of desired pods."),
            _column("Current", "integer", "Number of actual replicas."),
            _column("Ready", "integer", "Number of ready replicas."),
        ],
        _replica_set_cells,
    ),
    ("apps", "StatefulSet"): (
        [_column("Ready", description="Number of the pod with ready state")],
        lambda sts: [
            f"{sts.get('status', {}).get('readyReplicas', 0)}/"
            f"{sts.get('spec', {}).get('replicas', 0)}"
        ],
    ),
    ("apps", "Deployment"): (
        [
            _column("Ready", description="Number of the pod with ready state"),
            _column(
                "Up-to-date",
                "integer",
                "Total number of non-terminated pods targeted by this"
                " deployment that have the desired template spec.",
            ),
            _column(
                "Available",
                "integer",
                "Total number of available pods (ready for at least"
                " minReadySeconds) targeted by this deployment.",
            ),
        ],
        _deployment_cells,
    ),
    ("", "Pod"): (
        [
            _column(
                "Ready",
                description="The aggregate readiness state of this pod for accepting traffic.",
            ),
            _column("Status", description="The aggregate status of the containers in this pod."),
            _column(
                "Restarts",
                "string",
                "The number of times the containers in this pod have"
                " been restarted and when the last container in this pod has restarted.",
            ),
        ],
        _pod_cells,
    ),
    ("", "Service"): (
        [
            _column("Type", description="The type of the service."),
            _column("Cluster-IP", description="The cluster IP of the service."),
            _column("External-IP", description="The external IP of the service."),
            _column("Port(s)", description="The ports of the service."),
        ],
        _service_cells,
    ),
    ("", "Namespace"): (
        [_column("Status", description="The status of the namespace")],
        lambda ns: [ns.get("status", {}).get("phase", "")],
    ),
    ("", "Node"): (
        [
            _column("Status", description="The status of the node"),
            _column("Roles", description="The roles of the node"),
        ],
        lambda node: _node_cells(node)[:2],
    ),
}


_EVENT_COLUMNS = [
    _column("Last Seen", description="Time since the event was last seen"),
    _column("Type", description="The type of the event"),
    _column("Reason", description="The reason of the event"),
    _column("Object", description="The object the event is about"),
    _column("Message", description="A human-readable description of the event"),
    {**NAME_COLUMN, "priority": 1},
]


def _event_cells(event: dict) -> list:
    involved = event.get("involvedObject") or event.get("regarding") or {}
    seen = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    return [
        age(seen[:19] + "Z" if seen else None),
        event.get("type", ""),
        event.get("reason", ""),
        f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
        event.get("message") or event.get("note", ""),
        event["metadata"]["name"],
    ]


def table_columns(rtype: ResourceType) -> list[dict]:
    if rtype.kind == "Event":
        return _EVENT_COLUMNS
    if rtype.printer_columns:
        return [NAME_COLUMN] + [
            _column(
                c["name"],
                c.get("type", "string"),
                c.get("description", ""),
                c.get("priority", 0),
                c.get("format", ""),
            )
            for c in rtype.printer_columns
        ]
    if rtype.kind == "CustomResourceDefinition":
        return [NAME_COLUMN, _column("Created At", "date")]
    columns = _BUILTIN_TABLES.get((rtype.group, rtype.kind), ([], None))[0]
    extra = [_column("Version", description="Kubelet Version")] if rtype.kind == "Node" else []
    return [NAME_COLUMN, *columns, AGE_COLUMN, *extra]


def table_cells(rtype: ResourceType, obj: dict) -> list:
    if rtype.kind == "Event":
        return _event_cells(obj)
    name = obj["metadata"]["name"]
    if rtype.printer_columns:
        cells = [name]
        for column in rtype.printer_columns:
            values = jsonpath_values(obj, column.get("jsonPath", ""))
            value = values[0] if values else None
            if value is not None and column.get("type") == "date":
                value = age(value)
            elif isinstance(value, (dict, list)):
                value = json.dumps(value, separators=(",", ":"))
            cells.append(value)
        return cells
    if rtype.kind == "CustomResourceDefinition":
        return [name, obj["metadata"].get("creationTimestamp")]
    _, cell_function = _BUILTIN_TABLES.get((rtype.group, rtype.kind), ([], None))
    middle = cell_function(obj) if cell_function else []
    extra = [_node_cells(obj)[2]] if rtype.kind == "Node" else []
    return [name, *middle, age(obj["metadata"].get("creationTimestamp")), *extra]


def table_row(rtype: ResourceType, obj: dict, include_object: str) -> dict:
    row = {"cells": table_cells(rtype, obj)}
    if include_object == "Object":
        row["object"] = obj
    elif include_object != "None":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return row


def table(
    rtype: ResourceType,
    objects: list[dict],
    include_object: str,
    resource_version: str,
    with_columns: bool = True,
) -> dict:
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": table_columns(rtype) if with_columns else [],
        "rows": [table_row(rtype, obj, include_object) for obj in objects],
    }


# ---------------------------------------------------------------------------------------------
# Discovery


def resource_list(store: Store, group: str, version: str) -> dict | None:
    types = [t for t in store.resource_types() if (t.group, t.version) == (group, version)]
    if not types:
        return None
    resources = []
    for rtype in sorted(types, key=lambda t: t.plural):
        resources.append(
            {
                "name": rtype.plural,
                "singularName": rtype.singular,
                "namespaced": rtype.namespaced,
                "kind": rtype.kind,
                "verbs": VERBS,
                **({"shortNames": list(rtype.short_names)} if rtype.short_names else {}),
                **({"categories": list(rtype.categories)} if rtype.categories else {}),
            }
        )
        if rtype.has_status:
            resources.append(
                {
                    "name": f"{rtype.plural}/status",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        for sub in rtype.extra_subresources:
            resources.append(
                {
                    "name": f"{rtype.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": rtype.kind,
                    "verbs": ["get"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def api_groups(store: Store) -> list[dict]:
    versions: dict[str, set[str]] = {}
    for rtype in store.resource_types():
        if rtype.group:
            versions.setdefault(rtype.group, set()).add(rtype.version)
    groups = []
    for group in sorted(versions, key=_group_order):
        ordered = sorted_versions(versions[group])
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return groups


def _group_order(group: str) -> tuple:
    # Built-in groups first (as the real server lists them), then CRD groups by name.
    builtin = group.endswith(".k8s.io") or "." not in group
    return (0 if builtin else 1, group)


# ---------------------------------------------------------------------------------------------
# OpenAPI v3: just enough for kubectl's field-validation probe (kubectl `resource`
# `query_param_verifier_v3.go` looks for a PATCH operation tagged with the GVK that takes the
# `fieldValidation` query parameter); schemas are not published, so kubectl computes
# strategic merge patches from its compiled-in types, as it does against servers < 1.27.

_PATCH_PARAMETERS = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
]


def _openapi_path_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_v3_document(store: Store, group: str, version: str) -> dict | None:
    types = [t for t in store.resource_types() if (t.group, t.version) == (group, version)]
    if not types:
        return None
    prefix = "/" + _openapi_path_key(group, version)
    paths = {}
    for rtype in types:
        scope = f"{prefix}/namespaces/{{namespace}}" if rtype.namespaced else prefix
        gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        paths[f"{scope}/{rtype.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{rtype.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": _PATCH_PARAMETERS,
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {},
    }


def openapi_v3_index(store: Store) -> dict:
    group_versions = sorted({(t.group, t.version) for t in store.resource_types()})
    index = {}
    for group, version in group_versions:
        document = openapi_v3_document(store, group, version)
        digest = hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()
        key = _openapi_path_key(group, version)
        index[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest.upper()}"}
    return {"paths": index}


def _proto_bytes(field_number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2); payloads here are < 128 bytes."""
    return bytes([field_number << 3 | 2, len(payload)]) + payload


def _proto_string(field_number: int, text: str) -> bytes:
    return _proto_bytes(field_number, text.encode())


# ---------------------------------------------------------------------------------------------
# HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, api: ApiServer, port: int = 0) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:
        # Headers and body are separate writes: without this, Nagle plus delayed ACKs add
        # 40 ms to every response.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up (watch consumers, keep-alive pools) are routine, not errors."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class ApiServer:
    """Serves the store over HTTP on 127.0.0.1 at a free port."""

    def __init__(
        self, store: Store, faults: Faults, kubernetes_version: str = "1.27.3", port: int = 0
    ) -> None:
        self.store = store
        self.faults = faults
        self.kubernetes_version = kubernetes_version
        self.stopping = threading.Event()
        # hang(): a server that takes connections and answers nothing (a frozen process).
        self.hung = threading.Event()
        self._server = _Server(self, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="sim-apiserver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def hang(self) -> None:
        """From now on accept connections and never answer, open watches included."""
        self.hung.set()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        with self._server.connections_lock:
            open_connections = list(self._server.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)

    def version_info(self) -> dict:
        major, minor, _ = (self.kubernetes_version.split(".") + ["0", "0"])[:3]
        return {
            "major": major,
            "minor": minor,
            "gitVersion": f"v{self.kubernetes_version}",
            "gitCommit": "25b4e43193bcda6c7328a6d147b1fb73a33f1598",
            "gitTreeState": "clean",
            "buildDate": "2023-06-15T00:36:28Z",
            "goVersion": "go1.20.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACK
    # add ~40 ms to every request.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silence per-request logging: the self-tests would drown in it."""

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def api(self) -> ApiServer:
        return self.server.api

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _send_json(self, code: int, body: object, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self._send_warnings()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _failed_by_burst(
        self, watch: bool = False, rtype: ResourceType | None = None, namespace: str | None = None
    ) -> bool:
        """Answer this request with the error of an armed burst (fault api-5xx-burst), if any:
        a 403 is RBAC's refusal, worded as the authorizer words it."""
        burst_code = self.api.faults.next_resource_request_error(watch)
        if burst_code is None:
            return False
        error = ServiceUnavailable("the server is currently unable to handle the request")
        if burst_code == 403 and rtype is not None:
            # k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            error = Forbidden(
                f'{rtype.qualified_plural} is forbidden: User "kubernetes-admin" cannot '
                f'{"watch" if watch else "list"} resource "{rtype.plural}" in API group '
                f'"{rtype.group}" {scope}',
                {"group": rtype.group, "kind": rtype.plural},
            )
        elif burst_code != 503:
            error.code = burst_code
            error.reason = "InternalError"
            error.message = 'an error on the server ("") has prevented the request from succeeding'
        self._send_error(error)
        return True

    def _send_warnings(self) -> None:
        """Warnings of this request (admission, unknown fields) as RFC 7234 Warning headers,
        `299 - "<text>"` (k8s.io/apiserver pkg/endpoints/filters/warning.go)."""
        for text in getattr(self, "_warnings", None) or []:
            self.send_header("Warning", f"299 - {json.dumps(text)}")

    def _send_error(self, error: StoreError) -> None:
        self._send_json(error.code, status_body(error))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        parts = [p for p in url.path.split("/") if p]
        body = self._read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
        if self.api.hung.is_set():
            self.api.stopping.wait()
            self.close_connection = True
            return
        # The handlers' default field validation is Warn (apiserver handlers `fieldValidation`).
        field_validation = query.get("fieldValidation") or "Warn"
        try:
            with self.api.store.request_scope(field_validation) as self._warnings:
                if field_validation not in ("Ignore", "Warn", "Strict"):
                    raise BadRequest(
                        f'fieldValidation: Unsupported value: "{field_validation}": supported'
                        ' values: "Ignore", "Strict", "Warn"'
                    )
                self._route(method, parts, query, body)
        except StoreError as error:
            self._send_error(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:
            # A bug in the simulation: answer like the real server's panic handler would.
            logger.exception("simulated API server failed on %s %s", method, self.path)
            self._send_error(StoreError(f"Internal error occurred: {error!r}"))

    def _route(self, method: str, parts: list[str], query: dict, body: bytes) -> None:
        if parts == ["version"]:
            self._send_json(200, self.api.version_info())
            return
        if parts in (["healthz"], ["readyz"], ["livez"]):
            data = b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if parts and parts[0] == "openapi" and parts[1:2] == ["v3"]:
            if len(parts) == 2:
                self._send_json(200, openapi_v3_index(self.api.store))
                return
            group, version = (
                (parts[3], parts[4])
                if parts[2] == "apis" and len(parts) == 5
                else ("", parts[3])
                if parts[2] == "api" and len(parts) == 4
                else (None, None)
            )
            document = (
                None if version is None else openapi_v3_document(self.api.store, group, version)
            )
            if document is None:
                self._send_not_found_page()
                return
            self._send_json(200, document)
            return
        if parts == ["openapi", "v2"]:
            self._openapi_v2()
            return
        if not parts or parts[0] not in ("api", "apis"):
            self._send_not_found_page()
            return
        if parts[0] == "api":
            if len(parts) == 1:
                self._send_json(
                    200,
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [
                            {"clientCIDR": "0.0.0.0/0", "serverAddress": "172.18.0.2:6443"}
                        ],
                    },
                )
                return
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 1:
                self._send_json(
                    200,
                    {
                        "kind": "APIGroupList",
                        "apiVersion": "v1",
                        "groups": api_groups(self.api.store),
                    },
                )
                return
            if len(parts) == 2:
                found = next((g for g in api_groups(self.api.store) if g["name"] == parts[1]), None)
                if found is None:
                    raise unserved()
                self._send_json(200, {"kind": "APIGroup", "apiVersion": "v1", **found})
                return
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            listing = resource_list(self.api.store, group, version)
            if listing is None:
                raise unserved()
            self._send_json(200, listing)
            return
        self._resource(method, group, version, rest, query, body)

    def _openapi_v2(self) -> None:
        """An OpenAPI v2 document with no definitions.

        kubectl <= 1.27 insists on fetching it (protobuf, gnostic `openapi_v2.Document`) before
        validating; with no definitions it validates nothing client-side, as for a CRD with no
        published schema.
        """
        info = {"title": "Kubernetes", "version": f"v{self.api.kubernetes_version}"}
        if "protobuf" in (self.headers.get("Accept") or ""):
            data = _proto_string(1, "2.0") + _proto_bytes(
                2, _proto_string(1, info["title"]) + _proto_string(2, info["version"])
            )
            self.send_response(200)
            self.send_header(
                "Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._send_json(200, {"swagger": "2.0", "info": info, "paths": {}, "definitions": {}})

    def _send_not_found_page(self) -> None:
        data = b"404 page not found\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- resources ----------------------------------------------------------------------------

    def _resource(
        self, method: str, group: str, version: str, rest: list[str], query: dict, body: bytes
    ) -> None:
        watching = rest[0] == "watch"
        if watching:
            rest = rest[1:]
        namespace = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise unserved()
        plural, name, subresource = (rest + [None, None])[:3]
        rtype = self.api.store.resource_type_for_plural(group, version, plural)
        if rtype is None or (namespace is not None and not rtype.namespaced):
            raise unserved()
        if subresource and not (
            (subresource == "status" and rtype.has_status)
            or subresource in rtype.extra_subresources
        ):
            raise unserved()
        if query.get("watch") in ("true", "1"):
            watching = True
        if watching:
            if name:
                query["fieldSelector"] = ",".join(
                    filter(None, [query.get("fieldSelector"), f"metadata.name={name}"])
                )
            if method != "GET" or subresource:
                raise MethodNotAllowed(
                    "the server does not allow this method on the requested resource"
                )
            if not self._failed_by_burst(watch=True, rtype=rtype, namespace=namespace):
                self._watch(rtype, namespace, query)
            return
        if self._failed_by_burst():
            return
        handler = {
            ("GET", False): self._list,
            ("GET", True): self._get,
            ("POST", False): self._create,
            ("PUT", True): self._replace,
            ("PATCH", True): self._patch,
            ("DELETE", True): self._delete,
            ("DELETE", False): self._delete_collection,
        }.get((method, name is not None))
        if handler is None:
            raise MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        handler(rtype, namespace, name, subresource, query, body)

    def _wants_table(self) -> bool:
        accept = self.headers.get("Accept", "")
        return TABLE_MEDIA in accept and "g=meta.k8s.io" in accept

    def _get(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        query: dict,
        body: bytes,
    ) -> None:
        if subresource == "log":
            self._log(namespace or "", name, query)
            return
        obj = self.api.store.get(rtype.api_version, rtype.kind, name, namespace)
        if obj is None:
            raise _not_found(rtype, name)
        if self._wants_table():
            self._send_json(
                200,
                table(
                    rtype,
                    [obj],
                    query.get("includeObject", "Metadata"),
                    obj["metadata"]["resourceVersion"],
                ),
            )
            return
        self._send_json(200, obj)

    def _list(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
        query: dict,
        body: bytes,
    ) -> None:
        objects, revision = self.api.store.list_with_revision(
            rtype.api_version, rtype.kind, namespace
        )
        objects = _selected(objects, rtype, query)
        if self._wants_table():
            self._send_json(
                200, table(rtype, objects, query.get("includeObject", "Metadata"), revision)
            )
            return
        self._send_json(
            200,
            {
                "kind": f"{rtype.kind}List",
                "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": revision},
                "items": objects,
            },
        )

    def _decode(self, body: bytes, rtype: ResourceType, yaml_allowed: bool = False) -> dict:
        try:
            text = body.decode()
            obj = yaml.safe_load(text) if yaml_allowed else json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
            raise BadRequest(f"the object provided is unrecognized: {error}") from None
        if not isinstance(obj, dict):
            raise BadRequest(f"the object provided is unrecognized (must be of type {rtype.kind})")
        return obj

    def _check_identity(
        self, obj: dict, rtype: ResourceType, namespace: str | None, name: str | None
    ) -> dict:
        """Fill and check apiVersion, kind, namespace and name against the URL (rest.go)."""
        obj.setdefault("apiVersion", rtype.api_version)
        obj.setdefault("kind", rtype.kind)
        if obj["apiVersion"] != rtype.api_version:
            raise BadRequest(
                f"the API version in the data ({obj['apiVersion']}) does not match"
                f" the expected API version ({rtype.api_version})"
            )
        if obj["kind"] != rtype.kind:
            raise BadRequest(
                f"the kind in the data ({obj['kind']}) does not match the expected"
                f" kind ({rtype.kind})"
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise BadRequest("metadata must be an object")
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise BadRequest(
                    "the namespace of the provided object does not match the"
                    " namespace sent on the request"
                )
            meta["namespace"] = namespace
        if name is not None and meta.get("name") and meta["name"] != name:
            raise BadRequest(
                f"the name of the object ({meta['name']}) does not match the name"
                f" on the URL ({name})"
            )
        if name is not None:
            meta["name"] = name
        return obj

    def _manager(self, query: dict) -> str:
        manager = query.get("fieldManager")
        if manager:
            return manager
        # apiserver `fieldmanager` prefixFromUserAgent
        return (self.headers.get("User-Agent") or "unknown").split("/", 1)[0][:128]

    def _create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
        query: dict,
        body: bytes,
    ) -> None:
        if rtype.namespaced and namespace is None:
            raise unserved()
        obj = self._check_identity(self._decode(body, rtype), rtype, namespace, None)
        obj.get("metadata", {}).pop("managedFields", None)
        if rtype.has_status:
            # PrepareForCreate of every registry with a status subresource resets it.
            obj.pop("status", None)
        dry_run = query.get("dryRun") == "All"
        manager = self._manager(query)
        created = self.api.store.create(obj, dry_run=dry_run)
        if not dry_run:
            self.api.store.record_update_ownership(None, created, manager)
            created = (
                self.api.store.get(
                    rtype.api_version, rtype.kind, created["metadata"]["name"], namespace
                )
                or created
            )
        self._send_json(201, created)

    def _replace(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        query: dict,
        body: bytes,
    ) -> None:
        obj = self._check_identity(self._decode(body, rtype), rtype, namespace, name)
        if rtype not in BUILTIN_TYPES and not obj["metadata"].get("resourceVersion"):
            # The customresource strategy disallows unconditional updates (generic registry
            # Store.Update: AllowUnconditionalUpdate false and resourceVersion 0).
            raise invalid(
                rtype,
                name,
                [
                    (
                        "metadata.resourceVersion",
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        self._write(rtype, namespace, name, subresource, query, obj)

    def _write(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        query: dict,
        obj: dict,
    ) -> None:
        store = self.api.store
        dry_run = query.get("dryRun") == "All"
        live = store.get(rtype.api_version, rtype.kind, name, namespace)
        if live is None:
            raise _not_found(rtype, name)
        if subresource == "status":
            expected_rv = obj["metadata"].get("resourceVersion")
            if expected_rv and expected_rv != live["metadata"]["resourceVersion"]:
                raise store._modified_conflict(rtype, name)
            if dry_run:
                self._send_json(200, {**live, "status": obj.get("status", {})})
                return
            updated = store.update_status(
                rtype.api_version, rtype.kind, name, namespace, obj.get("status") or {}
            )
        else:
            updated = store.update(obj, dry_run=dry_run, keep_status=rtype.has_status)
        if not dry_run:
            store.record_update_ownership(live, updated, self._manager(query), subresource or "")
            updated = store.get(rtype.api_version, rtype.kind, name, namespace) or updated
        self._send_json(200, updated)

    def _patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        query: dict,
        body: bytes,
    ) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        store = self.api.store
        if content_type == "application/apply-patch+yaml":
            self._apply(rtype, namespace, name, subresource, query, body)
            return
        if "force" in query:
            raise Invalid(
                'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified'
                " for non-apply patch",
                {
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        {
                            "reason": "FieldValueForbidden",
                            "message": "Forbidden: may not be specified for non-apply patch",
                            "field": "force",
                        }
                    ],
                },
            )
        live = store.get(rtype.api_version, rtype.kind, name, namespace)
        if content_type not in (
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
        ) or (
            content_type == "application/strategic-merge-patch+json" and rtype not in BUILTIN_TYPES
        ):
            raise UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types"
                " include: application/json-patch+json, application/merge-patch+json,"
                " application/apply-patch+yaml"
                + (", application/strategic-merge-patch+json" if rtype in BUILTIN_TYPES else "")
            )
        if live is None:
            raise _not_found(rtype, name)
        try:
            patch = json.loads(body.decode() or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BadRequest(f"error decoding patch: {error}") from None
        if content_type == "application/json-patch+json" and not isinstance(patch, list):
            raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        if content_type != "application/json-patch+json" and not isinstance(patch, dict):
            raise BadRequest("json: cannot unmarshal into Go value of type map[string]interface")
        # The patch handler applies the patch inside GuaranteedUpdate, which re-reads the object
        # and applies the patch again when a controller wrote in between; only a patch that
        # names a resourceVersion itself gets the 409 (apiserver handlers/patch.go).
        for attempt in range(PATCH_CONFLICT_ATTEMPTS):
            if content_type == "application/json-patch+json":
                patched = json_patch(live, patch)
            elif content_type == "application/merge-patch+json":
                patched = json_merge_patch(live, patch)
            else:
                patched = strategic_merge_patch(live, patch)
            patched = self._check_identity(patched, rtype, namespace, name)
            names_its_version = (
                patched["metadata"].get("resourceVersion") != live["metadata"]["resourceVersion"]
            )
            try:
                self._write(rtype, namespace, name, subresource, query, patched)
                return
            except Conflict:
                if names_its_version or attempt == PATCH_CONFLICT_ATTEMPTS - 1:
                    raise
            live = store.get(rtype.api_version, rtype.kind, name, namespace)
            if live is None:
                raise _not_found(rtype, name)

    def _apply(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        query: dict,
        body: bytes,
    ) -> None:
        manager = query.get("fieldManager")
        if not manager:
            # k8s.io/apiserver pkg/apis/meta validation ValidatePatchOptions
            raise Invalid(
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is'
                " required for apply patch",
                {
                    "group": "meta.k8s.io",
                    "kind": "PatchOptions",
                    "causes": [
                        {
                            "reason": "FieldValueRequired",
                            "message": "Required value: is required for apply patch",
                            "field": "fieldManager",
                        }
                    ],
                },
            )
        obj = self._check_identity(
            self._decode(body, rtype, yaml_allowed=True), rtype, namespace, name
        )
        if "managedFields" in obj["metadata"]:
            raise BadRequest("metadata.managedFields must be nil")
        force = query.get("force") in ("true", "1")
        existed = self.api.store.get(rtype.api_version, rtype.kind, name, namespace) is not None
        result = self.api.store.apply(
            obj,
            manager=manager,
            force=force,
            dry_run=query.get("dryRun") == "All",
            subresource=subresource or "",
        )
        self._send_json(200 if existed else 201, result)

    def _delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        query: dict,
        body: bytes,
    ) -> None:
        if subresource:
            raise MethodNotAllowed(
                "the server does not allow this method on the requested resource"
            )
        try:
            options = json.loads(body.decode() or "{}") if body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BadRequest(f"the object provided is unrecognized: {error}") from None
        if not isinstance(options, dict):
            raise BadRequest("json: cannot unmarshal into Go value of type v1.DeleteOptions")
        propagation = options.get("propagationPolicy") or query.get("propagationPolicy")
        if options.get("orphanDependents") is True:
            propagation = "Orphan"
        dry_run = query.get("dryRun") == "All" or "All" in (options.get("dryRun") or [])
        if dry_run:
            obj = self.api.store.get(rtype.api_version, rtype.kind, name, namespace)
        else:
            obj = self.api.store.delete(
                rtype.api_version,
                rtype.kind,
                name,
                namespace,
                propagation=propagation or "Background",
            )
        if obj is None:
            raise _not_found(rtype, name)
        self._send_json(200, obj)

    def _delete_collection(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: None,
        subresource: None,
        query: dict,
        body: bytes,
    ) -> None:
        store = self.api.store
        deleted = []
        for obj in _selected(store.list(rtype.api_version, rtype.kind, namespace), rtype, query):
            gone = store.delete(
                rtype.api_version,
                rtype.kind,
                obj["metadata"]["name"],
                obj["metadata"].get("namespace"),
            )
            if gone:
                deleted.append(gone)
        self._send_json(
            200,
            {
                "kind": f"{rtype.kind}List",
                "apiVersion": rtype.api_version,
                "metadata": {"resourceVersion": store.resource_version},
                "items": deleted,
            },
        )

    # -- logs -----------------------------------------------------------------------------------

    def _log(self, namespace: str, pod: str, query: dict) -> None:
        tail = query.get("tailLines")
        try:
            tail_lines = int(tail) if tail not in (None, "") else None
        except ValueError:
            raise BadRequest(f"invalid tailLines: {tail}") from None
        container = query.get("container") or None
        if HELD_POD_LOGS in self.api.faults:
            self.api.stopping.wait(HELD_POD_LOGS_SECONDS)
        lines = self.api.store.read_log(namespace, pod, container, tail_lines)
        if query.get("follow") not in ("true", "1"):
            data = "".join(f"{line}\n" for line in lines).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._follow_log(namespace, pod, container, lines)

    def _follow_log(
        self, namespace: str, pod: str, container: str | None, lines: list[str]
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = len(self.api.store.read_log(namespace, pod, container))
        for line in lines:
            self._chunk(f"{line}\n".encode())
        while not self.api.stopping.wait(0.05):
            try:
                current = self.api.store.read_log(namespace, pod, container)
            except NotFound:
                break
            for line in current[sent:]:
                self._chunk(f"{line}\n".encode())
            sent = len(current)
        self._end_chunks()

    # -- watch ----------------------------------------------------------------------------------

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _watch(self, rtype: ResourceType, namespace: str | None, query: dict) -> None:
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), rtype)
        timeout_text = query.get("timeoutSeconds") or str(DEFAULT_WATCH_TIMEOUT_SECONDS)
        if not re.fullmatch(r"-?\d+", timeout_text):
            # metav1.ListOptions query decoding (conversion of timeoutSeconds to *int64)
            raise BadRequest(f'strconv.ParseInt: parsing "{timeout_text}": invalid syntax')
        timeout = float(timeout_text)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        as_table = self._wants_table()
        include_object = query.get("includeObject", "Metadata")
        drop = self.api.faults.drop_watches
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        try:
            watch = self.api.store.watch(
                rtype.api_version, rtype.kind, namespace, query.get("resourceVersion")
            )
        except Expired as error:
            # The real server reports an expired resourceVersion inside the stream.
            self._chunk(
                json.dumps({"type": "ERROR", "object": status_body(error)}).encode() + b"\n"
            )
            self._end_chunks()
            return
        deadline = time.monotonic() + timeout
        last_sent = time.monotonic()
        sent_columns = False
        try:
            while not self.api.stopping.is_set():
                if self.api.hung.is_set():
                    self.api.stopping.wait()
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if drop and time.monotonic() - last_sent >= WATCH_IDLE_DROP_SECONDS:
                    break
                event = watch.next_event(min(remaining, 0.1))
                if event is None:
                    if bookmarks and time.monotonic() - last_sent >= BOOKMARK_INTERVAL_SECONDS:
                        bookmark = {
                            "kind": rtype.kind,
                            "apiVersion": rtype.api_version,
                            "metadata": {"resourceVersion": self.api.store.resource_version},
                        }
                        self._chunk(
                            json.dumps({"type": "BOOKMARK", "object": bookmark}).encode() + b"\n"
                        )
                        last_sent = time.monotonic()
                    continue
                event_type, obj, previous = event

                def passes(candidate: dict) -> bool:
                    return labels_match(
                        candidate["metadata"].get("labels") or {}, labels
                    ) and fields_match(candidate, fields)

                # The cacher's filtering (k8s.io/apiserver pkg/storage/cacher/cache_watcher.go
                # convertToWatchEvent): leaving the selection is DELETED (previous content,
                # new resourceVersion), entering it is ADDED.
                current_passes = passes(obj)
                previous_passes = (
                    passes(previous)
                    if event_type == "MODIFIED" and previous is not None
                    else current_passes
                )
                if not current_passes and not previous_passes:
                    continue
                if event_type == "MODIFIED" and current_passes != previous_passes:
                    if current_passes:
                        event_type = "ADDED"
                    else:
                        event_type = "DELETED"
                        rv = obj["metadata"]["resourceVersion"]
                        obj = previous
                        obj["metadata"]["resourceVersion"] = rv
                payload: dict = obj
                if as_table:
                    payload = table(
                        rtype,
                        [obj],
                        include_object,
                        obj["metadata"]["resourceVersion"],
                        with_columns=not sent_columns,
                    )
                    sent_columns = True
                self._chunk(json.dumps({"type": event_type, "object": payload}).encode() + b"\n")
                last_sent = time.monotonic()
                if drop:
                    break
            self._end_chunks()
        except OSError:
            self.close_connection = True
        finally:
            watch.close()
        if drop:
            self.close_connection = True


def _not_found(rtype: ResourceType, name: str) -> NotFound:
    return NotFound(
        f'{rtype.qualified_plural} "{name}" not found',
        {"name": name, "group": rtype.group, "kind": rtype.plural},
    )


def _selected(objects: list[dict], rtype: ResourceType, query: dict) -> list[dict]:
    """The objects a request's labelSelector and fieldSelector pick."""
    labels = parse_label_selector(query.get("labelSelector", ""))
    fields = parse_field_selector(query.get("fieldSelector", ""), rtype)
    return [
        obj
        for obj in objects
        if labels_match(obj["metadata"].get("labels") or {}, labels) and fields_match(obj, fields)
    ]
