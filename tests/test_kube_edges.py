"""The access layer at the edges of a real machine: an API server that dies or hangs mid-wait,
one that is not there or is not Kubernetes, proxies in the environment, and kubeconfig exec
credential plugins that fail. Against the simulated API server, through the official client."""

from __future__ import annotations

import logging
import os
import re
import socket
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import urllib3
import yaml

from cookbook14 import assets, waits
from cookbook14 import kube as kube_module
from cookbook14.errors import AssetError, KubeError
from cookbook14.kube import UNREACHABLE, UNREACHABLE_LIMIT, Kube
from cookbook14.loopback import direct_if_loopback, is_loopback
from cookbook14.waits import condition_is_true, wait
from tests.conftest import wait_until
from tests.launch import existing, recipes, run_suites
from tests.sim.apiserver import ApiServer
from tests.test_kube_waits import GEAR, with_widget

# Slack for a loaded machine (7 helpers on 2 cores): the bound is what is promised, the slack
# only keeps a slow scheduler from failing the test.
SLACK = 20.0


def gear(sim) -> Kube:
    """The access layer for `sim`, with Widget gear created (and never Ready)."""
    return with_widget(sim)[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kubeconfig_with(sim, tmp_path: Path, server: str | None = None, exec_: dict | None = None):
    """A copy of the sim's kubeconfig with another server address or an exec plugin user."""
    document = yaml.safe_load(Path(sim.kubeconfig).read_text())
    if server:
        document["clusters"][0]["cluster"]["server"] = server
    if exec_:
        document["users"][0]["user"] = {"exec": exec_}
    target = tmp_path / "kubeconfig"
    target.write_text(yaml.safe_dump(document))
    return target


# -- a cluster that dies or hangs mid-run ---------------------------------------------------


def test_an_api_server_killed_mid_wait_is_reported_with_its_cause_within_the_bound(
    make_sim_cluster,
):
    sim = make_sim_cluster()
    kube = gear(sim)
    seen: list[str] = []
    killed_at: list[float] = []

    def kill() -> None:
        killed_at.append(time.monotonic())
        sim._api_server.stop()

    timer = threading.Timer(3.0, kill)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KubeError) as raised:
        wait(kube, GEAR, condition_is_true("Ready"), 600, "Widget gear Ready", seen.append)
    given_up = time.monotonic()
    timer.join()
    message = str(raised.value)
    assert message.startswith(
        f"cannot wait for Widget gear Ready: the API server {sim.api_url} has not answered since "
    ), message
    assert "UTC: connection refused" in message, message
    assert "\n" not in message
    assert raised.value.reason == UNREACHABLE
    # Short outages are retried through; a dead server is given up on after the limit.
    assert given_up - started >= UNREACHABLE_LIMIT
    assert given_up - killed_at[0] <= UNREACHABLE_LIMIT + waits.MAX_BACKOFF + SLACK
    unreachable = [line for line in seen if "the API is unreachable" in line]
    assert unreachable, seen
    after = seen[seen.index(unreachable[0]) :]
    assert all("no Ready condition yet" not in line for line in after), after


def test_progress_says_the_api_is_unreachable_not_the_stale_state(make_sim_cluster, monkeypatch):
    monkeypatch.setattr(waits, "QUIET_PERIOD", 0.0)
    sim = make_sim_cluster()
    kube = gear(sim)
    kube.unreachable_limit = 4.0  # the figure is tested above; here, what is said meanwhile
    seen: list[str] = []

    def progress(line: str) -> None:
        if not seen:
            sim._api_server.stop()
        seen.append(line)

    with pytest.raises(KubeError, match="connection refused"):
        wait(kube, GEAR, condition_is_true("Ready"), 60, "Widget gear Ready", progress)
    assert "no Ready condition yet" in seen[0]
    assert len(seen) >= 2, seen
    for line in seen[1:]:
        assert re.fullmatch(
            r"waiting for Widget gear Ready \(\d+s of 60s\): the API is unreachable: the API "
            rf"server {re.escape(sim.api_url)} has not answered since \d\d:\d\d:\d\d UTC: "
            r"connection (refused|reset by peer)",
            line,
        ), line


