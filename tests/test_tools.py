"""Tools and release assets: Docker detection, choosing kind, downloading and verifying kn,
each failure as one clear line. Runs against the tool doubles and the simulated release mirror."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cookbook14.assets import fetch_text
from cookbook14.catalog import Catalog, Version
from cookbook14.errors import AssetError, ToolError
from cookbook14.tools import check_docker, install_kn, kind_version, resolve_kind
from tests.sim.doubles import BIN_DIR, executable_script


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


def old_kind(folder: Path, version: str = "v0.17.0") -> Path:
    path = folder / "kind"
    path.write_bytes(executable_script("kind", version))
    path.chmod(0o755)
    return path


def test_docker_not_running_is_one_line(monkeypatch):
    monkeypatch.setenv("PATH", f"{BIN_DIR}:/usr/bin:/bin")
    monkeypatch.setenv("SIM_DOCKER_DOWN", "1")
    with pytest.raises(ToolError) as raised:
        check_docker()
    message = str(raised.value)
    assert message.startswith(
        "Docker is not running (`docker info`: Cannot connect to the Docker daemon"
    )
    assert message.endswith("start Docker, or use --cluster existing")
    assert "\n" not in message


def test_docker_running_passes(monkeypatch):
    monkeypatch.setenv("PATH", f"{BIN_DIR}:/usr/bin:/bin")
    monkeypatch.delenv("SIM_DOCKER_DOWN", raising=False)
    check_docker()


def test_docker_missing_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        ToolError, match=r"^Docker is needed for --cluster kind, but `docker` is not on PATH"
    ):
        check_docker()


def test_too_old_kind_bin_names_what_is_needed(tmp_path, catalog):
    kind = old_kind(tmp_path)
    assert kind_version(kind) == Version(0, 17, 0)
    with pytest.raises(ToolError) as raised:
        resolve_kind(kind, Version(0, 20, 0), catalog, None, tmp_path / "cache")
    assert str(raised.value) == (
        f"--kind-bin {kind} is kind 0.17.0, but the node image of this Knative version needs "
        "kind >= 0.20.0; give a newer kind or leave out --kind-bin to download it"
    )


def test_kind_on_path_that_is_too_old_is_replaced_by_a_verified_download(
    tmp_path, monkeypatch, catalog, sim_cluster
):
    old_kind(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    kind = resolve_kind(
        None, Version(0, 20, 0), catalog, sim_cluster.release_mirror, tmp_path / "cache"
    )
    assert kind.parent == tmp_path / "cache" / "kind" / "0.20.0"
    assert kind_version(kind) == Version(0, 20, 0)


def test_kn_is_downloaded_verified_and_reused(tmp_path, catalog, sim_cluster):
    kn = install_kn(Version(1, 11, 0), catalog, sim_cluster.release_mirror, tmp_path)
    output = subprocess.run([kn, "version"], capture_output=True, text=True, check=True).stdout
    assert "Version:      v1.11.0" in output
    first = kn.stat().st_mtime_ns
    again = install_kn(Version(1, 11, 0), catalog, sim_cluster.release_mirror, tmp_path)
    assert again == kn and kn.stat().st_mtime_ns == first


def test_kn_checksum_mismatch_is_an_error_and_keeps_nothing(tmp_path, catalog, make_sim_cluster):
    sim = make_sim_cluster(faults=["tampered-kn"])
    with pytest.raises(AssetError) as raised:
        install_kn(Version(1, 11, 0), catalog, sim.release_mirror, tmp_path / "cache")
    message = str(raised.value)
    assert message.startswith(
        f"checksum mismatch for {sim.release_mirror}/knative/client/releases/download/knative-v1.11.0/kn-"
    )
    assert "the download was discarded" in message
    assert not any(path.is_file() for path in (tmp_path / "cache").rglob("*"))


def test_unreachable_mirror_is_one_line():
    with pytest.raises(AssetError) as raised:
        fetch_text(
            "http://127.0.0.1:9/knative/operator/releases/download/knative-v1.11.4/operator.yaml"
        )
    message = str(raised.value)
    assert message.startswith("cannot download http://127.0.0.1:9/knative/operator/")
    assert message.endswith("check the network or --release-mirror")
    assert "\n" not in message


def test_missing_asset_names_the_url_and_status(sim_cluster):
    url = f"{sim_cluster.release_mirror}/knative/operator/releases/download/knative-v9.9.9/nothing.yaml"
    with pytest.raises(AssetError, match=r"HTTP 404; check the version and --release-mirror$"):
        fetch_text(url)


def test_a_verified_cached_kn_is_reused_without_the_network(tmp_path, catalog, make_sim_cluster):
    sim = make_sim_cluster()
    kn = install_kn(Version(1, 11, 0), catalog, sim.release_mirror, tmp_path / "cache")
    sim.stop()
    assert install_kn(Version(1, 11, 0), catalog, sim.release_mirror, tmp_path / "cache") == kn


def test_a_cached_kn_that_changed_is_not_trusted(tmp_path, catalog, make_sim_cluster):
    sim = make_sim_cluster(faults=["tampered-kn"])
    cache = tmp_path / "cache"
    good = make_sim_cluster()
    kn = install_kn(Version(1, 11, 0), catalog, good.release_mirror, cache)
    kn.write_bytes(kn.read_bytes() + b"# changed\n")
    with pytest.raises(AssetError, match="checksum mismatch"):
        install_kn(Version(1, 11, 0), catalog, sim.release_mirror, cache)
