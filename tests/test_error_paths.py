"""The error paths users hit, each as the one message they read: what failed, and why.

TLS, an API server that keeps failing, malformed manifests, a kind the cluster does not serve,
a refused watch, objects that never appear or vanish mid-wait, tools that are missing, hang or
fail, release assets without a checksum or cut mid-download, a cluster that cannot be deleted,
and the blocked / skipped / incomplete verdicts as summary.json and report.html show them.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from cookbook14 import kube as kube_module
from cookbook14.assets import cached_binary, expected_checksum
from cookbook14.catalog import Catalog
from cookbook14.compat import write_run_report
from cookbook14.errors import AssetError, KubeError, ToolError, UsageError, WaitTimeout
from cookbook14.kube import Kube, load_documents
from cookbook14.options import Options
from cookbook14.plan import Apply, build_plan
from cookbook14.providers import private_kubeconfig
from cookbook14.report import CheckResult, RunReport, new_folder
from cookbook14.steps import (
    Status,
    StepContext,
    StepFailed,
    StepOutcome,
    StepRunner,
    apply_and_wait,
)
from cookbook14.tools import run
from cookbook14.waits import Watched, condition_is_true, pods_running, wait
from tests.conftest import WIDGET_CRD, api_client, config_map, install_crd
from tests.launch import BIN_DIR, kind_args, kind_clusters, recipes, run_suites


def kube_for(sim) -> Kube:
    return Kube.from_kubeconfig(sim.kubeconfig)


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # The number of attempts is what is tested, not the backoff's length.
    monkeypatch.setattr(kube_module, "RETRY_FIRST_DELAY", 0.001)
    monkeypatch.setattr(kube_module, "RETRY_MAX_DELAY", 0.002)


# -- the API server --------------------------------------------------------------------------


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
            "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def https_server_of_another_ca(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS server, and a kubeconfig for it whose certificate authority did not sign it."""
    cert, key = self_signed(tmp_path, "apiserver")
    other_ca, _ = self_signed(tmp_path, "other-ca")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"https://127.0.0.1:{server.server_address[1]}"
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": host, "certificate-authority": str(other_ca)},
                    }
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    yield host, kubeconfig
    server.shutdown()
    server.server_close()


def test_an_untrusted_api_server_certificate_is_one_final_line(https_server_of_another_ca, caplog):
    host, kubeconfig = https_server_of_another_ca
    caplog.set_level("INFO", logger="cookbook14.kube")
    with pytest.raises(KubeError) as raised:
        Kube.from_kubeconfig(kubeconfig).server_version()
    message = str(raised.value)
    assert message.startswith(f"cannot read /version: the TLS connection to {host} failed (")
    assert "CERTIFICATE_VERIFY_FAILED" in message, "the cause is quoted"
    assert message.endswith("; check the kubeconfig's server address and certificate authority")
    assert "\n" not in message
    assert not raised.value.transient
    # Final: a certificate does not get trusted by asking again.
    assert "retrying" not in caplog.text


def test_an_api_server_failing_every_attempt_gives_up_naming_the_request(
    sim_cluster, monkeypatch, caplog
):
    fast_retries(monkeypatch)
    kube = kube_for(sim_cluster)
    kube.apply([config_map("settings")])
    caplog.set_level("INFO", logger="cookbook14.kube")
    sim_cluster.faults.arm_5xx_burst(1000)
    with pytest.raises(KubeError) as raised:
        kube.get("v1", "ConfigMap", "settings", "default")
    assert str(raised.value) == (
        "cannot get ConfigMap settings: the server is currently unable to handle the request "
        "(HTTP 503)"
    )
    assert raised.value.status == 503 and raised.value.transient
    retries = re.findall(r"get ConfigMap settings: 503 .* \(attempt (\d+)\), retrying", caplog.text)
    assert retries == [str(n) for n in range(1, kube_module.RETRY_ATTEMPTS)]


