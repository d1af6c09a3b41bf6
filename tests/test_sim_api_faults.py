"""The simulated API server's faults, its command line, and a clean stop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.conftest import (
    config_map,
)
from tests.launch import ROOT as REPO_ROOT
from tests.sim import SimCluster


def test_the_5xx_burst_fault_fails_requests_in_bursts(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster(faults=["api-5xx-burst"])
    url = f"{sim.api_url}/api/v1/namespaces/default/configmaps"
    codes = [requests.get(url, timeout=5).status_code for _ in range(13)]
    assert codes[:9] == [200] * 9
    assert codes[9:12] == [503, 503, 503]
    assert codes[12] == 200
    sim.faults.arm_5xx_burst(1, code=500)
    armed = requests.get(url, timeout=5)
    assert armed.status_code == 500
    assert armed.json()["kind"] == "Status"


def test_runtime_armed_burst_is_a_503_status(sim_cluster: SimCluster) -> None:
    sim_cluster.faults.arm_5xx_burst(2)
    url = f"{sim_cluster.api_url}/api/v1/namespaces"
    first, second, third = (requests.get(url, timeout=5) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.json()["reason"] == "ServiceUnavailable"


def test_the_drop_watches_fault_closes_watches_early(
    make_sim_cluster: Callable[..., SimCluster],
) -> None:
    sim = make_sim_cluster(faults=["drop-watches"])
    store = sim.store
    revision = store.resource_version

    def write_later() -> None:
        time.sleep(0.1)
        store.create(config_map("first"))
        store.create(config_map("second"))

    writer = threading.Thread(target=write_later)
    writer.start()
    response = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true", "resourceVersion": revision},
        stream=True,
        timeout=5,
    )
    events = [json.loads(line) for line in response.iter_lines() if line]
    writer.join()
    assert [e["object"]["metadata"]["name"] for e in events] == ["first"]
    resumed = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={
            "watch": "true",
            "resourceVersion": events[0]["object"]["metadata"]["resourceVersion"],
        },
        stream=True,
        timeout=5,
    )
    assert [
        json.loads(line)["object"]["metadata"]["name"] for line in resumed.iter_lines() if line
    ] == ["second"]
    started = time.monotonic()
    idle = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true", "resourceVersion": store.resource_version},
        stream=True,
        timeout=5,
    )
    assert list(idle.iter_lines()) == []
    assert time.monotonic() - started < 3


def test_unknown_fault_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="accepted: .*drop-watches"):
        SimCluster(tmp_path / "kubeconfig", faults=["made-up"])


def _port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_command_line_starts_and_stops_cleanly(tmp_path: Path) -> None:
    # How fast it starts is measured by benchmarks/speed.py, not asserted here.
    kubeconfig = tmp_path / "cli.kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sim", "--kubeconfig", str(kubeconfig)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SIM_FAULTS": ""},
    )
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["kubeconfig"] == str(kubeconfig)
        assert set(ready) == {"kubeconfig", "release_mirror", "ingress_endpoint"}
        server = next(
            line.split()[-1] for line in kubeconfig.read_text().splitlines() if "server:" in line
        )
        assert requests.get(f"{server}/version", timeout=5).json()["gitVersion"] == "v1.27.3"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not _port_open(server)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_rejects_bad_arguments(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.sim",
            "--kubeconfig",
            str(tmp_path / "k"),
            "--faults",
            "nonsense",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "nonsense" in result.stderr


def test_stop_closes_open_watches_and_leaves_no_threads(tmp_path: Path) -> None:
    # Only this cluster's threads count: a session-wide simulated cluster may be running.
    before = set(threading.enumerate())
    sim = SimCluster(tmp_path / "kubeconfig").start()
    response = requests.get(
        f"{sim.api_url}/api/v1/namespaces/default/configmaps",
        params={"watch": "true"},
        stream=True,
        timeout=5,
    )
    keep_alive = requests.Session()
    keep_alive.get(f"{sim.api_url}/api/v1/namespaces", timeout=5)
    sim.stop()
    # The watch ends, cleanly or cut mid-stream (as a real API server going away may do).
    with contextlib.suppress(requests.exceptions.ChunkedEncodingError):
        list(response.iter_lines())
    assert not _port_open(sim.api_url)
    leftovers = [
        t.name
        for t in set(threading.enumerate()) - before
        if "process_request" in t.name or t.name == "sim-apiserver"
    ]
    assert leftovers == []
    keep_alive.close()
