"""Recipe 14.7, Enable more event sources: `spec.source.github.enabled: true` on the
KnativeEventing, then the GitHub source beside the core sources."""

import pytest

from cookbook14.recipes import github_source
from fixtures.session import ensure_step

pytestmark = pytest.mark.recipe("14.7")

CORE_SOURCES = ("ApiServerSource", "ContainerSource", "PingSource", "SinkBinding")


@pytest.fixture
def facts(steps) -> dict:
    found = ensure_step(steps, "14.7").facts
    if "not_applicable" in found:
        pytest.skip(found["not_applicable"])
    return found


def test_knative_eventing_goes_not_ready_then_ready(facts):
    """with spec.source.github.enabled the KnativeEventing goes NotReady then Ready again"""
    generation = facts["generation_after"]
    if facts["generation_before"] == generation:
        pytest.skip(
            "the KnativeEventing already had spec.source.github.enabled (its generation did not "
            "change), so there was no change to watch"
        )
    seen = [
        f"generation {s['observed_generation']}: READY {s['ready']} {s['reason']}".rstrip()
        for s in facts["ready_sequence"]
    ]
    assert github_source.went_not_ready_then_ready(facts["ready_sequence"], generation), (
        f"kubectl -n knative-eventing get knativeeventing knative-eventing -w showed "
        f"{'; '.join(seen)}: not READY False then True for generation {generation}"
    )


def test_githubsources_are_served(facts, kube):
    """api-resources lists githubsources (sources.knative.dev/v1alpha1, GitHubSource)"""
    served = github_source.served_sources(kube)
    row = served.get("GitHubSource")
    assert row is not None, (
        "kubectl api-resources --api-group=sources.knative.dev lists no GitHubSource; "
        f"it lists {', '.join(sorted(served)) or 'nothing'}"
    )
    assert (row.name, row.api_version) == ("githubsources", "sources.knative.dev/v1alpha1"), (
        f"kubectl api-resources shows GitHubSource as {row.name} {row.api_version}"
    )
    missing = [kind for kind in CORE_SOURCES if kind not in served]
    assert not missing, f"beside GitHubSource, the core sources {', '.join(missing)} are gone"


def test_github_source_runs_in_knative_eventing(facts, kube):
    """the operator installs the GitHub source into its CR's namespace, knative-eventing"""
    controller = kube.get("apps/v1", "StatefulSet", "github-controller-manager", "knative-eventing")
    webhook = kube.get("apps/v1", "Deployment", "github-webhook", "knative-eventing")
    assert controller is not None and webhook is not None, (
        "kubectl -n knative-eventing get statefulset github-controller-manager, deployment "
        f"github-webhook: found {'the StatefulSet' if controller else 'no StatefulSet'} and "
        f"{'the Deployment' if webhook else 'no Deployment'}"
    )
    ready = controller.get("status", {}).get("readyReplicas", 0)
    assert ready >= 1, f"statefulset github-controller-manager has READY {ready}/1"
