"""Recipe 14.1, Install the Knative Operator: operator.yaml applied, its Deployments available."""

from __future__ import annotations

from cookbook14.steps import StepContext, apply_and_wait


def install(ctx: StepContext) -> dict:
    apply_and_wait(ctx)
    namespace = ctx.plan.release.operator_namespace
    deployment = ctx.kube.get("apps/v1", "Deployment", "knative-operator", namespace) or {}
    labels = deployment.get("metadata", {}).get("labels", {})
    # The release build turns `app.kubernetes.io/version: devel` into the tag without its "v"
    # (knative/operator hack/build-from-source: LABEL_YAML_CMD).
    found = labels.get("app.kubernetes.io/version", "")
    return {"operator_version": found.lstrip("v"), "operator_namespace": namespace}
