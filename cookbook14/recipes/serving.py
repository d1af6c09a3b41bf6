"""Recipe 14.2, Install Knative Serving: the book's KnativeServing (or the release YAML files),
then Serving and Kourier up."""

from __future__ import annotations

from cookbook14.steps import StepContext, apply_and_wait


def install(ctx: StepContext) -> dict:
    apply_and_wait(ctx)
    serving = ctx.kube.get(
        "operator.knative.dev/v1beta1", "KnativeServing", "knative-serving", "knative-serving"
    )
    return {"serving_version": (serving or {}).get("status", {}).get("version", "")}
