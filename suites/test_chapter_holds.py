"""The finished chapter: after every recipe (this module sorts after test_14_*), what the
earlier recipes showed still holds on the cluster that now also runs the GitHub source and
TriggerMesh: nodeinfo still answers (14.4), and ping events still reach sockeye (14.6).

Each check is reported under the recipe it re-checks; `-m chapter` selects these checks,
`-m recipe_14_N` does not."""

import pytest

from cookbook14.recipes.event_source import listen_to_the_books_ping_source
from cookbook14.recipes.service import (
    NAME,
    NAMESPACE,
    SERVING_API,
    get_through_ingress,
    host_of,
    unreachable_through_kourier,
)
from fixtures.session import ensure_step


@pytest.mark.chapter("14.4")
def test_nodeinfo_still_answers(steps, kube, plan, ingress_endpoint):
    """at the end of the chapter, nodeinfo's URL still shows the node's information"""
    ensure_step(steps, "14.4")
    ksvc = kube.get(SERVING_API, "Service", NAME, NAMESPACE) or {}
    deleted_at = ksvc.get("metadata", {}).get("deletionTimestamp")
    assert not deleted_at, (
        f"kubectl get ksvc {NAME}: being deleted (since {deleted_at}) at the end of the chapter"
    )
    url = ksvc.get("status", {}).get("url")
    assert url, f"kubectl get ksvc {NAME}: gone, or no URL, at the end of the chapter"
    unreachable = unreachable_through_kourier(NAME, url)
    if unreachable:
        pytest.skip(unreachable)
    answer = get_through_ingress(
        ingress_endpoint, host_of(url), plan.deadlines["cold_start_request"]
    )
    assert answer.status == 200 and answer.hostname, (
        f"GET {url} through Kourier at the end of the chapter: HTTP {answer.status} "
        f"{answer.body[:200]!r}"
    )


@pytest.mark.chapter("14.6")
def test_ping_events_still_arrive(steps, kube, plan, harness, ingress_endpoint):
    """at the end of the chapter, sockeye still shows a new ping event every minute"""
    facts = ensure_step(steps, "14.6").facts
    unreachable = unreachable_through_kourier("sockeye", facts["sockeye_url"])
    if unreachable:
        pytest.skip(unreachable)
    delivery = listen_to_the_books_ping_source(
        kube,
        "default",
        ingress_endpoint,
        facts["sockeye_url"],
        plan.deadlines,
        harness.options.timeout_scale,
    )
    assert delivery.events, f"at the end of the chapter: {delivery.describe_failure()}"
