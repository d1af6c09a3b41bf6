"""Recipe 14.2, Install Knative Serving: the book's KnativeServing (or the release YAML files),
then Serving and Kourier up, and the domain: the planned one, or serving-default-domain.yaml's
Job where Kourier has a load balancer address.

Facts for the report and the checks: the versions found (`serving_version`, `kourier_version`),
the Ready sequence of the KnativeServing as `kubectl get -w` would list it, whether it was
there already (a rerun), where Kourier runs, the kourier Service's EXTERNAL-IP and the domain.
"""

from __future__ import annotations

import time

from cookbook14.assets import fetch_text
from cookbook14.kube import Kube, load_documents
from cookbook14.plan import (
    DEFAULT_DOMAIN,
    SERVING_CONFIG_MANAGER,
    SERVING_CONFIG_SOURCE,
    Apply,
    WaitFor,
    crds_established,
    serving_domain,
)
from cookbook14.steps import StepContext
from cookbook14.waits import Observation, Watched, condition_is_true, wait, wait_for

OPERATOR_API = "operator.knative.dev/v1beta1"
SERVING_NAMESPACE = "knative-serving"
KOURIER_CONTROLLER = "net-kourier-controller"
KOURIER_GATEWAY = "3scale-kourier-gateway"
PENDING = "<pending>"
MAGIC_DNS = "sslip.io"  # serving-default-domain.yaml runs default-domain -magic-dns=sslip.io


def install(ctx: StepContext) -> dict:
    facts: dict = {"install_method": ctx.step.method}
    started = time.monotonic()
    # On a rerun the CR may be Ready before anything is applied: said, never made up.
    facts["knative_serving_existed"] = ctx.step.method == "operator" and (
        ctx.kube.get(OPERATOR_API, "KnativeServing", SERVING_NAMESPACE, SERVING_NAMESPACE)
        is not None
    )
    for item in ctx.step.applies:
        _apply(ctx, item)
    for planned in ctx.step.waits:
        if planned.kind == "KnativeServing":
            facts["ready_sequence"] = _watch_ready(ctx, planned)
        else:
            wait_for(ctx.kube, planned, ctx.progress)
    sequence = facts.get("ready_sequence") or []
    facts["already_ready"] = bool(
        facts["knative_serving_existed"] and [e["ready"] for e in sequence] == ["True"]
    )
    if not facts["already_ready"]:
        seconds = round(time.monotonic() - started, 1)
        what = "time_to_ready" if ctx.step.method == "operator" else "time_to_available"
        facts[what] = seconds
        ctx.measure(what, seconds, "s")
    facts.update(_versions(ctx))
    facts.update(_kourier(ctx))
    facts.update(_domain(ctx, facts["kourier_external_ip"]))
    return facts


def _apply(ctx: StepContext, item: Apply) -> None:
    documents = list(item.documents) or load_documents(fetch_text(item.source), item.source)
    # The harness's Serving ConfigMaps go in under their own field manager: server-side apply
    # then merges their keys into serving-core's ConfigMaps instead of dropping `_example`.
    kube = (
        Kube(ctx.kube.api_client, field_manager=SERVING_CONFIG_MANAGER)
        if item.source == SERVING_CONFIG_SOURCE
        else ctx.kube
    )
    kube.apply(documents, item.namespace, wait_for_crds=lambda names: _established(ctx, names))


def _established(ctx: StepContext, names: list[str]) -> None:
    for planned in crds_established(tuple(names), ctx.plan.deadlines):
        wait_for(ctx.kube, planned, ctx.progress)


def _watch_ready(ctx: StepContext, planned: WaitFor) -> list[dict]:
    """Wait for the KnativeServing's Ready, noting each distinct VERSION/READY/REASON it shows
    (the columns of the book's `kubectl get KnativeServing -w`), with the first message of each
    and the seconds since the wait began."""
    sequence: list[dict] = []
    started = time.monotonic()
    ready = condition_is_true("Ready")

    def check(state: dict[str, dict]) -> Observation:
        seen = ready(state)
        found = next((c for c in seen.conditions if c.type == "Ready"), None)
        obj = next(iter(state.values()), {})
        columns = {
            "version": obj.get("status", {}).get("version", ""),
            "ready": found.status if found else "",
            "reason": found.reason if found else "",
        }
        if not sequence or {key: sequence[-1][key] for key in columns} != columns:
            sequence.append(
                {
                    **columns,
                    "message": found.message if found else "",
                    "after_s": round(time.monotonic() - started, 1),
                }
            )
        return seen

    watched = Watched(planned.api_version, planned.kind, planned.namespace, planned.name)
    wait(ctx.kube, watched, check, planned.timeout, planned.describe(), ctx.progress)
    return sequence


