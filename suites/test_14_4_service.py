"""Recipe 14.4, Create a Knative Service: planned checks, not implemented yet.

Each is skipped with the reason "not implemented: <what the book says to see>", never passed."""

import pytest

pytestmark = pytest.mark.recipe("14.4")


@pytest.mark.skip(
    reason="not implemented: ksvc nodeinfo READY True, URL http://nodeinfo.default.127.0.0.1.sslip.io, LATESTCREATED = LATESTREADY = nodeinfo-00001"
)
def test_nodeinfo_is_ready_with_an_sslip_url():
    """ksvc nodeinfo READY True, URL http://nodeinfo.default.127.0.0.1.sslip.io, LATESTCREATED = LATESTREADY = nodeinfo-00001"""


@pytest.mark.skip(
    reason="not implemented: pods -l serving.knative.dev/service=nodeinfo reach 2/2 Running"
)
def test_nodeinfo_pods_run_two_containers():
    """pods -l serving.knative.dev/service=nodeinfo reach 2/2 Running"""


@pytest.mark.skip(reason="not implemented: the URL shows the node's information (Hostname: ...)")
def test_nodeinfo_answers_through_kourier():
    """the URL shows the node's information (Hostname: ...)"""


@pytest.mark.skip(
    reason="not implemented: about two minutes without traffic the pods are gone; revision Active=False NoTraffic, Ready stays True"
)
def test_nodeinfo_scales_to_zero():
    """about two minutes without traffic the pods are gone; revision Active=False NoTraffic, Ready stays True"""


@pytest.mark.skip(
    reason="not implemented: the next request starts a new pod; its latency is recorded"
)
def test_cold_start_is_measured():
    """the next request starts a new pod; its latency is recorded"""


@pytest.mark.skip(
    reason="not implemented: kn service create nodeinfo ... prints 'Service 'nodeinfo' created to latest revision 'nodeinfo-00001' is available at URL:'"
)
def test_kn_service_create_prints_the_url():
    """kn service create nodeinfo ... prints 'Service 'nodeinfo' created to latest revision 'nodeinfo-00001' is available at URL:'"""
