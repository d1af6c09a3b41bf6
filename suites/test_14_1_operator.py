"""Recipe 14.1, Install the Knative Operator.

The book: `kubectl apply -f .../knative-v1.11.4/operator.yaml`, then
`kubectl get deployment knative-operator` shows READY 1/1.
"""

import pytest

from cookbook14.waits import conditions_of

pytestmark = pytest.mark.recipe("14.1")

OPERATOR_CRDS = ("knativeservings.operator.knative.dev", "knativeeventings.operator.knative.dev")


@pytest.mark.parametrize("crd", OPERATOR_CRDS)
def test_operator_crd_is_established(kube, crd):
    found = kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
    assert found is not None, f"CRD {crd} is not installed"
    established = [c for c in conditions_of(found) if c.type == "Established"]
    assert established and established[0].status == "True", f"{crd}: {established}"


@pytest.mark.parametrize("crd", OPERATOR_CRDS)
def test_operator_crd_serves_v1beta1(kube, crd):
    group = crd.split(".", 1)[1]
    kinds = {row.kind for row in kube.api_resources(group) if row.api_version == f"{group}/v1beta1"}
    expected = "KnativeServing" if crd.startswith("knativeservings") else "KnativeEventing"
    assert expected in kinds, f"{group}/v1beta1 serves {sorted(kinds)}, not {expected}"


@pytest.mark.parametrize("name", ["knative-operator", "operator-webhook"])
def test_deployment_is_ready_one_of_one(kube, plan, name):
    namespace = plan.release.operator_namespace
    deployment = kube.get("apps/v1", "Deployment", name, namespace)
    assert deployment is not None, f"Deployment {name} is not in namespace {namespace}"
    status = deployment.get("status", {})
    ready = f"{status.get('readyReplicas', 0)}/{deployment['spec'].get('replicas', 1)}"
    assert ready == "1/1", f"kubectl get deployment {name} -n {namespace} shows READY {ready}"


def test_operator_is_the_planned_release(steps, plan):
    facts = steps.outcomes["14.1"].facts
    assert facts["operator_version"] == str(plan.release.operator), (
        f"the knative-operator Deployment is labelled app.kubernetes.io/version="
        f"{facts['operator_version']!r}, the plan installs {plan.release.operator}"
    )
