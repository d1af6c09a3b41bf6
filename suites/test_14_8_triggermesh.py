"""Recipe 14.8, Install TriggerMesh event sources: planned checks, not implemented yet.

Each is skipped with the reason "not implemented: <what the book says to see>", never passed."""

import pytest

pytestmark = pytest.mark.recipe("14.8")


@pytest.mark.skip(
    reason="not implemented: api-resources --api-group=sources.triggermesh.io lists AWSCloudWatchLogsSource, AWSCloudWatchSource, AWSCodeCommitSource, ..."
)
def test_triggermesh_sources_are_served():
    """api-resources --api-group=sources.triggermesh.io lists AWSCloudWatchLogsSource, AWSCloudWatchSource, AWSCodeCommitSource, ..."""


@pytest.mark.skip(
    reason="not implemented: api-resources --api-group=targets.triggermesh.io lists AWSComprehendTarget, AWSDynamoDBTarget, AWSEventBridgeTarget, ..."
)
def test_triggermesh_targets_are_served():
    """api-resources --api-group=targets.triggermesh.io lists AWSComprehendTarget, AWSDynamoDBTarget, AWSEventBridgeTarget, ..."""
