"""Recipe 14.2, Install Knative Serving.

The book: `kubectl create ns knative-serving`, apply serving.yaml (a KnativeServing with
Kourier as the ingress), then `kubectl -n knative-serving get KnativeServing knative-serving -w`
goes from READY False (NotReady) to True with VERSION 1.11.0, and
`kubectl -n knative-serving get service kourier` shows TYPE LoadBalancer with an EXTERNAL-IP;
DNS through serving-default-domain.yaml (sslip.io). The book's alternative: serving-crds.yaml +
serving-core.yaml (+ Kourier's kourier.yaml), with `--install-method yaml`.
"""

import ipaddress

import pytest
import requests

from cookbook14.loopback import direct_if_loopback
from cookbook14.options import endpoint_url
from cookbook14.plan import SERVING_DEPLOYMENTS, serving_domain
from cookbook14.recipes.serving import (
    KOURIER_CONTROLLER,
    KOURIER_GATEWAY,
    MAGIC_DNS,
    OPERATOR_API,
    PENDING,
    SERVING_NAMESPACE,
    deployment_version,
    domains_of,
    external_address,
    kourier_namespace,
    ready_sequence_text,
)
from cookbook14.waits import conditions_of

pytestmark = pytest.mark.recipe("14.2")

KOURIER_CLASS = "kourier.ingress.networking.knative.dev"
# A host no Knative Service can have (.invalid is reserved, RFC 2606).
PROBE_HOST = "cookbook14-probe.invalid"


@pytest.fixture
def facts(steps) -> dict:
    return steps.outcomes["14.2"].facts


@pytest.fixture
def method(plan) -> str:
    return plan.step("14.2").method


@pytest.mark.install_method("operator")
def test_knative_serving_goes_from_not_ready_to_ready(facts):
    sequence = facts["ready_sequence"]
    shown = ready_sequence_text(sequence)
    if facts["already_ready"]:
        pytest.skip(
            f"KnativeServing knative-serving was already Ready when this run applied it (a "
            f"rerun on the same cluster): `kubectl get -w` shows only {shown}"
        )
    assert sequence and sequence[-1]["ready"] == "True", (
        f"kubectl get KnativeServing knative-serving -w shows {shown}, never READY True"
    )
    earlier = [(entry["ready"], entry["reason"]) for entry in sequence[:-1]]
    assert ("False", "NotReady") in earlier, (
        f"kubectl get KnativeServing knative-serving -w shows {shown}: the book shows READY "
        "False (NotReady) before True"
    )


@pytest.mark.install_method("operator")
def test_knative_serving_shows_the_version_its_operator_installs(kube, plan):
    """The book's CR sets no spec.version: the operator installs the newest Serving it
    carries (operator 1.11.4: 1.11.0), not the newest upstream patch."""
    expected = plan.release.operator_installs.get("serving")
    if expected is None:
        pytest.skip(
            f"the catalog does not know which Serving operator {plan.release.operator} installs "
            "by default (cookbook14/catalog.yaml operator_defaults), so there is nothing to "
            "compare status.version with"
        )
    serving = kube.get(OPERATOR_API, "KnativeServing", SERVING_NAMESPACE, SERVING_NAMESPACE)
    found = (serving or {}).get("status", {}).get("version", "")
    assert found == str(expected), (
        f"kubectl get KnativeServing knative-serving shows VERSION {found or '<none>'}; "
        f"operator {plan.release.operator} installs {expected} by default"
    )


@pytest.mark.install_method("yaml")
def test_yaml_install_runs_the_planned_serving_release(kube, plan):
    found = deployment_version(kube, "controller", SERVING_NAMESPACE)
    assert found == str(plan.release.serving), (
        f"Deployment controller in knative-serving is labelled app.kubernetes.io/version="
        f"{found or '<none>'}; serving-core.yaml of {plan.release.serving} was applied"
    )


def test_kourier_is_the_release_planned_for_the_install(kube, plan, method):
    expected = (
        plan.release.operator_installs.get("kourier")
        if method == "operator"
        else plan.release.kourier
    )
    if expected is None:
        pytest.skip(
            f"the catalog does not know which Kourier operator {plan.release.operator} "
            "installs by default"
        )
    found = deployment_version(kube, KOURIER_CONTROLLER, SERVING_NAMESPACE)
    assert found == str(expected), (
        f"Deployment {KOURIER_CONTROLLER} in knative-serving is labelled "
        f"app.kubernetes.io/version={found or '<none>'}; expected Kourier {expected} "
        f"({'what the operator carries' if method == 'operator' else 'kourier.yaml applied'})"
    )