def _versions(ctx: StepContext) -> dict:
    """What the cluster runs: the KnativeServing's status.version (operator) or the Serving
    controller's version label (YAML), and net-kourier-controller's version label."""
    if ctx.step.method == "operator":
        serving = ctx.kube.get(OPERATOR_API, "KnativeServing", SERVING_NAMESPACE, SERVING_NAMESPACE)
        version = (serving or {}).get("status", {}).get("version", "")
    else:
        version = deployment_version(ctx.kube, "controller", SERVING_NAMESPACE)
    return {
        "serving_version": version,
        "kourier_version": deployment_version(ctx.kube, KOURIER_CONTROLLER, SERVING_NAMESPACE),
    }


def deployment_version(kube: Kube, name: str, namespace: str) -> str:
    """The release a Knative Deployment belongs to: its `app.kubernetes.io/version` label,
    which release builds set to the tag without its "v" (knative/hack release.sh
    LABEL_YAML_CMD); "" when the Deployment or the label is missing."""
    deployment = kube.get("apps/v1", "Deployment", name, namespace) or {}
    labels = deployment.get("metadata", {}).get("labels") or {}
    return str(labels.get("app.kubernetes.io/version", "")).removeprefix("v")


def kourier_namespace(method: str) -> str:
    """Where the gateway and the `kourier` Service are: with the operator, everything is in
    the KnativeServing's namespace; kourier.yaml puts them in kourier-system."""
    return SERVING_NAMESPACE if method == "operator" else "kourier-system"


def external_address(service: dict | None) -> str:
    """The kourier Service's EXTERNAL-IP as kubectl shows it (`<pending>` without one)."""
    for ingress in (service or {}).get("status", {}).get("loadBalancer", {}).get("ingress") or []:
        if ingress.get("ip") or ingress.get("hostname"):
            return ingress.get("ip") or ingress["hostname"]
    return PENDING


def _kourier(ctx: StepContext) -> dict:
    namespace = kourier_namespace(ctx.step.method)
    service = ctx.kube.get("v1", "Service", "kourier", namespace)
    return {"kourier_namespace": namespace, "kourier_external_ip": external_address(service)}


def domains_of(config_domain: dict | None) -> list[str]:
    """The domains config-domain names (keys other than `_example`)."""
    return [key for key in (config_domain or {}).get("data") or {} if not key.startswith("_")]


def _domain(ctx: StepContext, external_ip: str) -> dict:
    """The planned domain; else the book's serving-default-domain.yaml, run only where the
    kourier Service has an address (its Job polls 20 minutes for one and then fails)."""
    planned = serving_domain(ctx.options)
    job = next((alt for alt in ctx.step.alternatives if alt.name == DEFAULT_DOMAIN), None)
    facts: dict = {"domain_planned": planned or ""}
    if job is None:
        facts["default_domain_job"] = "not run: the domain is configured instead"
    elif external_ip == PENDING:
        facts["default_domain_job"] = (
            "not run: the kourier Service has no external IP (EXTERNAL-IP <pending>), so "
            "its Job would poll for one for 20 minutes and fail"
        )
    else:
        for item in job.applies:
            _apply(ctx, item)
        for planned_wait in job.waits:
            wait_for(ctx.kube, planned_wait, ctx.progress)
        facts["default_domain_job"] = "completed"
    config_domain = ctx.kube.get("v1", "ConfigMap", "config-domain", SERVING_NAMESPACE)
    facts["domains"] = domains_of(config_domain)
    return facts


def ready_sequence_text(sequence: list[dict]) -> str:
    """`False (NotReady) -> True`, as the READY/REASON columns of `kubectl get -w` go."""
    return " -> ".join(
        (entry["ready"] + (f" ({entry['reason']})" if entry["reason"] else "")) or "(no Ready yet)"
        for entry in sequence
    )
