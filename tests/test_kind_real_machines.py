"""The kind provider on real machines (issue #10), end to end through `pytest suites/` with the
kind and docker doubles: two runs of one cluster name at once, a kind create that fails after
its nodes exist, a Docker whose broken CLI plugin speaks before its stopped daemon."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

from tests.launch import ROOT, kind_args, kind_clusters, run_suites, suites_command

ONLY_14_1 = ("-m", "recipe_14_1")
WAITING = "kind cluster shared is in use by another run (pid "


def logged_at(log: str, text: str) -> datetime:
    """When harness.log first logged a line containing `text`."""
    line = next(line for line in log.splitlines() if text in line)
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")


def test_two_runs_of_one_cluster_name_take_turns(tmp_path, sim_cluster, kind_env):
    # Two CI jobs of one Knative minor on one Docker host share the default cluster name.
    folders = [tmp_path / "first", tmp_path / "second"]
    runs = [
        subprocess.Popen(
            suites_command(folder, *kind_args(sim_cluster, "shared", *ONLY_14_1)),
            cwd=ROOT,
            env=kind_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for folder in folders
    ]
    try:
        outputs = [run.communicate(timeout=300)[0] for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
    waited = [index for index, output in enumerate(outputs) if WAITING in output]
    assert len(waited) == 1, "one run waits for the other, saying so:\n" + "\n".join(outputs)
    first, second = 1 - waited[0], waited[0]
    summaries = [json.loads(next(f.glob("*/summary.json")).read_text()) for f in folders]
    assert [summary["cluster"]["created"] for summary in summaries] == [True, True]
    logs = [next(folder.glob("*/harness.log")).read_text() for folder in folders]
    # The waiting run made its own cluster only after the first had deleted its own: neither
    # deleted a cluster the other used.
    assert logged_at(logs[first], "delete cluster --name=shared") <= logged_at(
        logs[second], "create cluster --name=shared"
    )
    # The first pulled the node image as a step of its own; the second found it there.
    assert "pulling node image kindest/node:" in outputs[first]
    assert "is already on this machine" in outputs[second]
    assert kind_clusters(kind_env) == []


def test_a_failed_create_leaves_kinds_logs_and_no_cluster(tmp_path, sim_cluster, kind_env):
    # kubeadm init fails once the node container runs: kind alone would delete the node
    # before anyone could read its logs.
    kind_env["SIM_KIND_CREATE_FAILS"] = "1"
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "failing", *ONLY_14_1), env=kind_env
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "failed to init node with kubeadm" in summary["cluster"]["error"]
    logs = next((tmp_path / "reports").glob("*/cluster-logs"))
    assert (logs / "failing-control-plane" / "kubelet.log").is_file(), "kind export logs ran"
    assert (logs / "kind-version.txt").read_text().startswith("kind v0.20.0")
    assert kind_clusters(kind_env) == [], "the failed cluster is deleted after its logs"


def test_a_cluster_made_outside_the_harness_meanwhile_is_reused_not_deleted(
    tmp_path, sim_cluster, kind_env
):
    # Between the harness's look and its `kind create`, someone else made the cluster: kind
    # refuses the name, and the harness uses that cluster without deleting it afterwards.
    wrapper = tmp_path / "bin" / "kind"
    wrapper.parent.mkdir()
    real = Path(kind_env["PATH"].split(":")[0]) / "kind"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2" = "create cluster" ]; then\n'
        f'  "{real}" create cluster --name=shared >/dev/null 2>&1\n'
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    kind_env["PATH"] = f"{wrapper.parent}:{kind_env['PATH']}"
    result, summary = run_suites(
        tmp_path / "reports", *kind_args(sim_cluster, "shared", *ONLY_14_1), env=kind_env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary["cluster"]["created"] is False
    assert "was made meanwhile, not by this harness: reusing it" in result.stdout
    assert kind_clusters(kind_env) == ["shared"]


def test_a_first_pull_of_the_node_image_has_its_own_scaled_deadline(
    tmp_path, sim_cluster, kind_env
):
    kind_env["SIM_DOCKER_PULL_SECONDS"] = "60"
    result, summary = run_suites(
        tmp_path / "reports",
        *kind_args(sim_cluster, "slowpull", "--timeout-scale", "0.001", *ONLY_14_1),
        env=kind_env,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "pulling node image kindest/node:v1.27.3@sha256:" in result.stdout
    # 1200 s for the pull, times --timeout-scale.
    assert summary["cluster"]["error"].endswith("did not finish within 1s")
    assert " pull kindest/node:v1.27.3@sha256:" in summary["cluster"]["error"]
    assert kind_clusters(kind_env) == []


def test_kind_create_has_its_own_scaled_deadline(tmp_path, sim_cluster, kind_env):
    kind_env["SIM_KIND_CREATE_SECONDS"] = "120"
    result, summary = run_suites(
        tmp_path / "reports",
        *kind_args(sim_cluster, "slowcreate", "--timeout-scale", "0.02", *ONLY_14_1),
        env=kind_env,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "creating kind cluster slowcreate (kindest/node:v1.27.3@sha256:" in result.stdout
    assert "up to 12s" in result.stdout
    # 600 s for kind create, times --timeout-scale.
    assert summary["cluster"]["error"].endswith("did not finish within 12s")
    assert " create cluster --name=slowcreate " in summary["cluster"]["error"]
    assert kind_clusters(kind_env) == [], "the half-made cluster is deleted"
