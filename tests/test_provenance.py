"""Provenance: every release asset a run reads is in summary.json with its URL and sha256, and
an asset that changed under the same URL since an earlier run is reported as drift."""

from __future__ import annotations

import hashlib
import os
import re

import pytest
import requests

from cookbook14 import assets
from cookbook14.assets import Fetched, Provenance, cached_binary, fetch_text
from cookbook14.catalog import Catalog
from cookbook14.options import Options
from cookbook14.plan import build_plan
from cookbook14.report import RunReport
from tests.conftest import mirror_url
from tests.launch import existing, run_suites

DRIFT = re.compile(
    r"upstream asset (?P<url>\S+) changed since (?P<date>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ): "
    r"(?P<old>[0-9a-f]{64}) -> (?P<new>[0-9a-f]{64})"
)


@pytest.fixture
def provenance(monkeypatch, tmp_path) -> Provenance:
    """A fresh record of this process's downloads, remembering in tmp_path/cache."""
    fresh = Provenance()
    fresh.remember_in(tmp_path / "cache")
    monkeypatch.setattr(assets, "PROVENANCE", fresh)
    return fresh


def operator_yaml(sim) -> str:
    return mirror_url(sim, "knative", "operator", "knative-v1.11.4", "operator.yaml")


def test_a_fetched_manifest_is_recorded_with_its_url_and_sha256(shared_sim_cluster, provenance):
    url = operator_yaml(shared_sim_cluster)
    served = requests.get(url, timeout=10).content
    fetch_text(url)
    fetch_text(url)
    assert [(f.url, f.sha256, f.size) for f in provenance.fetched] == [
        (url, hashlib.sha256(served).hexdigest(), len(served))
    ], "one entry per asset, whatever the number of reads"
    assert provenance.warnings == []


def test_a_binary_is_listed_whether_downloaded_or_verified_in_the_cache(
    tmp_path, provenance, release_server, monkeypatch
):
    body = b"\x7fELF" + bytes(1024)
    sha256 = hashlib.sha256(body).hexdigest()
    checksums = release_server.add("/checksums.txt", f"{sha256}  kn-linux-amd64\n".encode())
    binary = release_server.add("/kn-linux-amd64", body)
    cached_binary(binary, checksums, tmp_path / "binaries")
    assert Fetched(binary, sha256, len(body)) in provenance.fetched
    # A later run takes the verified copy from the cache without reading the checksums again.
    later = Provenance()
    monkeypatch.setattr(assets, "PROVENANCE", later)
    cached_binary(binary, checksums, tmp_path / "binaries")
    assert later.fetched == [Fetched(binary, sha256, len(body))]


def test_an_asset_changed_under_the_same_url_is_drift(
    sim_cluster, provenance, monkeypatch, tmp_path
):
    url = operator_yaml(sim_cluster)
    fetch_text(url)
    first = provenance.fetched[0].sha256
    # Another run, same cache: the same bytes are no news.
    again = Provenance()
    again.remember_in(tmp_path / "cache")
    monkeypatch.setattr(assets, "PROVENANCE", again)
    fetch_text(url)
    assert again.warnings == []
    # Upstream rebuilt the asset under the same tag.
    sim_cluster.mirror_knobs.changed.add("operator.yaml")
    later = Provenance()
    later.remember_in(tmp_path / "cache")
    monkeypatch.setattr(assets, "PROVENANCE", later)
    fetch_text(url)
    [warning] = later.warnings
    drift = DRIFT.fullmatch(warning)
    assert drift, warning
    assert drift["url"] == url
    assert (drift["old"], drift["new"]) == (first, later.fetched[0].sha256)
    assert drift["old"] != drift["new"]


def test_without_a_cache_nothing_is_remembered(shared_sim_cluster, monkeypatch, tmp_path):
    library_use = Provenance()
    monkeypatch.setattr(assets, "PROVENANCE", library_use)
    monkeypatch.chdir(tmp_path)
    fetch_text(operator_yaml(shared_sim_cluster))
    assert len(library_use.fetched) == 1
    assert list(tmp_path.rglob("*")) == []


def test_the_report_lists_assets_and_their_drift(tmp_path):
    provenance = Provenance()
    provenance.remember_in(tmp_path / "cache")
    provenance.add("https://example.test/operator.yaml", b"one")
    provenance.add("https://example.test/operator.yaml", b"two")
    report = RunReport("run", tmp_path, build_plan(Options(), Catalog.load()))
    report.provenance = provenance
    summary = report.to_dict()
    assert summary["assets"] == [
        {"url": "https://example.test/operator.yaml", "sha256": sha, "size": 3}
        for sha in (hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"two").hexdigest())
    ]
    assert [w for w in summary["warnings"] if DRIFT.fullmatch(w)] == provenance.warnings
    assert len(provenance.warnings) == 1


def test_two_runs_of_the_same_version_report_drift_and_the_http_mirror(tmp_path, sim_cluster):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    args = (*existing(sim_cluster), "-m", "recipe_14_1")
    result, first = run_suites(tmp_path / "first", *args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    url = operator_yaml(sim_cluster)
    [recorded] = [a for a in first["assets"] if a["url"] == url]
    assert recorded["sha256"] == hashlib.sha256(requests.get(url, timeout=10).content).hexdigest()
    assert not [w for w in first["warnings"] if DRIFT.fullmatch(w)]
    plain_http = [w for w in first["warnings"] if w.startswith("--release-mirror http://")]
    assert plain_http and "checksums" in plain_http[0] and "same host" in plain_http[0]

    sim_cluster.mirror_knobs.changed.add("operator.yaml")
    result, second = run_suites(tmp_path / "second", *args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    drift = [DRIFT.fullmatch(w) for w in second["warnings"] if DRIFT.fullmatch(w)]
    assert [(d["url"], d["old"]) for d in drift] == [(url, recorded["sha256"])]
    [now] = [a for a in second["assets"] if a["url"] == url]
    assert drift[0]["new"] == now["sha256"] != recorded["sha256"]
