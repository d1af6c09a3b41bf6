"""Recipe 14.6, Deploy an event source: planned checks, not implemented yet.

Each is skipped with the reason "not implemented: <what the book says to see>", never passed."""

import pytest

pytestmark = pytest.mark.recipe("14.6")


@pytest.mark.skip(
    reason="not implemented: kubectl api-resources --api-group=sources.knative.dev lists ApiServerSource, ContainerSource, PingSource, SinkBinding"
)
def test_sources_group_lists_the_four_kinds():
    """kubectl api-resources --api-group=sources.knative.dev lists ApiServerSource, ContainerSource, PingSource, SinkBinding"""


@pytest.mark.skip(reason="not implemented: ksvc sockeye READY True")
def test_sockeye_is_ready():
    """ksvc sockeye READY True"""


@pytest.mark.skip(
    reason="not implemented: PingSource ping-source becomes READY True (briefly False, MinimumReplicasUnavailable)"
)
def test_pingsource_becomes_ready():
    """PingSource ping-source becomes READY True (briefly False, MinimumReplicasUnavailable)"""


@pytest.mark.skip(
    reason="not implemented: sockeye's /ws shows a dev.knative.sources.ping event each minute"
)
def test_sockeye_receives_a_ping_event_every_minute():
    """sockeye's /ws shows a dev.knative.sources.ping event each minute"""


@pytest.mark.skip(
    reason="not implemented: kn service create sockeye + kn source ping create deliver events too"
)
def test_kn_alternative_delivers_events():
    """kn service create sockeye + kn source ping create deliver events too"""
