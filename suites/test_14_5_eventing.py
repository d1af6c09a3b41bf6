"""Recipe 14.5, Install Knative Eventing: planned checks, not implemented yet (reported as skipped)."""

import pytest

pytestmark = pytest.mark.recipe("14.5")


@pytest.mark.not_implemented("KnativeEventing knative-eventing reaches READY True")
def test_knative_eventing_becomes_ready():
    """KnativeEventing knative-eventing reaches READY True"""


@pytest.mark.not_implemented("status.version of KnativeEventing is the planned Eventing version")
def test_knative_eventing_reports_the_planned_version():
    """status.version of KnativeEventing is the planned Eventing version"""


@pytest.mark.not_implemented(
    "eventing-crds, eventing-core, in-memory-channel, mt-channel-broker reach the same state"
)
def test_yaml_install_reaches_the_same_state():
    """eventing-crds, eventing-core, in-memory-channel, mt-channel-broker reach the same state"""
