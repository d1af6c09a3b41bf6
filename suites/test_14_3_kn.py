"""Recipe 14.3, Install the kn CLI.

The book: download the `kn` binary of the release for your OS/arch (it shows
`kn-darwin-amd64`), put it on PATH; `kn help` then lists the Serving commands (service,
revision, ...), the Eventing commands (source, broker, ...) and the other commands (plugin,
completion, version). The harness downloads kn for this machine, verifies it against the
release's checksums.txt, and runs every kn command against the cluster under test only.
"""

import os
from pathlib import Path

import pytest

from cookbook14.assets import sha256_of
from cookbook14.recipes.kn import BOOK_COMMAND_GROUPS, COMMAND_TIMEOUT, command_groups, version_line
from cookbook14.tools import run_kn

pytestmark = pytest.mark.recipe("14.3")


def test_kn_for_this_machine_matches_the_release_checksums(steps, plan):
    facts = steps.outcomes["14.3"].facts
    kn = Path(facts["kn_path"])
    assert kn.is_file(), f"kn was installed at {kn}, but no file is there now"
    assert os.access(kn, os.X_OK), f"{kn} is not executable"
    assert sha256_of(kn) == facts["kn_sha256"], (
        f"{kn} changed after it was verified against kn {plan.release.kn}'s checksums.txt"
    )


def test_kn_version_is_the_planned_release(kn, cluster, plan, steps):
    output = run_kn(
        kn, ["version"], cluster.kubeconfig, cluster.context, timeout=COMMAND_TIMEOUT
    ).stdout
    assert version_line(output) == f"v{plan.release.kn}", (
        f"`kn version` prints Version {version_line(output)!r}, the plan installs "
        f"v{plan.release.kn}:\n{output}"
    )
    apis = steps.outcomes["14.3"].facts["kn_supported_apis"]
    assert apis.get("serving") and apis.get("eventing"), (
        f"`kn version` lists no Serving or Eventing API: {apis}"
    )


@pytest.mark.parametrize("group", BOOK_COMMAND_GROUPS)
def test_kn_help_lists_the_books_commands(kn, cluster, group):
    output = run_kn(
        kn, ["help"], cluster.kubeconfig, cluster.context, timeout=COMMAND_TIMEOUT
    ).stdout
    listed = command_groups(output).get(group, [])
    missing = [name for name in BOOK_COMMAND_GROUPS[group] if name not in listed]
    assert not missing, f"`kn help` lists {group} Commands {listed}, without {missing}:\n{output}"
