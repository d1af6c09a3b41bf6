"""The main job end to end: `pytest suites/` in a subprocess against the simulated cluster,
first as an existing cluster, then through the kind provider with the kind and docker doubles."""

from __future__ import annotations

import importlib.metadata
import json
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.launch import (
    BIN_DIR,
    ROOT,
    existing,
    kind_args,
    kind_clusters,
    recipes,
    run_suites,
    suites_command,
)

ONLY_14_1 = ("-m", "recipe_14_1")


def test_recipe_14_1_passes_on_an_existing_cluster(tmp_path, sim_cluster):
    result, summary = run_suites(tmp_path, *existing(sim_cluster), *ONLY_14_1)
    assert result.returncode == 0, result.stdout + result.stderr
    by_id = recipes(summary)
    assert by_id["14.1"]["outcome"] == "passed"
    assert {c["outcome"] for c in by_id["14.1"]["checks"]} == {"passed"}
    assert len(by_id["14.1"]["checks"]) == 7
    for recipe in (f"14.{n}" for n in range(2, 9)):
        assert by_id[recipe]["outcome"] == "not_run", by_id[recipe]
    assert summary["found"]["kubernetes"] == "v1.27.3"
    assert summary["found"]["operator"] == "1.11.4"
    assert summary["knative"]["planned"]["operator"] == "1.11.4"
    assert summary["cluster"]["provider"] == "existing"
    assert summary["cluster"]["created"] is False
    assert summary["cluster"]["nodes"][0]["kubelet"] == "v1.27.3"
    assert summary["harness"]["version"] == importlib.metadata.version("knative-cookbook-harness")
    assert any(w.startswith("14.8: TriggerMesh is unmaintained") for w in summary["warnings"])
    assert any("serving-default-domain.yaml" in d["what"] for d in summary["deviations"])
    folder = next(tmp_path.iterdir())
    assert (folder / "junit.xml").read_text().count("<testcase") == 7
    assert (
        "applied Deployment knative-operator in namespace default"
        in (folder / "harness.log").read_text()
    )
    assert "7 passed" in result.stdout


def test_recipe_14_1_for_knative_1_14_uses_the_operator_namespace(tmp_path, make_sim_cluster):
    sim = make_sim_cluster(kubernetes_version="1.29.2")
    result, summary = run_suites(tmp_path, *existing(sim), "--knative-version", "1.14", *ONLY_14_1)
    assert result.returncode == 0, result.stdout + result.stderr
    step = recipes(summary)["14.1"]["step"]
    assert step["facts"] == {"operator_version": "1.14.9", "operator_namespace": "knative-operator"}


def test_an_operator_of_another_release_is_caught(tmp_path, make_sim_cluster):
    # The mirror serves another patch's operator.yaml under the planned tag: the check reads the
    # version the cluster runs, so it must not echo the plan.
    sim = make_sim_cluster(faults=["operator-release-drift"])
    result, summary = run_suites(tmp_path, *existing(sim), *ONLY_14_1)
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {c["name"]: c for c in recipes(summary)["14.1"]["checks"]}
    failed = checks["test_operator_is_the_planned_release"]
    assert failed["outcome"] == "failed"
    assert "app.kubernetes.io/version='1.11.3', the plan installs 1.11.4" in failed["message"]
    assert summary["found"]["operator"] == "1.11.3"


def test_rerun_on_the_same_cluster_is_safe(tmp_path, sim_cluster):
    for attempt in ("first", "second"):
        result, summary = run_suites(tmp_path / attempt, *existing(sim_cluster), *ONLY_14_1)
        assert result.returncode == 0, result.stdout + result.stderr
        assert recipes(summary)["14.1"]["outcome"] == "passed"