def test_an_unparsable_kubeconfig_quotes_the_yaml_problem(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("this: is: not: yaml: [")
    with pytest.raises(UsageError) as raised:
        Kube.from_kubeconfig(kubeconfig)
    assert str(raised.value) == (
        f"cannot use --kubeconfig {kubeconfig}: mapping values are not allowed here; give a "
        "readable kubeconfig with --kubeconfig FILE (and --context NAME to pick a context)"
    )


def test_deleting_what_is_not_there_is_not_an_error(sim_cluster):
    kube = kube_for(sim_cluster)
    kube.apply([config_map("settings")])
    assert kube.delete("v1", "ConfigMap", "settings", "default") is True
    assert kube.delete("v1", "ConfigMap", "settings", "default") is False


def test_a_kind_whose_crd_is_missing_is_not_served(sim_cluster, monkeypatch, caplog):
    fast_retries(monkeypatch)
    caplog.set_level("INFO", logger="cookbook14.kube")
    serving = {
        "apiVersion": "operator.knative.dev/v1beta1",
        "kind": "KnativeServing",
        "metadata": {"name": "knative-serving", "namespace": "knative-serving"},
    }
    kube = kube_for(sim_cluster)
    with pytest.raises(KubeError) as raised:
        kube.apply([serving])
    assert str(raised.value) == (
        "the cluster does not serve KnativeServing (operator.knative.dev/v1beta1): no such "
        "resource in API discovery"
    )
    assert raised.value.status == 404 and not raised.value.transient
    assert "retrying" not in caplog.text
    assert kube.api_resources("operator.knative.dev") == []


def test_a_refused_watch_ends_the_wait_at_once_quoting_the_server(sim_cluster, caplog):
    kube = kube_for(sim_cluster)
    install_crd(api_client(sim_cluster), WIDGET_CRD)
    kube.apply([widget("gear")])
    sim_cluster.faults.arm_5xx_burst(1, code=403, watches_only=True)
    caplog.set_level("INFO", logger="cookbook14")
    with pytest.raises(KubeError) as raised:
        wait(kube, GEAR, condition_is_true("Ready"), 30, "Widget gear Ready")
    assert str(raised.value) == (
        'cannot watch Widget: widgets.example.com is forbidden: User "kubernetes-admin" cannot '
        'watch resource "widgets" in API group "example.com" in the namespace "default" '
        "(HTTP 403)"
    )
    assert raised.value.status == 403 and not raised.value.transient
    assert "retrying in" not in caplog.text, "a refusal is not backed off and retried"


# -- waits that cannot end -------------------------------------------------------------------


def widget(name: str) -> dict:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"size": 1},
    }


GEAR = Watched("example.com/v1", "Widget", "default", "gear")


def event_about(kind: str, name: str, reason: str, message: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{reason.lower()}", "namespace": "default"},
        "involvedObject": {"apiVersion": "v1", "kind": kind, "name": name, "namespace": "default"},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 2,
    }


def test_an_object_that_never_appears_is_named_when_the_wait_times_out(sim_cluster):
    kube = kube_for(sim_cluster)
    install_crd(api_client(sim_cluster), WIDGET_CRD)
    sim_cluster.store.create(
        event_about("Widget", "ghost", "FailedCreate", "admission webhook denied the request")
    )
    ghost = Watched("example.com/v1", "Widget", "default", "ghost")
    with pytest.raises(WaitTimeout) as raised:
        wait(kube, ghost, condition_is_true("Ready"), 1, "Widget ghost in namespace default Ready")
    # The first line says how long the wait really took: 1 s, or more on a loaded machine.
    first, *rest = str(raised.value).splitlines()
    assert re.fullmatch(
        r"timed out after \d+s waiting for Widget ghost in namespace default Ready", first
    ), first
    assert raised.value.waited >= 1
    assert rest == [
        "last seen:",
        "  not found yet",
        "events:",
        "  Warning FailedCreate Widget/ghost: admission webhook denied the request (x2)",
    ]


