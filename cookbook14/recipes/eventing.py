"""Recipe 14.5, Install Knative Eventing: the book's KnativeEventing (or the release YAML
files), then Eventing's controllers up."""

from __future__ import annotations

from cookbook14.steps import StepContext, apply_and_wait


def install(ctx: StepContext) -> dict:
    apply_and_wait(ctx)
    eventing = ctx.kube.get(
        "operator.knative.dev/v1beta1", "KnativeEventing", "knative-eventing", "knative-eventing"
    )
    return {"eventing_version": (eventing or {}).get("status", {}).get("version", "")}
