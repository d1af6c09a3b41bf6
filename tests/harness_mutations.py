"""Deliberate one-line harness mistakes, loaded into a `pytest suites/` subprocess with
`-p tests.harness_mutations` and chosen by COOKBOOK14_MUTATION, so a self-test can show that
a check goes red when the harness is wrong.

- `force-resolver`: 14.8 applies TriggerMesh's ClusterRole addressable-resolver like every
  other object (server-side apply with forced conflicts), taking it over from Eventing.
- `break-earlier-recipes`: right after 14.4 and 14.6 install, the harness deletes what they
  made (ksvc nodeinfo, the PingSource), as a careless cleanup would: the chapter no longer holds.
"""

from __future__ import annotations

import os

import pytest

from cookbook14.recipes import ACTIONS, triggermesh
from cookbook14.steps import StepAction, StepContext


def _then_delete(action: StepAction, api_version: str, kind: str, name: str) -> StepAction:
    def install(ctx: StepContext) -> dict:
        facts = action(ctx)
        ctx.kube.delete(api_version, kind, name, "default")
        return facts

    return install


def pytest_configure(config: pytest.Config) -> None:
    mutation = os.environ.get("COOKBOOK14_MUTATION", "")
    if mutation == "force-resolver":
        triggermesh._is_resolver = lambda doc: False
    elif mutation == "break-earlier-recipes":
        ACTIONS["14.4"] = _then_delete(
            ACTIONS["14.4"], "serving.knative.dev/v1", "Service", "nodeinfo"
        )
        ACTIONS["14.6"] = _then_delete(
            ACTIONS["14.6"], "sources.knative.dev/v1", "PingSource", "ping-source"
        )
    elif mutation:
        raise pytest.UsageError(f"unknown COOKBOOK14_MUTATION {mutation!r}")