def test_a_short_outage_is_waited_through(make_sim_cluster):
    sim = make_sim_cluster()
    kube = gear(sim)
    port = int(sim.api_url.rsplit(":", 1)[1])

    def restart_then_get_ready() -> None:
        sim._api_server.stop()
        time.sleep(3)
        sim._api_server = ApiServer(sim.store, sim.faults, sim.kubernetes_version, port)
        sim._api_server.start()
        time.sleep(1)
        sim.store.update_status(
            "example.com/v1",
            "Widget",
            "gear",
            "default",
            {"conditions": [{"type": "Ready", "status": "True"}]},
        )

    timer = threading.Timer(1.0, restart_then_get_ready)
    timer.start()
    state = wait(kube, GEAR, condition_is_true("Ready"), 60, "Widget gear Ready")
    timer.join()
    assert state["default/gear"]["status"]["conditions"][0]["status"] == "True"
    assert kube.silence() is None


def test_an_api_server_that_hangs_mid_wait_is_reported(make_sim_cluster, monkeypatch):
    # Small figures, so that the hang is found in seconds: the mechanism is what is tested.
    monkeypatch.setattr(kube_module, "WATCH_GRACE", 1.0)
    monkeypatch.setattr(kube_module, "SILENT_REQUEST_TIMEOUT", 1.0)
    monkeypatch.setattr(waits, "PROGRESS_INTERVAL", 2.0)
    sim = make_sim_cluster()
    kube = gear(sim)
    kube.unreachable_limit = 3.0
    timer = threading.Timer(0.5, sim._api_server.hang)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KubeError) as raised:
        wait(kube, GEAR, condition_is_true("Ready"), 120, "Widget gear Ready")
    timer.join()
    assert "has not answered since" in str(raised.value)
    assert "no answer in time (read timed out)" in str(raised.value)
    # limit + one watch slice and its grace + backoff
    assert time.monotonic() - started <= 3.0 + 2.0 + 1.0 + waits.MAX_BACKOFF + SLACK
    # Given up on: the next request fails after one short try, not after another limit.
    again = time.monotonic()
    with pytest.raises(KubeError, match="has not answered since"):
        kube.list("v1", "ConfigMap", "default")
    assert time.monotonic() - again <= 1.0 + SLACK


def test_a_closed_api_port_fails_at_once_with_advice(sim_cluster, tmp_path):
    server = f"http://127.0.0.1:{closed_port()}"
    kubeconfig = kubeconfig_with(sim_cluster, tmp_path, server=server)
    kube = Kube.from_kubeconfig(kubeconfig)
    started = time.monotonic()
    with pytest.raises(KubeError) as raised:
        kube.server_version()
    message = str(raised.value)
    assert time.monotonic() - started < 5 + SLACK, "three quick tries, not 27 s of retries"
    assert message.startswith(
        f"cannot read /version: the API server {server} (context "
        f"{sim_cluster.context_name} of --kubeconfig {kubeconfig}) does not answer: "
        "connection refused; check that the cluster is running"
    ), message
    assert "kubectl config view --minify" in message and "--context NAME" in message
    assert "\n" not in message


class _NotKubernetes(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"404 page not found\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet."""


def test_a_server_that_is_not_kubernetes_is_named_so(sim_cluster, tmp_path):
    web = ThreadingHTTPServer(("127.0.0.1", 0), _NotKubernetes)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        server = f"http://127.0.0.1:{web.server_address[1]}"
        kube = Kube.from_kubeconfig(kubeconfig_with(sim_cluster, tmp_path, server=server))
        with pytest.raises(KubeError) as version:
            kube.server_version()
        with pytest.raises(KubeError) as listing:
            kube.list("v1", "ConfigMap", "default")
    finally:
        web.shutdown()
        web.server_close()
    for raised in (version, listing):
        message = str(raised.value)
        assert message.startswith(f"{server} (context {sim_cluster.context_name} of "), message
        assert "is not a Kubernetes API server: GET /version" in message
        assert "404 Not Found" in message and "kubectl config view --minify" in message


# -- proxies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("https://127.0.0.1:6443", True),
        ("http://127.1.2.3:80/x", True),
        ("https://[::1]:6443", True),
        ("https://localhost:6443", True),
        ("http://LOCALHOST", True),
        ("127.0.0.1:31080", True),
        ("https://[::ffff:127.0.0.1]:6443", True),
        ("https://10.0.0.1:6443", False),
        ("https://localhost.example.com", False),
        ("https://github.com/knative/operator/releases", False),
        ("https://128.0.0.1", False),
    ],
)
def test_loopback_is_what_go_never_proxies(url, loopback):
    assert is_loopback(url) is loopback


