"""Recipe 14.3, Install the kn CLI: planned checks, not implemented yet (reported as skipped)."""

import pytest

pytestmark = pytest.mark.recipe("14.3")


@pytest.mark.not_implemented(
    "kn for this OS/arch is downloaded and matches the release's checksums.txt"
)
def test_kn_binary_verifies_against_checksums():
    """kn for this OS/arch is downloaded and matches the release's checksums.txt"""


@pytest.mark.not_implemented(
    "kn help lists service, revision, source, broker, plugin, completion, version"
)
def test_kn_help_lists_serving_eventing_and_other_commands():
    """kn help lists service, revision, source, broker, plugin, completion, version"""


@pytest.mark.not_implemented("kn version prints the planned kn version")
def test_kn_version_is_the_planned_release():
    """kn version prints the planned kn version"""
