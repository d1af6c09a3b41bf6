"""Recipe 14.3: kn for this machine, verified and cached; every kn command against the cluster
under test only; the faults tampered-kn and kn-not-executable each turn the install check red
with its cause, and the checks that need kn (14.4's kn alternative) are reported blocked."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest
import yaml

from cookbook14.catalog import Catalog, Version
from cookbook14.errors import ToolError
from cookbook14.recipes.kn import BOOK_COMMAND_GROUPS, command_groups, kn_version
from cookbook14.tools import install_kn, run_kn
from tests.launch import existing, recipes, run_suites

# 14.3's checks plus 14.4's kn alternative (whose step, 14.4, needs 14.2 and 14.1).
KN_CHECKS = ("-m", "recipe_14_3 or recipe_14_4", "-k", "kn")
DEAD_SERVER = "http://127.0.0.1:9"


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


def write_kubeconfig(path: Path, server: str, name: str = "elsewhere") -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": name, "cluster": {"server": server}}],
                "users": [{"name": name, "user": {"token": "t"}}],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
                "current-context": name,
            }
        )
    )
    return path


def test_run_kn_talks_to_the_given_cluster_whatever_kubeconfig_says(
    tmp_path, catalog, sim_cluster, monkeypatch
):
    kn = install_kn(Version(1, 11, 0), catalog, sim_cluster.release_mirror, tmp_path / "cache")
    # The user's default points at a cluster that is not there.
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "user", DEAD_SERVER)))
    args = ["service", "describe", "nodeinfo"]
    plain = subprocess.run([kn, *args], capture_output=True, text=True)
    assert "connection refused" in plain.stderr, "without flags kn follows KUBECONFIG"
    # The cluster under test answers (no Serving there: the API server's 404 comes back).
    under_test = run_kn(kn, args, sim_cluster.kubeconfig, sim_cluster.context_name, check=False)
    assert under_test.returncode == 1
    assert "connection refused" not in under_test.stderr
    assert "the server could not find the requested resource" in under_test.stderr


def test_run_kn_uses_the_given_context_not_the_current_one(tmp_path, catalog, sim_cluster):
    kn = install_kn(Version(1, 11, 0), catalog, sim_cluster.release_mirror, tmp_path / "cache")
    config = yaml.safe_load(sim_cluster.kubeconfig.read_text())
    dead = yaml.safe_load(write_kubeconfig(tmp_path / "dead", DEAD_SERVER).read_text())
    for key in ("clusters", "users", "contexts"):
        config[key] += dead[key]
    config["current-context"] = "elsewhere"
    both = tmp_path / "both"
    both.write_text(yaml.safe_dump(config))
    args = ["service", "describe", "nodeinfo"]
    assert "connection refused" in run_kn(kn, args, both, None, check=False).stderr
    chosen = run_kn(kn, args, both, sim_cluster.context_name, check=False)
    assert "the server could not find the requested resource" in chosen.stderr


def test_kn_version_and_help_as_the_harness_reads_them(tmp_path, catalog, sim_cluster):
    kn = install_kn(Version(1, 11, 2), catalog, sim_cluster.release_mirror, tmp_path / "cache")
    found = kn_version(kn, sim_cluster.kubeconfig, None)
    assert found.version == "1.11.2"
    # kn lists the API versions of its go.mod, not its own: 1.11.2 requires eventing v1.11.5.
    assert (
        found.supported_apis["eventing"][0] == "sources.knative.dev/v1 (knative-eventing v1.11.5)"
    )
    groups = command_groups(run_kn(kn, ["help"], sim_cluster.kubeconfig, None).stdout)
    for group, commands in BOOK_COMMAND_GROUPS.items():
        assert set(commands) <= set(groups[group])


def test_a_platform_kn_is_not_released_for_is_one_line(tmp_path, catalog, monkeypatch):
    monkeypatch.setattr(platform, "system", lambda: "Windows")
    monkeypatch.setattr(platform, "machine", lambda: "ARM64")
    with pytest.raises(ToolError) as raised:
        install_kn(Version(1, 11, 0), catalog, None, tmp_path)
    assert str(raised.value) == (
        "kn is not released for windows-arm64; released for: linux-amd64, linux-arm64, "
        "darwin-amd64, darwin-arm64, windows-amd64"
    )


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("tampered-kn", "checksum mismatch for "),
        ("kn-not-executable", "matches the release's checksums.txt but does not run: "),
    ],
)
def test_a_bad_kn_turns_the_install_check_red_and_blocks_the_kn_checks(
    tmp_path, make_sim_cluster, fault, cause
):
    sim = make_sim_cluster(faults=[fault])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result, summary = run_suites(tmp_path / "r", *existing(sim), *KN_CHECKS, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    kn_checks = recipes(summary)["14.3"]["checks"]
    first, *later = kn_checks
    assert first["name"] == "test_kn_for_this_machine_matches_the_release_checksums"
    assert first["outcome"] == "error"
    assert first["message"].startswith("step 14.3 (Install the kn CLI) failed: ")
    assert cause in first["message"]
    if fault == "kn-not-executable":
        assert first["message"].endswith("Exec format error")
    blocked = [*later, *recipes(summary)["14.4"]["checks"]]
    assert [c["name"] for c in blocked][-1] == "test_kn_service_create_reaches_the_same_state"
    assert all(c["message"] == f"blocked by failed {first['message']}" for c in blocked)
    assert recipes(summary)["14.4"]["outcome"] == "blocked"