def test_a_failed_operator_step_blocks_every_later_recipe(tmp_path, sim_cluster):
    args = existing(sim_cluster)
    args[args.index("--release-mirror") + 1] = "http://127.0.0.1:9"
    result, summary = run_suites(tmp_path, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    by_id = recipes(summary)
    assert by_id["14.1"]["outcome"] == "failed"
    assert by_id["14.1"]["step"]["error"].startswith(
        "cannot download http://127.0.0.1:9/knative/operator/"
    )
    failed = [c for c in by_id["14.1"]["checks"] if c["outcome"] in ("failed", "error")]
    assert len(failed) == 1, "the step's failure is reported once"
    assert failed[0]["message"].startswith(
        "step 14.1 (Install the Knative Operator) failed: cannot download"
    )
    others = [c for c in by_id["14.1"]["checks"] if c not in failed]
    assert {c["message"] for c in others} == {f"blocked by failed {failed[0]['message']}"}
    assert "During handling of the above exception" not in result.stdout
    assert "Traceback" not in result.stdout
    for recipe in (f"14.{n}" for n in range(2, 9)):
        if recipe == "14.3":
            continue  # the kn CLI does not need the operator
        assert by_id[recipe]["blocked_by"] == "14.1", by_id[recipe]
        assert by_id[recipe]["outcome"] in ("blocked", "not_implemented"), by_id[recipe]
    evidence = next(tmp_path.glob("*/evidence/14.1.txt")).read_text()
    assert evidence.startswith("step 14.1 (Install the Knative Operator) failed:\ncannot download")


def test_a_timed_out_step_reports_the_clusters_evidence(tmp_path, make_sim_cluster):
    # Pods take ~40 s to start in a sim twenty times slower than real; the deadlines shrink to
    # a fiftieth (CRDs 2.4 s, which they meet at once; Deployments 6 s, which they cannot).
    sim = make_sim_cluster(time_scale=20.0)
    result, summary = run_suites(tmp_path, *existing(sim), "--timeout-scale", "0.02", *ONLY_14_1)
    assert result.returncode == 1, result.stdout + result.stderr
    step = recipes(summary)["14.1"]["step"]
    assert step["status"] == "failed"
    assert re.match(
        r"timed out after \d+s waiting for Deployment knative-operator in namespace default to be available\n",
        step["error"],
    ), step["error"]
    assert (
        "last conditions:" in step["error"]
        and "Available=False (MinimumReplicasUnavailable)" in step["error"]
    )
    # The cluster's own account, not just headings: the Deployment's events and its pods.
    assert re.search(
        r"events:\n  Normal ScalingReplicaSet Deployment/knative-operator: Scaled up replica set "
        r"knative-operator-\w+ to 1",
        step["error"],
    ), step["error"]
    assert re.search(r"last seen:\n.*\n  knative-operator-\w+-\w+ 0/\d Pending", step["error"])
    evidence = next(tmp_path.glob("*/evidence/14.1.txt")).read_text()
    assert re.search(r"== pods in namespace default\n(.*\n)*knative-operator-\w+-\w+ ", evidence)
    assert "== logs of pods -l name=knative-operator in default" in evidence, evidence
    assert step["evidence"]["conditions"][0]["reason"] == "MinimumReplicasUnavailable"
    assert "timed out after" in result.stdout


def test_a_cluster_older_than_knative_allows_stops_the_run_with_one_line(tmp_path, sim_cluster):
    result, summary = run_suites(tmp_path, *existing(sim_cluster), "--knative-version", "1.14")
    assert result.returncode == 3
    message = (
        "the cluster runs Kubernetes v1.27.3, but Knative 1.14 needs at least 1.28 (it refuses to "
        "start on older ones); use a newer cluster or another --knative-version"
    )
    assert message in result.stdout
    assert summary["cluster"]["error"] == message
    assert "Traceback" not in result.stdout


def test_selecting_some_checks_still_runs_their_step(tmp_path, sim_cluster):
    result, summary = run_suites(tmp_path, *existing(sim_cluster), "-k", "14_1 and deployment")
    assert result.returncode == 0, result.stdout + result.stderr
    assert recipes(summary)["14.1"]["step"]["status"] == "passed"
    assert "2 passed" in result.stdout


def test_a_recipe_is_selected_with_its_marker(tmp_path, sim_cluster):
    result, summary = run_suites(tmp_path, *existing(sim_cluster), "-m", "recipe_14_1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"7 passed, \d+ deselected", result.stdout), result.stdout
    assert recipes(summary)["14.2"]["outcome"] == "not_run"


def test_junit_path_given_by_the_user_is_recorded(tmp_path, sim_cluster):
    junit = tmp_path / "elsewhere.xml"
    result, summary = run_suites(
        tmp_path / "r", *existing(sim_cluster), f"--junitxml={junit}", *ONLY_14_1
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["junit"] == str(junit)
    assert junit.read_text().count("<testcase") == 7


# -- the kind provider, with the kind and docker doubles ---------------------------------


def test_kind_cluster_is_created_used_and_deleted(tmp_path, sim_cluster, kind_env):
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "e2e", *ONLY_14_1), env=kind_env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert recipes(summary)["14.1"]["outcome"] == "passed"
    assert summary["cluster"]["created"] is True
    assert summary["cluster"]["node_image"].startswith("kindest/node:v1.27.3@sha256:")
    assert summary["cluster"]["kind_version"] == "0.20.0"
    log = next((tmp_path / "reports").glob("*/harness.log")).read_text()
    assert "create cluster --name=e2e" in log, "kind's command and output go to the run's log"
    assert "applied CustomResourceDefinition knativeservings.operator.knative.dev" in log
    assert summary["found"]["kubernetes"] == "v1.27.3"
    assert kind_clusters(kind_env) == [], "the cluster this run created is deleted"
    # Once: the fixture's teardown deletes it, and the session's end does not ask kind again.
    assert log.count("delete cluster --name=e2e") == 1, "kind is asked to delete it once"
    # The kubeconfig (the cluster's admin credentials) stays in the private cache, never in
    # the run folder that CI uploads.
    kubeconfig = Path(summary["cluster"]["kubeconfig"])
    assert kubeconfig.parent == Path(kind_env["XDG_CACHE_HOME"]) / "cookbook14" / "kubeconfigs"
    assert kubeconfig.stat().st_mode & 0o077 == 0
    for path in (tmp_path / "reports").rglob("*"):
        if path.is_file():
            assert "sim-token-not-a-secret" not in path.read_text(errors="replace"), path


def test_existing_kind_cluster_is_reused_and_kept(tmp_path, sim_cluster, kind_env):
    subprocess.run(
        [BIN_DIR / "kind", "create", "cluster", "--name", "mine"],
        env=kind_env,
        check=True,
        capture_output=True,
    )
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "mine", *ONLY_14_1), env=kind_env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["cluster"]["created"] is False
    assert summary["cluster"]["node_image"] == "unknown (reused cluster)"
    assert summary["cluster"]["nodes"][0]["kubelet"] == "v1.27.3"
    assert any("publishes no host port for Kourier" in w for w in summary["warnings"])
    assert kind_clusters(kind_env) == ["mine"], "a reused cluster is not deleted"


def test_keep_cluster_keeps_what_the_run_created(tmp_path, sim_cluster, kind_env):
    result, _ = run_suites(
        tmp_path / "reports",
        *kind_args(sim_cluster, "kept", "--keep-cluster", *ONLY_14_1),
        env=kind_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert kind_clusters(kind_env) == ["kept"]
    # Rerun on the kept cluster: Kourier's host port is asked of Docker again (it changes when
    # the node container restarts), and Kourier answers there.
    result, summary = run_suites(
        tmp_path / "again",
        *kind_args(sim_cluster, "kept", "--keep-cluster", "-m", "recipe_14_2"),
        env=kind_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["cluster"]["created"] is False
    assert not [w for w in summary["warnings"] if "host port" in w], summary["warnings"]
    assert recipes(summary)["14.2"]["outcome"] == "passed", recipes(summary)["14.2"]


def test_failure_on_kind_exports_logs_then_deletes(tmp_path, sim_cluster, kind_env):
    args = kind_args(sim_cluster, "broken")
    args[args.index("--release-mirror") + 1] = "http://127.0.0.1:9"
    result, summary = run_suites(tmp_path / "reports", *args, env=kind_env)
    assert result.returncode == 1
    logs = next((tmp_path / "reports").glob("*/cluster-logs"))
    assert (logs / "broken-control-plane" / "kubelet.log").is_file(), "kind export logs ran"
    assert (logs / "kind-version.txt").read_text().startswith("kind v0.20.0")
    assert kind_clusters(kind_env) == []


@pytest.mark.parametrize(
    "broken_plugin",
    # Broken CLI-plugin warnings come first on stderr (docker/cli, common after Docker Desktop
    # upgrades): the daemon's error is still the one quoted.
    [False, True],
    ids=["daemon-stopped", "broken-plugin-warning-first"],
)
def test_docker_not_running_stops_at_start_with_one_line(
    tmp_path, sim_cluster, kind_env, broken_plugin
):
    kind_env["SIM_DOCKER_DOWN"] = "1"
    if broken_plugin:
        kind_env["SIM_DOCKER_BROKEN_PLUGIN"] = "1"
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "nodocker"), env=kind_env
    )
    assert result.returncode == 4
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == [
        "ERROR: Docker is not running (`docker info`: Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?); start Docker, or use "
        "--cluster existing"
    ]
    assert "Docker is not running" in summary["cluster"]["error"]
    assert "plugin" not in summary["cluster"]["error"].lower()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_deletes_the_cluster_it_created(tmp_path, sim_cluster, kind_env, signum):
    # Fifty times slower than real: the operator's pods take ~100 s to start, so the signal
    # below lands while the harness waits for them however loaded the machine.
    kind_env["SIM_TIME_SCALE"] = "50.0"
    command = suites_command(tmp_path / "r", *kind_args(sim_cluster, "interrupted"))
    process = subprocess.Popen(
        command, cwd=ROOT, env=kind_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        # Interrupt in the middle of a step's wait, as a person watching the progress would.
        while not any("waiting for Deployment knative-operator" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            assert process.poll() is None, "".join(lines)
            time.sleep(0.1)
        assert kind_clusters(kind_env) == ["interrupted"]
        process.send_signal(signum)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    output = "".join(lines)
    assert process.returncode == 2, output
    assert kind_clusters(kind_env) == [], output
    summary = json.loads(next((tmp_path / "r").glob("*/summary.json")).read_text())
    assert recipes(summary)["14.1"]["step"]["status"] == "interrupted"
    assert recipes(summary)["14.1"]["outcome"] == "interrupted"
    assert not list((tmp_path / "r").glob("*/evidence/*")), "an interruption is not a failure"
