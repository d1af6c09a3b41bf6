"""Recipe 14.3, Install the kn CLI: planned checks, not implemented yet.

Each is skipped with the reason "not implemented: <what the book says to see>", never passed."""

import pytest

pytestmark = pytest.mark.recipe("14.3")


@pytest.mark.skip(
    reason="not implemented: kn for this OS/arch is downloaded and matches the release's checksums.txt"
)
def test_kn_binary_verifies_against_checksums():
    """kn for this OS/arch is downloaded and matches the release's checksums.txt"""


@pytest.mark.skip(
    reason="not implemented: kn help lists service, revision, source, broker, plugin, completion, version"
)
def test_kn_help_lists_serving_eventing_and_other_commands():
    """kn help lists service, revision, source, broker, plugin, completion, version"""


@pytest.mark.skip(reason="not implemented: kn version prints the planned kn version")
def test_kn_version_is_the_planned_release():
    """kn version prints the planned kn version"""
