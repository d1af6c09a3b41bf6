"""Self-tests of the tool doubles (kind, docker, kn) and the mirror's binaries.

Everything runs the doubles as executables (as the harness does) against a simulated cluster
started by the kind double, talking HTTP/Kubernetes API to it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.conftest import KUBECTL
from tests.sim import mirror
from tests.sim.doubles import BIN_DIR, PYTHON_ENV, REPO_ROOT, engine_named, executable_script
from tests.sim.mirror import binaries


def published_ingress_port(cluster: str, env: dict[str, str]) -> int:
    """The host port `docker port` names for the node's 31080, as the harness reads it."""
    result = run(["docker", "port", f"{cluster}-control-plane", "31080/tcp"], env)
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().rsplit(":", 1)[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tool_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PATH with the doubles first, a private kind state directory and kubeconfig."""
    home = tmp_path_factory.mktemp("doubles")
    return {
        **os.environ,
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ['PATH']}",
        "SIM_KIND_STATE": str(home / "kind-state"),
        "KUBECONFIG": str(home / "default-kubeconfig"),
        "SIM_TIME_SCALE": os.environ.get("SIM_TIME_SCALE", "0.05"),
        "HOME": str(home),
    }


def write_kind_config(path: Path, host_port: int = -1) -> Path:
    """The quickstart's kind config: the node's port 31080 mapped to hostPort -1, as in the
    harness's kind-config.yaml (the engine's choice when the node starts)."""
    path.write_text(
        yaml.safe_dump(
            {
                "kind": "Cluster",
                "apiVersion": "kind.x-k8s.io/v1alpha4",
                "nodes": [
                    {
                        "role": "control-plane",
                        "extraPortMappings": [{"containerPort": 31080, "hostPort": host_port}],
                    }
                ],
            }
        )
    )
    return path


def delete_cluster(name: str, kubeconfig: Path, env: dict[str, str]) -> None:
    run(["kind", "delete", "cluster", f"--name={name}", f"--kubeconfig={kubeconfig}"], env)


@pytest.fixture(scope="module")
def cluster(tool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    """A cluster made by the kind double with the quickstart port mapping; deleted afterwards."""
    home = tmp_path_factory.mktemp("cluster")
    kubeconfig = home / "kubeconfig"
    kubeconfig.touch()  # pytest-kind touches the file before kind writes it
    config = write_kind_config(home / "kind.yaml")
    created = run(
        [
            "kind",
            "create",
            "cluster",
            "--name=doubles",
            f"--kubeconfig={kubeconfig}",
            "--image=kindest/node:v1.27.3",
            "--config",
            str(config),
            "--wait",
            "5m",
        ],
        tool_env,
    )
    try:
        assert created.returncode == 0, created.stderr
        yield SimpleNamespace(
            name="doubles",
            kubeconfig=kubeconfig,
            ingress_port=published_ingress_port("doubles", tool_env),
            create=created,
            env={**tool_env, "KUBECONFIG": str(kubeconfig)},
        )
    finally:
        delete_cluster("doubles", kubeconfig, tool_env)


# --- docker ---------------------------------------------------------------------------------


def test_docker_info_answers_when_the_daemon_is_up(tool_env: dict[str, str]) -> None:
    result = run(["docker", "info"], tool_env)
    assert result.returncode == 0
    assert result.stdout.startswith("Client:")
    assert "\nServer:\n" in result.stdout and "Server Version:" in result.stdout
    assert (
        run(["docker", "version", "--format", "{{.Server.Version}}"], tool_env).stdout.strip()
        == "24.0.7"
    )


def test_docker_info_fails_like_docker_when_the_daemon_is_down(tool_env: dict[str, str]) -> None:
    result = run(["docker", "info"], {**tool_env, "SIM_DOCKER_DOWN": "1"})
    assert result.returncode == 1
    assert (
        "ERROR: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
        "Is the docker daemon running?"
    ) in result.stderr
    assert "Server Version" not in result.stdout


@pytest.mark.parametrize("tool", ["docker", "kind"])
def test_the_doubles_run_with_the_interpreter_of_the_tests(tmp_path: Path, tool: str) -> None:
    """Whatever virtual environment runs the self-tests (tox's, a CI's), the launchers in
    bin/ start the doubles with it, not with ./.venv's or the system's python3."""
    assert os.environ[PYTHON_ENV] == sys.executable, "conftest points the launchers here"
    used = tmp_path / "used"
    interpreter = tmp_path / "python"
    interpreter.write_text(f'#!/bin/sh\necho "$@" > {used}\nexec {sys.executable} "$@"\n')
    interpreter.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", PYTHON_ENV: str(interpreter), "HOME": str(tmp_path)}
    result = run([str(BIN_DIR / tool), "version"], env)
    assert result.returncode == 0, result.stderr
    assert used.read_text() == f"-m tests.sim.doubles.{tool} version\n"


# --- kind -----------------------------------------------------------------------------------


def test_kind_version_and_empty_cluster_list(tool_env: dict[str, str]) -> None:
    assert run(["kind", "version"], tool_env).stdout == "kind v0.20.0 go1.20.4 linux/amd64\n"
    listed = run(
        ["kind", "get", "clusters"],
        {**tool_env, "SIM_KIND_STATE": str(Path(tool_env["HOME"]) / "empty-state")},
    )
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "", "No kind clusters found.\n")
    down = run(["kind", "get", "clusters"], {**tool_env, "SIM_DOCKER_DOWN": "1"})
    assert down.returncode == 1 and "Cannot connect to the Docker daemon" in down.stderr


def test_kind_create_prints_progress_and_exports_a_working_kubeconfig(cluster) -> None:
    lines = cluster.create.stderr.splitlines()
    assert lines[0] == 'Creating cluster "doubles" ...'
    assert " ✓ Ensuring node image (kindest/node:v1.27.3) 🖼" in lines
    assert " ✓ Starting control-plane 🕹️" in lines
    assert 'Set kubectl context to "kind-doubles"' in lines
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    assert config["current-context"] == "kind-doubles"
    api = k8s_client.CoreV1Api(k8s_config.new_client_from_config(str(cluster.kubeconfig)))
    names = {ns.metadata.name for ns in api.list_namespace().items}
    assert "default" in names


def test_kind_lists_reuses_and_refuses_duplicates(cluster) -> None:
    assert "doubles" in run(["kind", "get", "clusters"], cluster.env).stdout.splitlines()
    again = run(["kind", "create", "cluster", "--name", "doubles"], cluster.env)
    assert again.returncode == 1
    assert again.stderr.strip().endswith(
        "ERROR: failed to create cluster: node(s) already exist for a cluster with the name "
        '"doubles"'
    )
    exported = Path(cluster.env["HOME"]) / "exported-kubeconfig"
    result = run(
        ["kind", "export", "kubeconfig", "--name", "doubles", "--kubeconfig", str(exported)],
        cluster.env,
    )
    assert result.returncode == 0 and 'Set kubectl context to "kind-doubles"' in result.stderr
    printed = yaml.safe_load(
        run(["kind", "get", "kubeconfig", "--name", "doubles"], cluster.env).stdout
    )
    assert printed["current-context"] == "kind-doubles"
    assert printed["clusters"] == yaml.safe_load(exported.read_text())["clusters"]


def test_kind_maps_the_ingress_host_port(cluster) -> None:
    assert port_open(cluster.ingress_port)


def test_kind_export_logs(cluster, tmp_path: Path) -> None:
    result = run(
        ["kind", "export", "logs", str(tmp_path / "logs"), "--name", "doubles"], cluster.env
    )
    assert result.returncode == 0
    assert result.stderr == 'Exporting logs for cluster "doubles" to:\n'
    assert result.stdout.strip() == str(tmp_path / "logs")
    node = tmp_path / "logs" / "doubles-control-plane"
    assert {"kubelet.log", "containerd.log", "sim.log"} <= {p.name for p in node.iterdir()}
    assert "release_mirror" in (node / "sim.log").read_text()


def create_with(kind: str, name: str, config: Path, env: dict[str, str]):
    return run(
        [kind, "create", "cluster", f"--name={name}", f"--kubeconfig={config.parent / name}"]
        + ["--config", str(config)],
        env,
    )


def test_kind_before_0_23_ignores_nerdctl_and_makes_the_nodes_with_docker(
    tool_env: dict[str, str], tmp_path: Path
) -> None:
    nerdctl = str(engine_named(tmp_path, "nerdctl"))
    env = {**tool_env, "KIND_EXPERIMENTAL_PROVIDER": "nerdctl"}
    created = create_with("kind", "old-kind", write_kind_config(tmp_path / "kind.yaml"), env)
    try:
        assert created.returncode == 0, created.stderr
        assert 'ignoring unknown value "nerdctl" for KIND_EXPERIMENTAL_PROVIDER' in created.stderr
        unknown = run([nerdctl, "port", "old-kind-control-plane", "31080/tcp"], env)
        assert unknown.returncode == 1
        assert 'msg="no such container old-kind-control-plane"' in unknown.stderr
        assert published_ingress_port("old-kind", env) > 0, "Docker's container"
    finally:
        delete_cluster("old-kind", tmp_path / "old-kind", env)


def test_kind_0_23_drives_nerdctl_which_cannot_publish_host_port_minus_1(
    tool_env: dict[str, str], tmp_path: Path
) -> None:
    kind = tmp_path / "kind-0.23"
    kind.write_bytes(executable_script("kind", "v0.23.0"))
    kind.chmod(0o755)
    nerdctl = str(engine_named(tmp_path, "nerdctl"))
    env = {**tool_env, "KIND_EXPERIMENTAL_PROVIDER": "nerdctl"}
    refused = create_with(str(kind), "runtimes-port", write_kind_config(tmp_path / "a.yaml"), env)
    assert refused.returncode == 1
    assert "using nerdctl due to KIND_EXPERIMENTAL_PROVIDER" in refused.stderr
    assert "--publish=0.0.0.0:0:31080/TCP" in refused.stderr
    assert "invalid host port number: 0" in refused.stderr
    assert "runtimes-port" not in run([str(kind), "get", "clusters"], env).stdout.split()
    created = create_with(str(kind), "kinds-port", write_kind_config(tmp_path / "b.yaml", 0), env)
    try:
        assert created.returncode == 0, created.stderr
        bound = run([nerdctl, "port", "kinds-port-control-plane", "31080/tcp"], env)
        assert bound.returncode == 0 and port_open(int(bound.stdout.rsplit(":", 1)[1]))
        docker = run(["docker", "port", "kinds-port-control-plane", "31080/tcp"], env)
        assert "No such container: kinds-port-control-plane" in docker.stderr
    finally:
        delete_cluster("kinds-port", tmp_path / "kinds-port", env)


def test_kind_delete_stops_the_sim_and_frees_its_ports(
    tool_env: dict[str, str], tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    config = write_kind_config(tmp_path / "kind.yaml")
    try:
        created = run(
            [
                "kind",
                "create",
                "cluster",
                "--name",
                "short-lived",
                "--kubeconfig",
                str(kubeconfig),
                "--config",
                str(config),
            ],
            tool_env,
        )
        assert created.returncode == 0, created.stderr
        port = published_ingress_port("short-lived", tool_env)
        state = Path(tool_env["SIM_KIND_STATE"]) / "short-lived"
        pid = int((state / "pid").read_text())
        ready = json.loads((state / "ready.json").read_text())
        api_port = int(
            yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
            .rsplit(":", 1)[1]
            .strip("/")
        )
        assert port_open(port) and port_open(api_port) and ready["release_mirror"]
    finally:
        deleted = run(
            ["kind", "delete", "cluster", "--name", "short-lived", "--kubeconfig", str(kubeconfig)],
            tool_env,
        )
    assert deleted.returncode == 0
    assert deleted.stderr.startswith('Deleting cluster "short-lived" ...')
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not port_open(port) and not port_open(api_port)
    assert "kind-short-lived" not in kubeconfig.read_text()
    assert run(["kind", "delete", "cluster", "--name", "short-lived"], tool_env).returncode == 0


# --- mirror binaries ------------------------------------------------------------------------


def offline_sim(*faults: str) -> SimpleNamespace:
    return SimpleNamespace(repo_root=REPO_ROOT, faults=set(faults))


def verify(checksums: bytes, filename: str, content: bytes) -> bool:
    expected = dict(reversed(line.split("  ", 1)) for line in checksums.decode().splitlines())
    return expected[filename] == hashlib.sha256(content).hexdigest()


def test_mirror_kn_checksums_verify_and_tampering_breaks_them() -> None:
    sim = offline_sim()
    checksums = binaries.asset("knative", "client", "knative-v1.11.0", "checksums.txt", sim)
    assert checksums is not None
    listed = [line.split("  ")[1] for line in checksums.decode().splitlines()]
    assert listed == sorted([*binaries.KN_FILES, "kn-image-location.yaml"])
    assert {"kn-linux-s390x", "kn-linux-ppc64le"} <= set(listed)
    for filename in listed:
        content = binaries.asset("knative", "client", "knative-v1.11.0", filename, sim)
        assert content == binaries.asset("knative", "client", "knative-v1.11.0", filename, sim)
        assert verify(checksums, filename, content)
    tampered = binaries.asset(
        "knative", "client", "knative-v1.11.0", "kn-linux-amd64", offline_sim("tampered-kn")
    )
    assert not verify(checksums, "kn-linux-amd64", tampered)
    assert binaries.asset("knative", "client", "knative-v1.11.0", "kn-linux-386", sim) is None
    assert binaries.asset("knative", "client", "v1.11.0", "kn-linux-amd64", sim) is None


def test_mirror_kind_sha256sum_files() -> None:
    sim = offline_sim()
    binary = binaries.asset("kubernetes-sigs", "kind", "v0.20.0", "kind-linux-amd64", sim)
    sums = binaries.asset("kubernetes-sigs", "kind", "v0.20.0", "kind-linux-amd64.sha256sum", sim)
    assert sums.decode() == f"{hashlib.sha256(binary).hexdigest()}  kind-linux-amd64\n"
    assert binaries.asset("kubernetes-sigs", "kind", "v0.20.0", "kind-linux-s390x", sim) is None
    arm = binaries.asset("kubernetes-sigs", "kind", "v0.20.0", "kind-windows-arm64", sim)
    assert arm == binary


def test_mirror_serves_only_released_tags(sim_cluster) -> None:
    """Tags the catalog does not know answer 404, as GitHub does for a missing release."""
    base = sim_cluster.release_mirror

    def status(path: str) -> int:
        return requests.head(f"{base}/{path}", timeout=10).status_code

    assert status("knative/operator/releases/download/knative-v1.11.4/operator.yaml") == 200
    assert status("knative/serving/releases/download/knative-v1.11.6/serving-core.yaml") == 200
    assert status("knative/serving/releases/download/knative-v1.11.7/serving-core.yaml") == 404
    assert status("knative/serving/releases/download/knative-v1.10.0/serving-core.yaml") == 404
    assert status("knative/client/releases/download/knative-v1.11.0/kn-image-location.yaml") == 200
    assert status("kubernetes-sigs/kind/releases/download/v0.20.0/kind-windows-arm64") == 200
    assert status("kubernetes-sigs/kind/releases/download/v0.17.0/kind-linux-amd64") == 404
    assert status("n3wscott/sockeye/releases/download/v0.8.0/release.yaml") == 404
    assert status("triggermesh/triggermesh/releases/download/v1.27.0/triggermesh.yaml") == 404


def test_downloaded_binaries_run_as_their_release(cluster, tmp_path: Path) -> None:
    mirror_url = json.loads(
        (Path(cluster.env["SIM_KIND_STATE"]) / "doubles" / "ready.json").read_text()
    )["release_mirror"]
    assert mirror_url, "the kind double's cluster serves the release mirror"
    kn_path, kind_path = tmp_path / "kn", tmp_path / "kind"
    base = f"{mirror_url}/knative/client/releases/download/knative-v1.12.0"
    kn_path.write_bytes(requests.get(f"{base}/kn-linux-amd64", timeout=10).content)
    checksums = requests.get(f"{base}/checksums.txt", timeout=10).content
    assert verify(checksums, "kn-linux-amd64", kn_path.read_bytes())
    kind_url = f"{mirror_url}/kubernetes-sigs/kind/releases/download/v0.24.0/kind-linux-amd64"
    kind_path.write_bytes(requests.get(kind_url, timeout=10).content)
    kn_path.chmod(0o755)
    kind_path.chmod(0o755)
    assert run([str(kn_path), "version"], cluster.env).stdout.startswith("Version:      v1.12.0\n")
    assert run([str(kind_path), "version"], cluster.env).stdout.startswith("kind v0.24.0 ")


# --- kn -------------------------------------------------------------------------------------


def kn(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    script = Path(env["HOME"]) / "kn-v1.11.0"
    if not script.exists():
        script.write_bytes(binaries.kn_binary("v1.11.0", offline_sim()))
        script.chmod(0o755)
    return run([str(script), *args], env, timeout)


def test_kn_version_and_help(tool_env: dict[str, str]) -> None:
    text = kn("version", env=tool_env).stdout
    assert text.startswith(
        "Version:      v1.11.0\nBuild Date:   2023-07-27 08:14:05\n"
        "Git Revision: b7508e67\nSupported APIs:\n* Serving\n"
    )
    document = json.loads(kn("version", "-o", "json", env=tool_env).stdout)
    assert set(document) == {"Version", "BuildDate", "GitRevision", "SupportedAPIs"}
    assert document["SupportedAPIs"]["serving"] == [
        "serving.knative.dev/v1 (knative-serving v1.11.0)"
    ]
    for args in (["help"], ["--help"], []):
        help_text = kn(*args, env=tool_env).stdout
        assert "Serving Commands:\n  service " in help_text
        assert "Eventing Commands:\n  source " in help_text
        assert "Other Commands:\n  plugin " in help_text and "  version " in help_text
    unknown = kn("frobnicate", env=tool_env)
    assert unknown.returncode == 1
    assert unknown.stderr == (
        'Error: unknown command "frobnicate" for "kn"\nRun \'kn --help\' for usage\n'
    )


def apply_from_mirror(cluster, *assets: str) -> None:
    """`kubectl apply` the mirror's manifests (generated in-process: the same bytes it serves)."""
    for asset in assets:
        org, repo, _, _, tag, filename = asset.split("/")
        manifest = next(
            body
            for provider in mirror.PROVIDERS
            if (body := provider.asset(org, repo, tag, filename, offline_sim())) is not None
        )
        result = subprocess.run(
            [KUBECTL, "apply", "--validate=false", "-f", "-"],
            input=manifest,
            env=cluster.env,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr.decode()


def test_kn_source_ping_create_and_delete(cluster) -> None:
    apply_from_mirror(
        cluster,
        "knative/serving/releases/download/knative-v1.11.0/serving-crds.yaml",
        "knative/eventing/releases/download/knative-v1.11.1/eventing-crds.yaml",
    )
    missing = kn(
        "source",
        "ping",
        "create",
        "ping-source",
        "--schedule",
        "* * * * *",
        "--sink",
        "ksvc:nowhere",
        env=cluster.env,
    )
    assert missing.returncode == 1 and "not found" in missing.stderr
    custom = k8s_client.CustomObjectsApi(k8s_config.new_client_from_config(str(cluster.kubeconfig)))
    custom.create_namespaced_custom_object(
        "serving.knative.dev",
        "v1",
        "default",
        "services",
        {
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {"name": "sockeye"},
            "spec": {
                "template": {
                    "spec": {"containers": [{"image": "docker.io/n3wscott/sockeye:v0.7.0"}]}
                }
            },
        },
    )
    created = kn(
        "source",
        "ping",
        "create",
        "ping-source",
        "--schedule",
        "* * * * *",
        "--data",
        '{ "message": "Hello, world!" }',
        "--sink",
        "sockeye",
        env=cluster.env,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout == "Ping source 'ping-source' created in namespace 'default'.\n"
    source = custom.get_namespaced_custom_object(
        "sources.knative.dev", "v1", "default", "pingsources", "ping-source"
    )
    assert "contentType" not in source["spec"]
    assert source["spec"]["sink"]["ref"]["name"] == "sockeye"
    assert source["spec"]["data"] == '{ "message": "Hello, world!" }'
    deleted = kn("source", "ping", "delete", "ping-source", env=cluster.env)
    assert deleted.stdout == "Ping source 'ping-source' deleted in namespace 'default'.\n"


def test_kn_service_create_waits_for_ready(cluster) -> None:
    apply_from_mirror(
        cluster,
        "knative/serving/releases/download/knative-v1.11.0/serving-crds.yaml",
        "knative/serving/releases/download/knative-v1.11.0/serving-core.yaml",
        "knative-extensions/net-kourier/releases/download/knative-v1.11.0/kourier.yaml",
    )
    # Kourier routes only the ingress class config-network names (as the book's CR sets it).
    subprocess.run(
        [
            KUBECTL,
            "-n",
            "knative-serving",
            "patch",
            "configmap",
            "config-network",
            "-p",
            '{"data": {"ingress-class": "kourier.ingress.networking.knative.dev"}}',
        ],
        env=cluster.env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    # Serving's admission webhook answers once its Deployment is Available (before that the
    # API server refuses a Knative Service: "failed calling webhook").
    subprocess.run(
        [
            KUBECTL,
            "-n",
            "knative-serving",
            "wait",
            "--for=condition=Available",
            "deployment/webhook",
            "--timeout=60s",
        ],
        env=cluster.env,
        check=True,
        capture_output=True,
        timeout=90,
    )
    result = kn(
        "service",
        "create",
        "nodeinfo",
        "--image",
        "functions/nodeinfo:latest",
        "--port",
        "8080",
        "--wait-timeout",
        "60",
        env=cluster.env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Warning: Kubernetes default value is insecure")
    lines = result.stdout.splitlines()
    assert lines[0] == "Creating service 'nodeinfo' in namespace 'default':"
    assert lines[-4].endswith(" Ready to serve.")
    assert lines[-2] == (
        "Service 'nodeinfo' created to latest revision 'nodeinfo-00001' is available at URL:"
    )
    assert lines[-1].startswith("http://nodeinfo.default.")
    custom = k8s_client.CustomObjectsApi(k8s_config.new_client_from_config(str(cluster.kubeconfig)))
    service = custom.get_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "services", "nodeinfo"
    )
    annotations = service["spec"]["template"]["metadata"]["annotations"]
    assert annotations["client.knative.dev/user-image"] == "functions/nodeinfo:latest"
    again = kn(
        "service", "create", "nodeinfo", "--image", "functions/nodeinfo:latest", env=cluster.env
    )
    assert again.returncode == 1
    assert again.stderr.startswith(
        "Error: cannot create service 'nodeinfo' in namespace "
        "'default' because the service already exists"
    )
    described = json.loads(
        kn("service", "describe", "nodeinfo", "-o", "json", env=cluster.env).stdout
    )
    assert described["status"]["latestReadyRevisionName"] == "nodeinfo-00001"
    deleted = kn("service", "delete", "nodeinfo", env=cluster.env)
    assert deleted.stdout == "Service 'nodeinfo' successfully deleted in namespace 'default'.\n"
