"""`cookbook14 releases` against the mirror's GitHub-style release listing, and an exact patch
newer than the catalog planned (and fetched) as uncatalogued."""

from __future__ import annotations

import json
import subprocess

import requests
import yaml

from cookbook14 import upstream
from cookbook14.catalog import Catalog, Version
from tests.launch import ROOT, cookbook14, existing, recipes, run_suites, suites_command
from tests.sim.mirror.releases import newer_versions

CATALOG = Catalog.load()
NEWER_PATCH, NEWER_MINOR = newer_versions(CATALOG.data)


def test_the_mirror_lists_releases_like_github_with_pages(shared_sim_cluster):
    http = upstream.session()
    everything = upstream.list_releases("knative/serving", shared_sim_cluster.release_mirror, http)
    paged = upstream.list_releases(
        "knative/serving", shared_sim_cluster.release_mirror, http, per_page=7
    )
    tags = [item["tag_name"] for item in everything]
    assert [item["tag_name"] for item in paged] == tags, "every page is followed, in order"
    assert len(tags) > 7
    assert tags[0] == f"knative-v{NEWER_MINOR}", "newest first, as GitHub lists them"
    assert f"knative-v{NEWER_PATCH}" in tags
    assert "knative-v1.11.0" in tags
    first = everything[0]
    assert {"tag_name", "name", "published_at", "draft", "prerelease", "html_url", "assets"} <= set(
        first
    )
    asset = next(a for a in first["assets"] if a["name"] == "serving-core.yaml")
    assert requests.get(asset["browser_download_url"], timeout=30).status_code == 200
    missing = requests.get(f"{shared_sim_cluster.release_mirror}/repos/nobody/nothing/releases")
    assert missing.status_code == 404


def test_releases_lists_the_newer_patch_and_minor_and_exits_1(shared_sim_cluster):
    result = cookbook14("releases", "--release-mirror", shared_sim_cluster.release_mirror)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    for repo in ("knative/operator", "knative/serving", "knative/eventing", "knative/client"):
        assert f"{repo} knative-v{NEWER_PATCH}" in out, out
        assert f"{repo} knative-v{NEWER_MINOR}" in out, out
    assert f"knative-extensions/net-kourier knative-v{NEWER_MINOR}" in out
    assert "knative-v1.23.0 " not in out, "a catalogued release is not news"
    minor = Version.parse(NEWER_MINOR).minor_key
    entry_text = out.split("need a person):", 1)[1]
    entry = yaml.safe_load(entry_text)["minors"][minor]
    assert entry["operator"] == NEWER_MINOR
    assert entry["kn"] == NEWER_MINOR
    assert entry["min_kubernetes"].startswith(upstream.TO_FILL)
    assert entry["node"]["image"].startswith(upstream.TO_FILL)


def test_releases_says_when_the_catalog_is_current():
    listing = [
        upstream.UpstreamRelease(
            "serving", "knative/serving", "knative-v1.23.0", Version(1, 23), ""
        ),
        upstream.UpstreamRelease(
            "serving", "knative/serving", "knative-v1.10.3", Version(1, 10, 3), ""
        ),
        upstream.UpstreamRelease("kind", "kubernetes-sigs/kind", "v0.32.0", Version(0, 32), ""),
    ]
    assert upstream.unknown_to_catalog(CATALOG, listing) == []
    newer_kind = upstream.UpstreamRelease(
        "kind", "kubernetes-sigs/kind", "v0.33.0", Version(0, 33), ""
    )
    assert upstream.unknown_to_catalog(CATALOG, [newer_kind]) == [newer_kind]


def test_an_unreachable_upstream_is_one_line_and_exit_3():
    result = cookbook14("releases", "--release-mirror", "http://127.0.0.1:9")
    assert result.returncode == 3
    assert result.stderr.startswith("ERROR: cannot list the releases of knative/operator")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_newer_patch_is_planned_as_uncatalogued(tmp_path):
    result = subprocess.run(
        suites_command(tmp_path, "--plan", "--knative-version", NEWER_PATCH),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["knative"]["operator"] == NEWER_PATCH
    assert plan["knative"]["uncatalogued"] == ["operator", "serving", "eventing", "kourier", "kn"]
    assert plan["knative"]["clamped"] == []
    assert any(d["what"] == f"uncatalogued release {NEWER_PATCH}" for d in plan["deviations"])


def test_the_newer_patch_installs_from_its_own_assets(tmp_path, make_sim_cluster):
    # The mirror has the newer patch's assets (upstream released it), so 14.1 installs it even
    # though the catalog does not know it. Its minor is the catalog's newest: 1.23 needs
    # Kubernetes 1.34.
    sim = make_sim_cluster(kubernetes_version="1.34.0")
    result, summary = run_suites(
        tmp_path, *existing(sim), "--knative-version", NEWER_PATCH, "-m", "recipe_14_1"
    )
    assert summary["knative"]["planned"]["uncatalogued"], summary["knative"]
    step = recipes(summary)["14.1"]["step"]
    assert step["status"] == "passed", step
    assert step["facts"]["operator_version"] == NEWER_PATCH


def test_a_missing_uncatalogued_patch_is_the_one_line_asset_error(tmp_path, sim_cluster):
    # 1.11.99 is newer than the catalog too, but upstream never released it: its operator.yaml
    # is missing, and 14.1 fails with the asset's one line, not a clamp to another release.
    result, summary = run_suites(
        tmp_path, *existing(sim_cluster), "--knative-version", "1.11.99", "-m", "recipe_14_1"
    )
    assert result.returncode == 1
    step = recipes(summary)["14.1"]["step"]
    assert step["status"] == "failed"
    first_line = step["error"].splitlines()[0]
    assert "knative-v1.11.99/operator.yaml" in first_line and "404" in first_line, first_line
