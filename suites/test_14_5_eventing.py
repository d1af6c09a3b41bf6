"""Recipe 14.5, Install Knative Eventing.

The book: `kubectl create ns knative-eventing`, apply eventing.yaml (a KnativeEventing without
spec.version), then `kubectl -n knative-eventing get KnativeEventing knative-eventing -w`
reaches READY True, VERSION 1.11.1 (what operator 1.11.4 installs by default). Alternative:
eventing-crds.yaml, eventing-core.yaml, in-memory-channel.yaml and mt-channel-broker.yaml
(`--install-method yaml`), checked the same way.
"""

import pytest

from cookbook14.plan import EVENTING_DEPLOYMENTS, PINGSOURCE_ADAPTER
from cookbook14.recipes.eventing import NAMESPACE, VERSION_LABEL, knative_eventing, ready_of
from cookbook14.waits import conditions_of

pytestmark = pytest.mark.recipe("14.5")


@pytest.fixture
def method(plan):
    return plan.step("14.5").method


@pytest.fixture
def found(steps):
    return steps.outcomes["14.5"].facts["eventing_version"]


@pytest.mark.install_method("operator")  # the release YAML files install no KnativeEventing
def test_knative_eventing_reaches_ready_true(kube):
    eventing = knative_eventing(kube)
    assert eventing, "kubectl -n knative-eventing get KnativeEventing knative-eventing: not found"
    ready = next((c for c in conditions_of(eventing) if c.type == "Ready"), None)
    assert ready is not None and ready.status == "True", (
        f"kubectl -n knative-eventing get KnativeEventing knative-eventing shows READY {ready}"
    )


def test_eventing_version_is_what_the_operator_installs(plan, method, found):
    if method == "operator":
        expected = plan.release.operator_installs.get("eventing")
        if expected is None:
            pytest.skip(
                f"what operator {plan.release.operator} installs by default is not in the "
                "catalog (operator_defaults), so the found Eventing version cannot be judged"
            )
        shown = "KnativeEventing knative-eventing shows VERSION"
    else:
        expected = plan.release.eventing
        shown = "eventing-controller is labelled app.kubernetes.io/version="
    assert found == str(expected), f"{shown} {found!r}; expected {expected}"


@pytest.mark.parametrize("name", EVENTING_DEPLOYMENTS)
def test_eventing_deployment_is_available(kube, found, name):
    deployment = kube.get("apps/v1", "Deployment", name, NAMESPACE)
    ready = ready_of(deployment)
    assert deployment is not None, f"Deployment {name} is not in namespace {NAMESPACE}"
    replicas = deployment["spec"].get("replicas", 1)
    assert replicas >= 1 and ready == f"{replicas}/{replicas}", (
        f"kubectl -n {NAMESPACE} get deployment {name} shows READY {ready}"
    )
    label = deployment["metadata"].get("labels", {}).get(VERSION_LABEL)
    assert label == found, f"Deployment {name} is labelled {VERSION_LABEL}={label}, not {found}"


def test_pingsource_adapter_waits_at_zero_or_runs(kube):
    """pingsource-mt-adapter may sit at 0 replicas until a PingSource exists."""
    adapter = kube.get("apps/v1", "Deployment", PINGSOURCE_ADAPTER, NAMESPACE)
    assert adapter is not None, f"Deployment {PINGSOURCE_ADAPTER} is not in namespace {NAMESPACE}"
    replicas = adapter["spec"].get("replicas", 1)
    ready = ready_of(adapter)
    assert replicas == 0 or ready == f"{replicas}/{replicas}", (
        f"kubectl -n {NAMESPACE} get deployment {PINGSOURCE_ADAPTER} shows READY {ready}"
    )
