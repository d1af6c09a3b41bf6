"""Recipe 14.4, Create a Knative Service.

The book: `kubectl apply -f nodeinfo.yaml`; `kubectl get ksvc nodeinfo` shows the URL
`http://nodeinfo...sslip.io`, LATESTCREATED = LATESTREADY = nodeinfo-00001, READY True; the URL
shows the node's information; its pods reach 2/2 Running. After about two minutes without
traffic the pods are gone (scale to zero); the next request starts a new pod and is noticeably
slower (cold start). The kn alternative, `kn service create nodeinfo --image
functions/nodeinfo:latest --port 8080`, prints "Service 'nodeinfo' created to latest revision
'nodeinfo-00001' is available at URL:". Figures (times to zero, latencies) are recorded in
summary.json, never asserted as limits.
"""

import statistics
import time

import pytest

from cookbook14.errors import HarnessError, WaitTimeout
from cookbook14.plan import FAST_WINDOW, KN_NAMESPACE, WINDOW_ANNOTATION, WaitFor
from cookbook14.recipes.service import (
    FIRST_REVISION,
    NAME,
    NAMESPACE,
    SERVICE_SELECTOR,
    SERVING_API,
    autoscaler_settings,
    default_domain,
    get_through_ingress,
    host_of,
    revision_pods,
    steady_traffic,
    unreachable_through_kourier,
    wait_for_no_traffic,
    wait_until_no_pods,
)
from cookbook14.tools import run_kn
from cookbook14.waits import Observation, Watched, conditions_of, wait, wait_for

pytestmark = pytest.mark.recipe("14.4")

KN_SUCCESS = f"Service '{NAME}' created to latest revision '{FIRST_REVISION}' is available at URL:"


def _ksvc(kube, namespace=NAMESPACE):
    ksvc = kube.get(SERVING_API, "Service", NAME, namespace)
    assert ksvc is not None, f"kubectl get ksvc {NAME} -n {namespace}: not found"
    return ksvc


def _condition(obj, condition_type):
    return next((c for c in conditions_of(obj) if c.type == condition_type), None)


def _assert_ready_at_first_revision(ksvc, namespace):
    status = ksvc.get("status", {})
    ready = _condition(ksvc, "Ready")
    assert ready and ready.status == "True", (
        f"kubectl get ksvc {NAME} -n {namespace} shows READY {ready}"
    )
    revisions = (status.get("latestCreatedRevisionName"), status.get("latestReadyRevisionName"))
    assert revisions == (FIRST_REVISION, FIRST_REVISION), (
        f"kubectl get ksvc {NAME} -n {namespace} shows LATESTCREATED {revisions[0]}, "
        f"LATESTREADY {revisions[1]}; the book shows {FIRST_REVISION} for both"
    )


@pytest.fixture(scope="module")
def nodeinfo_host(kube):
    """The Host header of nodeinfo's URL; a cluster-local URL cannot be reached through Kourier."""
    url = _ksvc(kube).get("status", {}).get("url", "")
    unreachable = unreachable_through_kourier(NAME, url)
    if unreachable:
        pytest.skip(unreachable)
    return host_of(url)


@pytest.fixture(scope="module")
def figures():
    """Times to zero and latencies of this run, across the checks that measure them."""
    return {"time_to_zero": [], "cold_start_latency": [], "warm_latency": []}


@pytest.fixture(scope="module")
def gone_pods():
    """The names of the pods that went when nodeinfo scaled to zero: a cold start's pod is
    none of them."""
    return set()


@pytest.fixture(scope="module")
def scale_to_zero_failure():
    """The first line of the scale-to-zero check's failure, if it failed: a cold start needs
    scale to zero, so it is blocked by it, not failed again."""
    return []


def test_nodeinfo_is_ready_with_the_domains_url(kube):
    ksvc = _ksvc(kube)
    _assert_ready_at_first_revision(ksvc, NAMESPACE)
    expected = f"http://{NAME}.{NAMESPACE}.{default_domain(kube)}"
    assert ksvc["status"].get("url") == expected, (
        f"kubectl get ksvc {NAME} shows URL {ksvc['status'].get('url')}, config-domain makes "
        f"it {expected}"
    )