@pytest.mark.parametrize("name", [*SERVING_DEPLOYMENTS, KOURIER_GATEWAY])
def test_component_is_available(kube, method, name):
    namespace = kourier_namespace(method) if name == KOURIER_GATEWAY else SERVING_NAMESPACE
    deployment = kube.get("apps/v1", "Deployment", name, namespace)
    assert deployment is not None, f"kubectl get deployment {name} -n {namespace}: NotFound"
    status = deployment.get("status", {})
    wanted = deployment["spec"].get("replicas", 1)
    available = next((c for c in conditions_of(deployment) if c.type == "Available"), None)
    assert available is not None and available.status == "True", (
        f"deployment {name} in {namespace} is not Available: {available or 'no condition'}"
    )
    ready = f"{status.get('availableReplicas', 0)}/{wanted}"
    assert status.get("availableReplicas", 0) >= wanted, (
        f"kubectl get deployment {name} -n {namespace} shows AVAILABLE {ready}"
    )


def test_kourier_service_is_a_load_balancer(kube, facts, method):
    namespace = kourier_namespace(method)
    service = kube.get("v1", "Service", "kourier", namespace)
    assert service is not None, f"kubectl -n {namespace} get service kourier: NotFound"
    kind = service["spec"].get("type")
    external = external_address(service)
    assert kind == "LoadBalancer", (
        f"kubectl -n {namespace} get service kourier shows TYPE {kind}, EXTERNAL-IP {external}"
    )
    # <pending> is what kind shows (no load balancer): recorded, not a failure.
    assert facts["kourier_external_ip"] == external


def test_kourier_answers_from_this_machine(ingress_endpoint):
    """Kourier's gateway is reachable where the later recipes send requests: for a host no
    Knative Service has, Envoy answers 404 itself."""
    url = endpoint_url(ingress_endpoint)
    try:
        response = requests.get(
            url, headers={"Host": PROBE_HOST}, timeout=30, proxies=direct_if_loopback(url)
        )
    except requests.RequestException as error:
        unanswered = f"GET {url} (Host: {PROBE_HOST}) got no answer from Kourier: {error}"
    else:
        unanswered = ""
    # Failed outside the except block, so the report's first line is this one, not the chain.
    if unanswered:
        pytest.fail(unanswered, pytrace=False)
    server = response.headers.get("server", "")
    assert (response.status_code, server) == (404, "envoy"), (
        f"GET {url} (Host: {PROBE_HOST}) answered {response.status_code} from server "
        f"{server or '(none)'}, not Envoy's 404 for an unknown host"
    )


def test_kourier_is_the_ingress_class(kube):
    network = kube.get("v1", "ConfigMap", "config-network", SERVING_NAMESPACE) or {}
    data = network.get("data") or {}
    found = data.get("ingress-class") or data.get("ingress.class")
    assert found == KOURIER_CLASS, (
        f"config-network in knative-serving has ingress-class {found!r}, not {KOURIER_CLASS}: "
        "no Knative Service would be routed through Kourier"
    )
    assert "_example" in data, (
        "config-network lost the `_example` block serving-core ships: the harness replaced the "
        "ConfigMap instead of adding its key"
    )


def test_domain_is_configured(kube, facts, harness):
    """The domain the harness configures (kind's 127.0.0.1.sslip.io, or --domain), else the
    book's serving-default-domain.yaml: its Job completes and config-domain names
    <EXTERNAL-IP>.sslip.io."""
    config_domain = kube.get("v1", "ConfigMap", "config-domain", SERVING_NAMESPACE)
    data = (config_domain or {}).get("data") or {}
    found = domains_of(config_domain) or "no domain"
    assert "_example" in data, (
        "config-domain lost the `_example` block serving-core ships: its keys were replaced "
        "instead of added to"
    )
    domain = serving_domain(harness.options)
    if domain is not None:
        assert data.get(domain) == "", (
            f"config-domain in knative-serving names {found}, not {domain} (empty selector)"
        )
        return
    address = facts["kourier_external_ip"]
    if address == PENDING:
        pytest.skip(
            "serving-default-domain.yaml not applied: the kourier Service has no external IP "
            "(EXTERNAL-IP <pending>), so its Job would poll for one for 20 minutes and fail; "
            "give --domain to configure one"
        )
    job = kube.get("batch/v1", "Job", "default-domain", SERVING_NAMESPACE)
    complete = next((c for c in conditions_of(job or {}) if c.type == "Complete"), None)
    assert complete is not None and complete.status == "True", (
        f"Job default-domain in knative-serving has not completed: {complete or 'no condition'}"
    )
    if _is_ip(address):
        expected = f"{address}.{MAGIC_DNS}"
        assert data.get(expected) == "", (
            f"config-domain in knative-serving names {found}, not {expected}"
        )
    else:
        # A hostname: the Job resolves it and names the IP it got.
        assert any(name.endswith(f".{MAGIC_DNS}") for name in domains_of(config_domain)), (
            f"config-domain in knative-serving names {found}, no <ip>.{MAGIC_DNS}"
        )


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True
