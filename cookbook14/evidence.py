"""The cluster's own account of a failure, collected before anything is cleaned up.

A step plan names what to look at when its recipe fails (EvidencePlan): objects to dump as
YAML with their conditions, namespaces whose events and pod states matter, and pods whose logs
tell what the controllers did. `collect` reads them all and renders one text for
evidence/<recipe>.txt; whatever cannot be read is said, never raised.
"""

from __future__ import annotations

import yaml

from cookbook14.errors import HarnessError
from cookbook14.kube import Kube
from cookbook14.plan import EvidencePlan
from cookbook14.waits import pod_summary

LOG_LINES = 60


def collect(kube: Kube, plan: EvidencePlan) -> str:
    """Everything the plan names, as text; unreadable parts are noted in place."""
    sections: list[str] = []
    for ref in plan.objects:
        sections.append(
            _section(f"{ref.kind} in {ref.namespace or 'the cluster'}", _objects, kube, ref)
        )
    for namespace in plan.namespaces:
        sections.append(_section(f"pods in namespace {namespace}", _pods, kube, namespace))
        sections.append(_section(f"events in namespace {namespace}", _events, kube, namespace))
    for source in plan.logs:
        sections.append(
            _section(
                f"logs of {source.container or 'pods'} -l {source.selector} in {source.namespace}",
                _logs,
                kube,
                source,
            )
        )
    return "\n\n".join(sections)


def _section(title: str, read, kube: Kube, what) -> str:
    try:
        body = read(kube, what)
    except HarnessError as error:
        body = f"(could not read: {error})"
    return f"== {title}\n{body or '(none)'}"


def _objects(kube: Kube, ref) -> str:
    if ref.name:
        found = kube.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        items = [found] if found else []
    else:
        items, _ = kube.list(ref.api_version, ref.kind, ref.namespace)
    return "\n---\n".join(yaml.safe_dump(_essentials(item), sort_keys=False) for item in items)


def _essentials(obj: dict) -> dict:
    meta = obj.get("metadata", {})
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "generation", "labels", "annotations", "finalizers")
            if key in meta
        },
        "spec": obj.get("spec"),
        "status": obj.get("status"),
    }


def _pods(kube: Kube, namespace: str) -> str:
    pods, _ = kube.list("v1", "Pod", namespace)
    return "\n".join(pod_summary(pod) for pod in pods)


def _events(kube: Kube, namespace: str) -> str:
    return "\n".join(str(event) for event in kube.events(namespace))


def _logs(kube: Kube, source) -> str:
    pods, _ = kube.list("v1", "Pod", source.namespace, label_selector=source.selector)
    parts = []
    for pod in pods:
        name = pod["metadata"]["name"]
        try:
            text = kube.pod_logs(source.namespace, name, source.container, tail_lines=LOG_LINES)
        except HarnessError as error:
            text = f"(could not read: {error})"
        parts.append(f"-- {name}\n{text.rstrip()}")
    return "\n".join(parts)