def test_pods_that_never_appear_bring_their_namespaces_events(sim_cluster):
    kube = kube_for(sim_cluster)
    sim_cluster.store.create(
        event_about(
            "ReplicaSet",
            "web-5d4f",
            "FailedCreate",
            'pods "web-5d4f-" is forbidden: exceeded quota: pods',
        )
    )
    pods = Watched("v1", "Pod", "default", label_selector="app=web")
    with pytest.raises(WaitTimeout) as raised:
        wait(kube, pods, pods_running(1), 1, "1 pod -l app=web Running")
    lines = str(raised.value).splitlines()
    assert re.fullmatch(r"timed out after \d+s waiting for 1 pod -l app=web Running", lines[0])
    assert lines[1:3] == ["last seen:", "  no pods"]
    assert (
        '  Warning FailedCreate ReplicaSet/web-5d4f: pods "web-5d4f-" is forbidden: exceeded '
        "quota: pods (x2)"
    ) in lines


def test_an_object_deleted_mid_wait_is_seen_gone(sim_cluster):
    kube = kube_for(sim_cluster)
    install_crd(api_client(sim_cluster), WIDGET_CRD)
    kube.apply([widget("gear")])
    deleter = threading.Timer(
        0.3, kube.delete, args=("example.com/v1", "Widget", "gear", "default")
    )
    deleter.start()
    try:
        with pytest.raises(WaitTimeout) as raised:
            wait(kube, GEAR, condition_is_true("Ready"), 2, "Widget gear Ready")
    finally:
        deleter.join()
    # Before the delete it said "no Ready condition yet"; the wait followed the deletion.
    assert str(raised.value).splitlines()[1:3] == ["last seen:", "  not found yet"]


# -- manifests -------------------------------------------------------------------------------


def test_yaml_that_does_not_parse_names_the_file_and_the_parser_error():
    with pytest.raises(AssetError) as raised:
        load_documents("kind: Namespace\nmetadata: {name: [oops}\n", "https://x/operator.yaml")
    assert str(raised.value) == (
        "https://x/operator.yaml is not valid YAML: while parsing a flow sequence"
    )


def test_a_document_without_kind_is_named_by_its_position():
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
        "apiVersion: v1\nmetadata: {name: b}\n"
    )
    with pytest.raises(AssetError) as raised:
        load_documents(text, "serving-core.yaml")
    assert str(raised.value) == (
        "serving-core.yaml: document 2 is not a Kubernetes object (needs apiVersion, kind and "
        "metadata.name)"
    )


def test_a_malformed_release_file_fails_its_step_with_the_cause(sim_cluster, release_server):
    url = release_server.add("/operator.yaml", b"apiVersion: v1\nmetadata: {name: b}\n")
    base = build_plan(Options(), Catalog.load())
    plan = replace(
        base,
        steps=tuple(
            replace(step, applies=(Apply(url),), waits=(), implemented=True)
            if step.recipe == "14.1"
            else step
            for step in base.steps
        ),
    )
    kube = kube_for(sim_cluster)
    runner = StepRunner(
        plan,
        make_context=lambda step: StepContext(kube=kube, plan=plan, step=step),
        actions={"14.1": apply_and_wait},
    )
    with pytest.raises(StepFailed) as raised:
        runner.ensure("14.1")
    assert str(raised.value).splitlines()[0] == (
        f"step 14.1 (Install the Knative Operator) failed: {url}: document 1 is not a "
        "Kubernetes object (needs apiVersion, kind and metadata.name)"
    )
    assert runner.outcomes["14.1"].status is Status.FAILED
    # The cluster's account is read for a failed step too (here: nothing installed yet).
    assert runner.outcomes["14.1"].cluster_evidence.startswith(
        "== pods in namespace default\n(none)\n\n== events in namespace default\n"
    )