def test_nodeinfo_answers_through_kourier_with_the_nodes_information(
    kube, plan, ingress_endpoint, nodeinfo_host
):
    answer = get_through_ingress(
        ingress_endpoint, nodeinfo_host, plan.deadlines["cold_start_request"]
    )
    assert answer.status == 200, (
        f"GET / with Host: {nodeinfo_host} through Kourier at {ingress_endpoint}: HTTP "
        f"{answer.status} {answer.body[:200]!r}"
    )
    pods = {pod["metadata"]["name"] for pod in revision_pods(kube, FIRST_REVISION)}
    assert answer.hostname in pods, (
        f"the page's Hostname is {answer.hostname!r}, not one of nodeinfo's pods {sorted(pods)}"
    )
    for line in ("Platform:", "Arch:", "CPU count:", "Uptime:"):
        assert line in answer.body, f"the page lacks nodeinfo's {line!r} line: {answer.body!r}"


def test_nodeinfo_pods_run_two_of_two(kube, plan, ingress_endpoint, nodeinfo_host):
    # Traffic while the check looks: at zero (a rerun) nodeinfo has no pod until a request
    # comes, and one request alone lets the pod go again after --fast's short window.
    wanted = WaitFor(
        "v1", "Pod", None, NAMESPACE, "pods:1", plan.deadlines["pods"], SERVICE_SELECTOR
    )
    with steady_traffic(
        ingress_endpoint, nodeinfo_host, plan.deadlines["cold_start_request"]
    ) as failures:
        try:
            pods = wait_for(kube, wanted)
        except WaitTimeout as error:
            sent = f"{len(failures)} request(s) sent meanwhile failed" + (
                f", the last: {failures[-1]}" if failures else ""
            )
            pytest.fail(f"{error}\n{sent}", pytrace=False)
    for pod in pods.values():
        containers = [c["name"] for c in pod["spec"]["containers"]]
        assert sorted(containers) == ["queue-proxy", "user-container"], (
            f"pod {pod['metadata']['name']} runs {containers}, not user-container and queue-proxy"
        )


def test_nodeinfo_keeps_the_planned_autoscaling_window(kube, harness):
    revision = kube.get(SERVING_API, "Revision", FIRST_REVISION, NAMESPACE) or {}
    window = (revision.get("metadata", {}).get("annotations") or {}).get(WINDOW_ANNOTATION)
    if harness.options.fast:
        assert window == FAST_WINDOW, (
            f"--fast: revision {FIRST_REVISION} has {WINDOW_ANNOTATION}={window!r}, not "
            f"{FAST_WINDOW}"
        )
    else:
        assert window is None, (
            f"revision {FIRST_REVISION} has {WINDOW_ANNOTATION}={window!r}; without --fast the "
            "book's defaults apply"
        )


def _scale_to_zero(kube, plan, harness, endpoint, host, figures, measure) -> set[str]:
    """A request, then no traffic until no pod of the revision is left; the time to zero is
    recorded beside the one the autoscaler settings in force imply. Returns the pods that went."""
    revision = kube.get(SERVING_API, "Revision", FIRST_REVISION, NAMESPACE) or {}
    settings = autoscaler_settings(kube, revision)
    if not settings.scale_to_zero:
        pytest.skip("config-autoscaler has enable-scale-to-zero false: nodeinfo never goes to zero")
    answer = get_through_ingress(endpoint, host, plan.deadlines["cold_start_request"])
    assert answer.status == 200, f"GET / with Host: {host}: HTTP {answer.status}"
    last_request = time.monotonic()
    went = {pod["metadata"]["name"] for pod in revision_pods(kube, FIRST_REVISION)}
    expected = settings.expected_time_to_zero
    measure("expected_time_to_zero", round(expected, 1), "s")
    wait_until_no_pods(
        kube,
        FIRST_REVISION,
        expected * harness.options.timeout_scale + plan.deadlines["scale_to_zero_margin"],
        expected,
        None,
    )
    seconds = round(time.monotonic() - last_request, 2)
    figures["time_to_zero"].append(seconds)
    measure("time_to_zero", seconds, "s")
    wait_for_no_traffic(kube, FIRST_REVISION, plan.deadlines["scale_to_zero_margin"])
    return went


