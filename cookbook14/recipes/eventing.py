"""Recipe 14.5, Install Knative Eventing: the book's KnativeEventing (or the release YAML
files), then Eventing's controllers up, and the version that was installed.

With the operator the version is the KnativeEventing's status.version, which the book's CR
(no spec.version) gets from what that operator release carries by default. With the YAML files
it is the `app.kubernetes.io/version` label the release build puts on every Deployment.
"""

from __future__ import annotations

import time

from cookbook14.kube import Kube
from cookbook14.plan import EVENTING_DEPLOYMENTS, PINGSOURCE_ADAPTER
from cookbook14.steps import StepContext, apply_and_wait

NAMESPACE = "knative-eventing"
OPERATOR_API = "operator.knative.dev/v1beta1"
VERSION_LABEL = "app.kubernetes.io/version"


def install(ctx: StepContext) -> dict:
    started = time.monotonic()
    apply_and_wait(ctx)
    ctx.measure("install to Ready", round(time.monotonic() - started, 3), "s")
    if ctx.step.method == "operator":
        found = knative_eventing(ctx.kube).get("status", {}).get("version", "")
    else:
        found = deployment_version(ctx.kube, "eventing-controller")
    return {
        "eventing_version": found,
        "eventing_install_method": ctx.step.method,
        "eventing_deployments": {
            name: ready_of(ctx.kube.get("apps/v1", "Deployment", name, NAMESPACE))
            for name in (*EVENTING_DEPLOYMENTS, PINGSOURCE_ADAPTER)
        },
    }


def knative_eventing(kube: Kube) -> dict:
    """The book's KnativeEventing, {} when it is not there."""
    return kube.get(OPERATOR_API, "KnativeEventing", "knative-eventing", NAMESPACE) or {}


def deployment_version(kube: Kube, name: str) -> str:
    """The release version an Eventing Deployment is labelled with ("" if none)."""
    deployment = kube.get("apps/v1", "Deployment", name, NAMESPACE) or {}
    return deployment.get("metadata", {}).get("labels", {}).get(VERSION_LABEL, "")


def ready_of(deployment: dict | None) -> str:
    """READY as `kubectl get deployment` shows it (`1/1`), or `missing`."""
    if deployment is None:
        return "missing"
    ready = deployment.get("status", {}).get("readyReplicas", 0)
    return f"{ready}/{deployment.get('spec', {}).get('replicas', 1)}"