# -- tools -----------------------------------------------------------------------------------


def test_a_missing_tool_is_named():
    with pytest.raises(ToolError) as raised:
        run(["/nonexistent/kn", "version"])
    assert str(raised.value) == "/nonexistent/kn was not found"


def test_a_program_for_another_machine_says_it_cannot_run_here(tmp_path):
    foreign = tmp_path / "kn"
    foreign.write_bytes(b"\xca\xfe\xba\xbe" + bytes(64))  # a Mach-O universal header
    foreign.chmod(0o755)
    with pytest.raises(ToolError) as raised:
        run([foreign, "version"])
    assert re.fullmatch(
        rf"{re.escape(str(foreign))} cannot be run on this machine \(Linux/\w+\): Exec format error",
        str(raised.value),
    )


def test_a_tool_that_hangs_is_stopped_at_its_timeout():
    with pytest.raises(ToolError) as raised:
        run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    assert str(raised.value) == (
        f"`{sys.executable} -c import time; time.sleep(60)` did not finish within 1s"
    )


FAILING_TOOL = (
    "import sys; print('progress on stdout'); "
    "[print(f'problem {n}', file=sys.stderr) for n in range(1, 9)]; sys.exit(3)"
)


def test_a_failing_tool_quotes_its_last_lines_and_exit_status():
    with pytest.raises(ToolError) as raised:
        run([sys.executable, "-c", FAILING_TOOL])
    assert str(raised.value).splitlines() == [
        f"`{sys.executable} -c {FAILING_TOOL}` failed (exit 3):",
        *[f"problem {n}" for n in range(4, 9)],  # the tool's own last five lines
    ]
    assert run([sys.executable, "-c", FAILING_TOOL], check=False).returncode == 3


# -- release assets --------------------------------------------------------------------------


def files_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_binary_missing_from_the_checksums_file_is_not_downloaded(tmp_path, release_server):
    checksums = release_server.add("/checksums.txt", f"{'0' * 64}  kn-darwin-arm64\n".encode())
    binary = release_server.add("/kn-linux-amd64", b"#!/bin/sh\n")
    with pytest.raises(AssetError) as raised:
        expected_checksum(checksums, "kn-linux-amd64")
    assert str(raised.value) == f"{checksums} lists no checksum for kn-linux-amd64"
    cache = tmp_path / "cache"
    with pytest.raises(AssetError, match="lists no checksum for kn-linux-amd64"):
        cached_binary(binary, checksums, cache)
    assert files_in(cache) == []


def test_a_download_cut_mid_stream_leaves_no_partial_file(tmp_path, release_server):
    body = b"\x7fELF" + bytes(3 << 20)
    checksums = release_server.add(
        "/checksums.txt", f"{hashlib.sha256(body).hexdigest()}  kn-linux-amd64\n".encode()
    )
    binary = release_server.add("/kn-linux-amd64", body, cut_at=1 << 20)
    cache = tmp_path / "cache"
    with pytest.raises(AssetError) as raised:
        cached_binary(binary, checksums, cache)
    assert str(raised.value).startswith(f"download of {binary} broke off: ")
    assert "IncompleteRead" in str(raised.value) or "Connection broken" in str(raised.value)
    assert files_in(cache) == [], "neither the partial file nor a record is kept"
    # The same cache works once the server sends the whole file.
    release_server.add("/kn-linux-amd64", body)
    assert cached_binary(binary, checksums, cache).read_bytes() == body


# -- the end of a run ------------------------------------------------------------------------


def failing_first(tmp_path: Path, env: dict, tool: str, subcommand: str, stderr: str) -> Path:
    """A `tool` on env's PATH before the double's, whose `subcommand` prints `stderr` (a shell
    word) and exits 1; every other command goes to the double."""
    wrapper = tmp_path / "bin" / tool
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = {subcommand} ]; then\n'
        f"  echo {stderr} >&2\n"
        "  exit 1\n"
        "fi\n"
        f'exec {BIN_DIR / tool} "$@"\n'
    )
    wrapper.chmod(0o755)
    env["PATH"] = f"{wrapper.parent}:{env['PATH']}"
    return wrapper