def test_requests_to_loopback_name_their_host_in_no_proxy():
    assert direct_if_loopback("http://127.0.0.1:8080/x") == {"no_proxy": "127.0.0.1"}
    assert direct_if_loopback("http://[::1]:8080/x") == {"no_proxy": "::1"}
    assert direct_if_loopback("https://github.com/knative") is None


@pytest.fixture
def dead_proxy(monkeypatch) -> str:
    """A proxy in the environment that refuses every connection, and no NO_PROXY."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return proxy


def test_a_loopback_api_server_is_reached_past_the_proxy(sim_cluster, dead_proxy):
    kube = Kube.from_kubeconfig(sim_cluster.kubeconfig)
    assert kube.api_client.configuration.proxy is None
    assert not isinstance(kube.api_client.rest_client.pool_manager, urllib3.ProxyManager)
    assert kube.server_version().startswith("v")


def test_other_api_servers_keep_the_proxy_and_no_proxy(
    sim_cluster, dead_proxy, tmp_path, monkeypatch
):
    remote = kubeconfig_with(sim_cluster, tmp_path, server="https://10.20.30.40:6443")
    kube = Kube.from_kubeconfig(remote)
    assert kube.api_client.configuration.proxy == dead_proxy
    assert isinstance(kube.api_client.rest_client.pool_manager, urllib3.ProxyManager)
    monkeypatch.setenv("NO_PROXY", "10.20.30.0/24")
    kube = Kube.from_kubeconfig(remote)
    assert not isinstance(kube.api_client.rest_client.pool_manager, urllib3.ProxyManager)


def test_a_proxy_url_in_the_kubeconfig_is_kept_for_loopback(sim_cluster, tmp_path):
    document = yaml.safe_load(Path(sim_cluster.kubeconfig).read_text())
    document["clusters"][0]["cluster"]["proxy-url"] = "http://proxy.example.com:3128"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(document))
    kube = Kube.from_kubeconfig(kubeconfig)
    assert kube.api_client.configuration.proxy == "http://proxy.example.com:3128"


def test_a_download_from_a_loopback_mirror_is_not_proxied(sim_cluster, dead_proxy):
    # The mirror itself answers (404 for a release it does not have), not the dead proxy.
    with pytest.raises(AssetError, match="HTTP 404"):
        assets._get(f"{sim_cluster.release_mirror}/knative/operator/releases/download/v0/x")


def test_a_download_elsewhere_keeps_the_proxy(dead_proxy):
    with pytest.raises(AssetError, match="ProxyError"):
        assets._get("http://example.invalid/release.yaml")


def test_a_run_behind_a_dead_proxy_passes_against_a_loopback_cluster(sim_cluster, tmp_path):
    """The whole chapter: the API server, Kourier's host port (14.2's probe, 14.4's requests)
    and sockeye's websocket (14.6) are all loopback here, as on kind."""
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "all_proxy")}
    env.update(HTTPS_PROXY=proxy, HTTP_PROXY=proxy, https_proxy=proxy, http_proxy=proxy)
    # A domain, so that nodeinfo and sockeye are reached through Kourier, not skipped.
    args = [*existing(sim_cluster), "--domain", "127.0.0.1.sslip.io"]
    result, summary = run_suites(tmp_path / "reports", *args, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    outcomes = {recipe: value["outcome"] for recipe, value in recipes(summary).items()}
    assert outcomes == {f"14.{n}": "passed" for n in range(1, 9)}, outcomes


# -- exec credential plugins ----------------------------------------------------------------


def plugin(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "cloud-auth"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_a_failing_exec_plugin_is_one_line_with_its_stderr(sim_cluster, tmp_path, caplog):
    script = plugin(tmp_path, 'echo "error: SSO session expired; run: cloud login" >&2\nexit 1')
    kubeconfig = kubeconfig_with(
        sim_cluster,
        tmp_path,
        exec_={"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(script)},
    )
    caplog.set_level(logging.INFO)
    with pytest.raises(KubeError) as raised:
        Kube.from_kubeconfig(kubeconfig)
    expected = (
        f"the kubeconfig's exec credential plugin {script} failed: "
        "error: SSO session expired; run: cloud login"
    )
    assert str(raised.value) == (
        f"cannot use context {sim_cluster.context_name} of --kubeconfig {kubeconfig}: {expected}"
    )
    assert [r.getMessage() for r in caplog.records if r.name == "cookbook14.kube"] == [expected]
    assert not [r for r in caplog.records if r.name == "root"], "left on the root logger"


def test_an_exec_plugin_failing_at_renewal_fails_the_request_with_its_stderr(sim_cluster, tmp_path):
    # The first call gives a token that is about to expire; the renewal fails.
    state = tmp_path / "called"
    script = plugin(
        tmp_path,
        f'if [ -e {state} ]; then echo "refresh token revoked" >&2; exit 2; fi\n'
        f"touch {state}\n"
        'echo \'{"apiVersion": "client.authentication.k8s.io/v1beta1", '
        '"kind": "ExecCredential", "status": {"token": "t0k3n", '
        '"expirationTimestamp": "2000-01-01T00:00:00Z"}}\'',
    )
    kubeconfig = kubeconfig_with(
        sim_cluster,
        tmp_path,
        exec_={"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(script)},
    )
    kube = Kube.from_kubeconfig(kubeconfig)
    with pytest.raises(KubeError) as raised:
        kube.list("v1", "ConfigMap", "default")
    assert str(raised.value) == (
        f"the kubeconfig's exec credential plugin {script} failed: refresh token revoked"
    )


def test_a_run_whose_cluster_dies_mid_wait_fails_the_step_with_the_cause(
    make_sim_cluster, tmp_path
):
    sim = make_sim_cluster(faults=["serving-never-ready"])
    outcome: dict = {}

    def run() -> None:
        outcome["result"], outcome["summary"] = run_suites(
            tmp_path / "reports",
            *existing(sim),
            "-m",
            "recipe_14_1 or recipe_14_2",
            timeout=UNREACHABLE_LIMIT + 240,
        )

    runner = threading.Thread(target=run)
    runner.start()
    # The harness is waiting for KnativeServing to be Ready (it never is): the cluster dies.
    awaited = "for KnativeServing knative-serving in namespace knative-serving to have Ready=True"

    def harness_waits() -> bool:
        logs = list((tmp_path / "reports").glob("*/harness.log"))
        lines = logs[0].read_text(errors="replace").splitlines() if logs else []
        return any("waiting up to" in line and awaited in line for line in lines)

    wait_until(harness_waits, timeout=180, what=awaited)
    sim._api_server.stop()
    killed = time.monotonic()
    runner.join()
    ended = time.monotonic()
    result, summary = outcome["result"], outcome["summary"]
    output = result.stdout + result.stderr
    step = recipes(summary)["14.2"]
    assert step["outcome"] == "failed", step
    error = step["step"]["error"]
    assert error.startswith(
        "cannot wait for KnativeServing knative-serving in namespace knative-serving to have "
        f"Ready=True: the API server {sim.api_url} has not answered since "
    ), error
    assert "UTC: connection refused (no answer for " in error, error
    assert "the API is unreachable: the API server" in output, output[-3000:]
    # Evidence and the rest of the run do not wait on the dead server again.
    assert ended - killed <= UNREACHABLE_LIMIT + waits.MAX_BACKOFF + SLACK + 30, output[-3000:]


def test_a_run_against_a_closed_api_port_ends_at_once_with_exit_3(sim_cluster, tmp_path):
    server = f"https://127.0.0.1:{closed_port()}"
    kubeconfig = kubeconfig_with(sim_cluster, tmp_path, server=server)
    started = time.monotonic()
    result, summary = run_suites(
        tmp_path / "reports", "--cluster", "existing", "--kubeconfig", str(kubeconfig), "-m",
        "recipe_14_1", timeout=120,
    )  # fmt: skip
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert time.monotonic() - started < 15 + SLACK, "not 27 s of retries"
    error = summary["cluster"]["error"]
    assert error.startswith(f"cannot read /version: the API server {server} (context "), error
    assert "connection refused; check that the cluster is running" in error, error