def test_nodeinfo_scales_to_zero_without_traffic(
    kube,
    plan,
    harness,
    ingress_endpoint,
    nodeinfo_host,
    figures,
    measure,
    gone_pods,
    scale_to_zero_failure,
):
    try:
        gone_pods |= _scale_to_zero(
            kube, plan, harness, ingress_endpoint, nodeinfo_host, figures, measure
        )
    except (HarnessError, AssertionError) as failure:
        scale_to_zero_failure.append(str(failure).splitlines()[0])
        raise


def test_the_next_request_starts_a_new_pod(
    kube,
    plan,
    harness,
    ingress_endpoint,
    nodeinfo_host,
    figures,
    measure,
    gone_pods,
    scale_to_zero_failure,
):
    if scale_to_zero_failure:
        pytest.skip(
            "blocked by failed check test_nodeinfo_scales_to_zero_without_traffic: "
            f"{scale_to_zero_failure[0]}"
        )
    seen = set(gone_pods)
    for attempt in range(harness.options.cold_starts):
        if attempt or revision_pods(kube, FIRST_REVISION):
            seen |= _scale_to_zero(
                kube, plan, harness, ingress_endpoint, nodeinfo_host, figures, measure
            )
        cold = get_through_ingress(
            ingress_endpoint, nodeinfo_host, plan.deadlines["cold_start_request"]
        )
        assert cold.status == 200, (
            f"the request from zero got HTTP {cold.status} {cold.body[:200]!r} through the activator"
        )
        pods = {pod["metadata"]["name"] for pod in revision_pods(kube, FIRST_REVISION)}
        assert cold.hostname in pods - seen, (
            f"the request from zero was answered by {cold.hostname!r}; nodeinfo's pods now are "
            f"{sorted(pods)}, and {sorted(seen)} were there before it"
        )
        seen |= pods
        warm = get_through_ingress(
            ingress_endpoint, nodeinfo_host, plan.deadlines["cold_start_request"]
        )
        assert warm.status == 200, f"the warm request got HTTP {warm.status}"
        figures["cold_start_latency"].append(round(cold.seconds, 3))
        figures["warm_latency"].append(round(warm.seconds, 3))
        measure("cold_start_latency", round(cold.seconds, 3), "s")
        measure("warm_latency", round(warm.seconds, 3), "s")
    for name, values in figures.items():
        if values:
            measure(f"{name}_min", min(values), "s")
            measure(f"{name}_median", round(statistics.median(values), 3), "s")
            measure(f"{name}_max", max(values), "s")


def _namespace_gone(kube, plan, name):
    kube.delete("v1", "Namespace", name)
    wait(
        kube,
        Watched("v1", "Namespace", name=name),
        lambda state: Observation(not state, "still there" if state else "gone"),
        plan.deadlines["namespace_deleted"],
        f"namespace {name} to be deleted",
    )


@pytest.fixture
def kn_namespace(kube, plan):
    """A namespace of the harness's own for the kn alternative, removed (and awaited) after
    the check, once a failure's evidence has been read."""
    _namespace_gone(kube, plan, KN_NAMESPACE)  # a leftover of an interrupted run
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KN_NAMESPACE}}])
    yield KN_NAMESPACE
    _namespace_gone(kube, plan, KN_NAMESPACE)


def test_kn_service_create_reaches_the_same_state(kn, kn_namespace, cluster, kube, plan):
    command = plan.step("14.4").alternatives[0].commands[0][1:]
    wait_timeout = plan.deadlines["ksvc_ready"]
    result = run_kn(
        kn,
        [*command, "--wait-timeout", str(int(wait_timeout))],
        cluster.kubeconfig,
        cluster.context,
        timeout=wait_timeout + 60,
        check=False,
    )
    printed = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, (
        f"`kn {' '.join(command)}` failed (exit {result.returncode}): {printed}"
    )
    lines = result.stdout.splitlines()
    assert KN_SUCCESS in lines, f"`kn {' '.join(command)}` did not print {KN_SUCCESS!r}:\n{printed}"
    url = lines[lines.index(KN_SUCCESS) + 1] if lines[-1] != KN_SUCCESS else ""
    expected = f"http://{NAME}.{kn_namespace}.{default_domain(kube)}"
    assert url == expected, f"kn printed the URL {url!r}, config-domain makes it {expected}"
    _assert_ready_at_first_revision(_ksvc(kube, kn_namespace), kn_namespace)