def test_a_cluster_that_cannot_be_deleted_is_a_warning_not_a_failure(
    tmp_path, sim_cluster, kind_env
):
    # A kind on PATH before the double whose `delete cluster` fails, as on a host where
    # Docker refuses to remove the node container.
    wrapper = failing_first(
        tmp_path,
        kind_env,
        "kind",
        "delete",
        "'ERROR: failed to delete cluster \"stuck\": error removing container'",
    )
    result, summary = run_suites(
        tmp_path / "reports",
        *kind_args(sim_cluster, "stuck", "-m", "recipe_14_1", "--cleanup"),
        env=kind_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["run"]["exit_status"] == 0
    # The cluster stays, so --cleanup removes what the run installed rather than call it moot.
    cleanup = summary["cluster"]["cleanup"]
    assert not cleanup["done"].startswith("not needed"), cleanup
    assert cleanup["removed"] and not cleanup["left"], cleanup
    assert recipes(summary)["14.1"]["outcome"] == "passed"
    warning = next(w for w in summary["warnings"] if w.startswith("could not delete the cluster"))
    assert warning.startswith(
        f"could not delete the cluster this run created: `{wrapper} delete cluster --name=stuck"
    ), warning
    assert 'ERROR: failed to delete cluster "stuck": error removing container' in warning
    assert "could not delete the cluster this run created:" in result.stdout
    assert kind_clusters(kind_env) == ["stuck"], "the double's cluster is still there"


def test_blocked_skipped_and_incomplete_recipes_in_summary_and_report(tmp_path):
    plan = build_plan(Options(), Catalog.load())
    report = RunReport("run-1", tmp_path, plan)
    report.steps["14.1"] = StepOutcome("14.1", "Install", Status.PASSED)
    failed = StepOutcome("14.2", "Serving", Status.FAILED, error="timed out after 300s waiting")
    report.steps["14.2"] = failed
    report.steps["14.4"] = StepOutcome(
        "14.4", "nodeinfo", Status.BLOCKED, error="blocked by failed", blocked_by="14.2"
    )
    report.blocker = lambda recipe: failed if recipe == "14.4" else None
    report.steps["14.3"] = StepOutcome("14.3", "kn", Status.PASSED)
    report.steps["14.5"] = StepOutcome("14.5", "Eventing", Status.PASSED)
    report.checks += [
        CheckResult("test_a", "14.1", "passed", 0.1),
        CheckResult("test_b", "14.2", "failed", 0.1, "step 14.2 failed: timed out"),
        CheckResult("test_c", "14.4", "skipped", 0.0, "blocked by failed step 14.2"),
        CheckResult("test_kn", "14.3", "passed", 0.1),
        CheckResult("test_domain", "14.3", "skipped", 0.0, "the ksvc URL is cluster-local"),
        CheckResult("test_d", "14.5", "skipped", 0.0, "no --domain: requests cannot reach it"),
    ]
    report.write(exit_status=1)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["schema"] == 1, "matrix and compare read this layout"
    outcomes = {r["id"]: r["outcome"] for r in summary["recipes"]}
    assert outcomes == {
        "14.1": "passed",
        "14.2": "failed",
        "14.3": "incomplete",
        "14.4": "blocked",
        "14.5": "skipped",
        "14.6": "not_run",
        "14.7": "not_run",
        "14.8": "not_run",
    }
    assert recipes(summary)["14.4"]["blocked_by"] == "14.2"
    html = write_run_report(tmp_path).read_text()
    headings = dict(re.findall(r"<h2>(14\.\d) [^:<]*: ([^<]*)</h2>", html))
    assert "blocked by 14.2" in headings["14.4"]
    assert headings["14.3"].endswith(
        "incomplete: 1 of 2 checks skipped: the ksvc URL is cluster-local"
    ), headings
    assert headings["14.5"].endswith("skipped: no --domain: requests cannot reach it"), headings
    assert "failed: timed out after 300s waiting" in headings["14.2"], headings
    assert "exit status 1" in html


def test_runs_starting_in_the_same_second_get_folders_of_their_own(tmp_path):
    first = new_folder(tmp_path / "reports", "20261130-130000-knative-1.11")
    second = new_folder(tmp_path / "reports", "20261130-130000-knative-1.11")
    assert [first.name, second.name] == [
        "20261130-130000-knative-1.11",
        "20261130-130000-knative-1.11-2",
    ]
    assert first.is_dir() and second.is_dir()


def test_evidence_files_are_written_into_a_run_folder_not_made_yet(tmp_path):
    plan = build_plan(Options(), Catalog.load())

    def failed_step(report: RunReport) -> None:
        for recipe in ("14.1", "14.5"):
            report.record_step(StepOutcome(recipe, "t", Status.FAILED, error=f"{recipe} broke"))

    def failed_checks(report: RunReport) -> None:
        report.record_check_evidence("14.2", "test_x", "the cluster said no")
        report.record_check_evidence("14.2", "test_y", "again")

    # Whichever evidence comes first makes the folders.
    for name, first, then in (("a", failed_step, failed_checks), ("b", failed_checks, failed_step)):
        report = RunReport("run-1", tmp_path / name / "run-1", plan)
        first(report)
        then(report)
        evidence = tmp_path / name / "run-1" / "evidence"
        assert sorted(path.name for path in evidence.iterdir()) == [
            "14.1.txt",
            "14.2-test_x.txt",
            "14.2-test_y.txt",
            "14.5.txt",
        ]
        assert (evidence / "14.5.txt").read_text() == "step 14.5 (t) failed:\n14.5 broke\n"
        assert (evidence / "14.2-test_x.txt").read_text() == "the cluster said no\n"


def test_a_kind_clusters_kubeconfig_is_readable_by_its_owner_only(tmp_path):
    path = private_kubeconfig(tmp_path / "cache", "e2e")
    assert path == tmp_path / "cache" / "kubeconfigs" / "e2e.yaml"
    assert path.stat().st_mode & 0o7777 == 0o600, oct(path.stat().st_mode)
    assert path.parent.stat().st_mode & 0o7777 == 0o700, oct(path.parent.stat().st_mode)


def test_a_created_cluster_without_kouriers_host_port_says_what_to_look_at(
    tmp_path, sim_cluster, kind_env
):
    # A docker on PATH before the double whose `port` finds no binding, as when the node
    # container was started without kind-config.yaml's extraPortMappings.
    failing_first(
        tmp_path,
        kind_env,
        "docker",
        "port",
        "\"Error: No public port '31080/tcp' published for $2\"",
    )
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "portless", "-m", "recipe_14_1"), env=kind_env
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        "the kind cluster portless this run created publishes no host port for Kourier's "
        "NodePort 31080" in summary["cluster"]["error"]
    ), summary["cluster"]
    assert "`docker inspect portless-control-plane`" in summary["cluster"]["error"]
    assert "No public port '31080/tcp' published" in summary["cluster"]["error"]
    assert "give --ingress-endpoint HOST:PORT" in summary["cluster"]["error"]
    assert kind_clusters(kind_env) == [], "the cluster it created is deleted"
    # With the address given, the port the engine did not publish is not needed.
    result, summary = run_suites(
        tmp_path / "again",
        *kind_args(sim_cluster, "portless", "-m", "recipe_14_1"),
        "--ingress-endpoint",
        "127.0.0.1:8081",
        env=kind_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in summary["cluster"], summary["cluster"]
    assert recipes(summary)["14.1"]["outcome"] == "passed"
