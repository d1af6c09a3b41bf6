"""Tools and release assets: Docker detection, choosing kind, pulling kind's node image,
downloading and verifying kn, each failure as one clear line. Runs against the tool doubles
and the simulated release mirror."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
from pathlib import Path

import pytest

import cookbook14.assets
from cookbook14.assets import fetch_text
from cookbook14.catalog import Catalog, Version
from cookbook14.errors import AssetError, ToolError
from cookbook14.tools import (
    check_docker,
    install_kn,
    kind_needed_for,
    kind_version,
    pull_node_image,
    resolve_kind,
)
from tests.sim.doubles import BIN_DIR, engine_named, executable_script

NODE_IMAGE = "kindest/node:v1.27.3"


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


def test_a_broken_cli_plugin_is_not_taken_for_the_reason(monkeypatch):
    # docker/cli prettyPrintClientInfo prints the client's warnings before the daemon's error.
    monkeypatch.setenv("PATH", f"{BIN_DIR}:/usr/bin:/bin")
    monkeypatch.setenv("SIM_DOCKER_DOWN", "1")
    monkeypatch.setenv("SIM_DOCKER_BROKEN_PLUGIN", "1")
    with pytest.raises(ToolError) as raised:
        check_docker()
    assert str(raised.value) == (
        "Docker is not running (`docker info`: Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?); start Docker, or use "
        "--cluster existing"
    )


def test_kind_experimental_provider_podman_needs_podman_not_docker(monkeypatch, tmp_path):
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    monkeypatch.setenv("PATH", f"{BIN_DIR}:/usr/bin:/bin")
    monkeypatch.delenv("SIM_DOCKER_DOWN", raising=False)
    with pytest.raises(ToolError) as raised:
        check_docker()
    assert str(raised.value) == (
        "Podman is needed for --cluster kind (KIND_EXPERIMENTAL_PROVIDER=podman), but `podman` "
        "is not on PATH; install and start Podman, or use --cluster existing"
    )
    podman = engine_named(tmp_path, "podman")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert check_docker() == podman


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


def test_too_old_kind_bin_for_nerdctl_says_so(tmp_path, catalog):
    kind = old_kind(tmp_path)
    needed, needed_by = kind_needed_for("nerdctl", Version(0, 20, 0))
    with pytest.raises(ToolError) as raised:
        resolve_kind(kind, needed, catalog, None, tmp_path / "cache", needed_by=needed_by)
    assert str(raised.value) == (
        f"--kind-bin {kind} is kind 0.17.0, but KIND_EXPERIMENTAL_PROVIDER=nerdctl (kind's "
        "nerdctl provider) needs kind >= 0.23.0; give a newer kind or leave out --kind-bin to "
        "download it"
    )


def test_kind_on_path_that_is_too_old_is_replaced_by_a_verified_download(
    tmp_path, monkeypatch, catalog, sim_cluster
):
    old_kind(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    kind = resolve_kind(
        None, Version(0, 20, 0), catalog, sim_cluster.release_mirror, tmp_path / "cache"
    )
    assert kind.parent.parent == tmp_path / "cache" / "kind" / "0.20.0"
    assert kind_version(kind) == Version(0, 20, 0)


def test_a_kind_on_path_that_cannot_run_falls_back_to_the_download(
    tmp_path, monkeypatch, catalog, sim_cluster
):
    # An asdf shim with no version chosen: on PATH, but `kind version` fails.
    shim = tmp_path / "kind"
    shim.write_text(
        "#!/bin/sh\necho 'No version is set for command kind' >&2\n"
        "echo 'Consider adding one of the following versions in your config file at "
        "/home/me/.tool-versions' >&2\nexit 126\n"
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    warnings: list[str] = []
    kind = resolve_kind(
        None,
        Version(0, 20, 0),
        catalog,
        sim_cluster.release_mirror,
        tmp_path / "cache",
        warn=warnings.append,
    )
    assert kind_version(kind) == Version(0, 20, 0)
    assert kind.parent.parent == tmp_path / "cache" / "kind" / "0.20.0"
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert warnings[0].startswith(f"the kind on PATH ({shim}) does not work (")
    assert "No version is set for command kind" in warnings[0]
    assert warnings[0].endswith("using a verified download of kind 0.20.0 instead")


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


def test_kind_is_not_downloaded_for_windows_on_arm(tmp_path, monkeypatch, catalog):
    # kind's hack/release/build/cross.sh builds windows/amd64 only (v0.20.0-v0.32.0).
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(platform, "system", lambda: "Windows")
    monkeypatch.setattr(platform, "machine", lambda: "ARM64")
    with pytest.raises(ToolError) as raised:
        resolve_kind(None, Version(0, 20, 0), catalog, None, tmp_path / "cache")
    assert str(raised.value) == (
        "kind is not released for windows-arm64; released for: linux-amd64, linux-arm64, "
        "darwin-amd64, darwin-arm64, windows-amd64"
    )


def test_a_kn_cached_from_a_mirror_is_not_reused_for_github(
    tmp_path, catalog, sim_cluster, monkeypatch
):
    cache = tmp_path / "cache"
    from_mirror = install_kn(Version(1, 11, 0), catalog, sim_cluster.release_mirror, cache)
    asked: list[str] = []

    def offline(url: str, stream: bool = False):
        asked.append(url)
        raise AssetError(f"cannot download {url}: offline")

    monkeypatch.setattr(cookbook14.assets, "_get", offline)
    with pytest.raises(AssetError, match="offline"):
        install_kn(Version(1, 11, 0), catalog, None, cache)
    assert asked[0].startswith(
        "https://github.com/knative/client/releases/download/knative-v1.11.0/"
    ), "the mirror's copy was not taken for github.com's: github.com is asked"
    # The mirror's own copy is still reused without the network.
    assert install_kn(Version(1, 11, 0), catalog, sim_cluster.release_mirror, cache) == from_mirror


def test_the_node_image_is_pulled_once_with_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_KIND_STATE", str(tmp_path / "host"))
    monkeypatch.delenv("SIM_DOCKER_DOWN", raising=False)
    said: list[str] = []
    pull_node_image(BIN_DIR / "docker", NODE_IMAGE, 60, said.append)
    assert said[0] == (
        f"pulling node image {NODE_IMAGE} (about 1 GB unpacked, once per machine); up to 60s"
    )
    assert f"pulling node image {NODE_IMAGE}: 6 of 6 layers done" in said
    assert said[-1] == f"pulled node image {NODE_IMAGE}"
    said.clear()
    pull_node_image(BIN_DIR / "docker", NODE_IMAGE, 60, said.append)
    assert said == [f"node image {NODE_IMAGE} is already on this machine"]


def test_podman_pulls_the_node_image_by_the_name_kind_looks_for(tmp_path, monkeypatch):
    # kind's podman provider (podman/images.go sanitizeImage) pulls docker.io/<repo>@<digest>.
    monkeypatch.setenv("SIM_KIND_STATE", str(tmp_path / "host"))
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    podman = engine_named(tmp_path, "podman")
    said: list[str] = []
    pull_node_image(podman, f"{NODE_IMAGE}@sha256:{'1' * 64}", 60, said.append)
    assert said[-1] == f"pulled node image docker.io/kindest/node@sha256:{'1' * 64}"


def test_a_slow_pull_stops_at_its_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_KIND_STATE", str(tmp_path / "host"))
    monkeypatch.setenv("SIM_DOCKER_PULL_SECONDS", "30")
    with pytest.raises(ToolError) as raised:
        pull_node_image(BIN_DIR / "docker", NODE_IMAGE, 1, lambda message: None)
    assert str(raised.value) == f"`{BIN_DIR / 'docker'} pull {NODE_IMAGE}` did not finish within 1s"


def test_a_ctrl_c_during_the_pull_stops_it_in_its_own_session(tmp_path, monkeypatch):
    """The pull runs as every tool does: in a session of its own (a terminal's Ctrl-C reaches
    the harness only), and stopped, not left downloading, when the harness is interrupted."""
    monkeypatch.setenv("SIM_KIND_STATE", str(tmp_path / "host"))
    monkeypatch.setenv("SIM_DOCKER_PULL_SECONDS", "60")
    started: list[tuple[subprocess.Popen, int]] = []
    popen = subprocess.Popen

    def interrupted_while_waited_for(*args, **kwargs) -> subprocess.Popen:
        process = popen(*args, **kwargs)
        if "pull" not in process.args:
            return process
        started.append((process, os.getsid(process.pid)))
        wait = process.wait

        def ctrl_c_then_wait(timeout: float | None = None) -> int:
            process.wait = wait
            signal.raise_signal(signal.SIGINT)
            return wait(timeout)

        process.wait = ctrl_c_then_wait
        return process

    monkeypatch.setattr(subprocess, "Popen", interrupted_while_waited_for)
    with pytest.raises(KeyboardInterrupt):
        pull_node_image(BIN_DIR / "docker", NODE_IMAGE, 120, lambda message: None)
    [(pull, session)] = started
    assert session == pull.pid, "the pull shares the terminal's process group"
    assert pull.poll() is not None, "the pull was left running"


def test_a_cached_kn_that_changed_is_not_trusted(tmp_path, catalog, make_sim_cluster):
    sim = make_sim_cluster(faults=["tampered-kn"])
    cache = tmp_path / "cache"
    good = make_sim_cluster()
    kn = install_kn(Version(1, 11, 0), catalog, good.release_mirror, cache)
    kn.write_bytes(kn.read_bytes() + b"# changed\n")
    with pytest.raises(AssetError, match="checksum mismatch"):
        install_kn(Version(1, 11, 0), catalog, sim.release_mirror, cache)
