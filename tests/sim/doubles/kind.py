"""A `kind` double: clusters are simulated clusters (`python -m tests.sim`) run as detached processes.

Output follows kubernetes-sigs/kind v0.20: `pkg/cmd/kind/*` (commands and flags),
`pkg/cluster/internal/create/create.go` (progress lines, usage hint, salutation),
`pkg/internal/cli/status.go` (non-TTY status lines " • X  ..." then " ✓ X"),
`pkg/cluster/internal/kubeconfig` (context/cluster/user all named `kind-<name>`).
State lives in $SIM_KIND_STATE, else a per-user temp directory: one folder per cluster with
the sim's pid, its ready line, its kubeconfig, its published ports and its output (the docker
double keeps the host's images there too).
A hostPort of 0 gets a free port of this machine, held until the node "starts"; -1 leaves
the choice to the runtime at `docker run`: a free port then
(`pkg/cluster/internal/providers/common/getport.go`), but nerdctl is handed port 0 and its CNI
refuses it, so the node never starts (`providers/nerdctl/provision.go`). The engine is
KIND_EXPERIMENTAL_PROVIDER's as `pkg/internal/runtime/runtime.go` reads it (nerdctl, finch and
nerdctl.lima from v0.23.0 on; before, ignored: Docker); a cluster's ports are published to its
engine only (the docker double's `port` under that engine's name). A create that fails once nodes exist
deletes them unless --retain (create.go); SIM_KIND_CREATE_FAILS=1 makes kubeadm init fail,
SIM_KIND_CREATE_SECONDS makes it take that long.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.sim.doubles import REPO_ROOT, scan_flags
from tests.sim.doubles.docker import DAEMON_DOWN_MESSAGE, add_image, daemon_down

DEFAULT_VERSION = "v0.20.0"
DEFAULT_CLUSTER_NAME = "kind"
VALID_NAME = re.compile(r"[a-z0-9.-]+")
CLUSTER_NAME_MAX = 50
INGRESS_CONTAINER_PORT = 31080
SIM_START_TIMEOUT = 120.0
SIM_STOP_TIMEOUT = 15.0

# kind release -> (default node image tag, Go toolchain it was built with).
# Node images: pkg/apis/config/defaults/image.go at each tag (knative-facts.md).
# Go versions: INFERRED from each release's .go-version.
RELEASES = {
    "v0.17.0": ("v1.25.3", "go1.19.2"),
    "v0.18.0": ("v1.26.3", "go1.20.2"),
    "v0.19.0": ("v1.27.1", "go1.20.4"),
    "v0.20.0": ("v1.27.3", "go1.20.4"),
    "v0.21.0": ("v1.29.1", "go1.20.13"),
    "v0.22.0": ("v1.29.2", "go1.20.13"),
    "v0.23.0": ("v1.30.0", "go1.21.10"),
    "v0.24.0": ("v1.31.0", "go1.22.6"),
    "v0.25.0": ("v1.31.2", "go1.22.9"),
    "v0.26.0": ("v1.32.0", "go1.23.4"),
    "v0.27.0": ("v1.32.2", "go1.23.6"),
    "v0.28.0": ("v1.33.1", "go1.24.2"),
    "v0.29.0": ("v1.33.1", "go1.24.2"),
    "v0.30.0": ("v1.34.0", "go1.24.6"),
    "v0.31.0": ("v1.35.0", "go1.25.5"),
    "v0.32.0": ("v1.36.1", "go1.25.7"),
}

# KIND_EXPERIMENTAL_PROVIDER values of kind's nerdctl provider, and the release that added it.
NERDCTL_ENGINES = ("nerdctl", "finch", "nerdctl.lima")
NERDCTL_SINCE = (0, 23, 0)

# Flags that take a value, per kind's cobra commands; anything else is boolean.
VALUE_FLAGS = {"name", "kubeconfig", "image", "config", "wait", "verbosity", "nodes"}
SHORT_FLAGS = {"n": "name", "v": "verbosity", "q": "quiet", "A": "all"}

# create.go logSalutation picks one at random; a double stays deterministic.
SALUTATION = "Have a nice day! 👋"


class KindError(Exception):
    """Printed as `ERROR: <message>` with exit status 1, like kind's cmd/kind/app/main.go."""


@dataclass
class Invocation:
    positionals: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)


def parse_args(argv: list[str]) -> Invocation:
    """Accept `--flag=value`, `--flag value` and `-n value`, as pflag does."""
    parsed = Invocation()
    for arg, name, value in scan_flags(
        argv, VALUE_FLAGS, SHORT_FLAGS, KindError, double_dash_short=True
    ):
        if name is None:
            parsed.positionals.append(arg)
        else:
            parsed.flags[name] = "true" if value is None else value
    return parsed


def state_root() -> Path:
    configured = os.environ.get("SIM_KIND_STATE")
    root = (
        Path(configured) if configured else Path(tempfile.gettempdir()) / f"sim-kind-{os.getuid()}"
    )
    root.mkdir(parents=True, exist_ok=True)
    return root


def cluster_dir(name: str) -> Path:
    return state_root() / name


def process_alive(pid: int) -> bool:
    """True while the sim process runs (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def cluster_pid(name: str) -> int | None:
    try:
        return int((cluster_dir(name) / "pid").read_text())
    except (OSError, ValueError):
        return None


def live_clusters() -> list[str]:
    """Clusters made and not deleted, running or not: kind lists a cluster by its node
    containers, stopped ones included, until `kind delete cluster` removes them."""
    return sorted(entry.name for entry in state_root().iterdir() if (entry / "ready.json").exists())


def target_kubeconfig(flags: dict[str, str]) -> Path:
    """--kubeconfig, else the first entry of $KUBECONFIG, else ~/.kube/config (client-go's rules)."""
    if flags.get("kubeconfig"):
        return Path(flags["kubeconfig"])
    env_paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if env_paths:
        return Path(env_paths[0])
    return Path.home() / ".kube" / "config"


def load_kubeconfig(path: Path) -> dict:
    try:
        loaded = yaml.safe_load(path.read_text()) if path.exists() else None
    except yaml.YAMLError as error:
        raise KindError(f"failed to load kubeconfig {path}: {error}") from error
    config = loaded if isinstance(loaded, dict) else {}
    config.setdefault("apiVersion", "v1")
    config.setdefault("kind", "Config")
    config.setdefault("preferences", {})
    for section in ("clusters", "contexts", "users"):
        config[section] = config.get(section) or []
    config.setdefault("current-context", "")
    return config


def cluster_kubeconfig(name: str) -> dict:
    """The sim's kubeconfig renamed the way kind names things: `kind-<name>` everywhere."""
    sim_config = load_kubeconfig(cluster_dir(name) / "kubeconfig")
    context_name = sim_config.get("current-context") or sim_config["contexts"][0]["name"]
    context = next(c for c in sim_config["contexts"] if c["name"] == context_name)["context"]
    cluster = next(c for c in sim_config["clusters"] if c["name"] == context["cluster"])
    user = next(u for u in sim_config["users"] if u["name"] == context["user"])
    kind_name = f"kind-{name}"
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": cluster["cluster"], "name": kind_name}],
        "contexts": [{"context": {"cluster": kind_name, "user": kind_name}, "name": kind_name}],
        "current-context": kind_name,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": kind_name, "user": user.get("user", {})}],
    }


def write_kubeconfig(path: Path, config: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def merge_kubeconfig(name: str, path: Path) -> None:
    """Replace the kind-<name> entries of `path` and select its context, like kind's kubeconfig.Export."""
    ours = cluster_kubeconfig(name)
    theirs = load_kubeconfig(path)
    kind_name = f"kind-{name}"
    for section in ("clusters", "contexts", "users"):
        kept = [entry for entry in theirs[section] if entry.get("name") != kind_name]
        theirs[section] = kept + ours[section]
    theirs["current-context"] = kind_name
    write_kubeconfig(path, theirs)


def remove_from_kubeconfig(name: str, path: Path) -> None:
    """kind's kubeconfig.Remove: drop the kind-<name> entries and unset it as current context."""
    if not path.exists():
        return
    config = load_kubeconfig(path)
    kind_name = f"kind-{name}"
    for section in ("clusters", "contexts", "users"):
        config[section] = [entry for entry in config[section] if entry.get("name") != kind_name]
    if config.get("current-context") == kind_name:
        config["current-context"] = ""
    write_kubeconfig(path, config)


def ensure_docker() -> None:
    """kind shells out to docker first; with the daemon down it fails the same way."""
    if daemon_down():
        raise KindError(
            'failed to list clusters: command "docker ps -a --filter label=io.x-k8s.kind.cluster '
            '--format \'{{.Label "io.x-k8s.kind.cluster"}}\'" failed with error: exit status 1\n'
            f"Command Output: {DAEMON_DOWN_MESSAGE}"
        )


def node_engine(version: str) -> str:
    """The container CLI this kind makes nodes with, warning as runtime.GetDefault does."""
    chosen = os.environ.get("KIND_EXPERIMENTAL_PROVIDER", "")
    release = tuple(int(part) for part in version.lstrip("v").split("."))
    if chosen in ("docker", "podman") or (chosen in NERDCTL_ENGINES and release >= NERDCTL_SINCE):
        print(f"using {chosen} due to KIND_EXPERIMENTAL_PROVIDER", file=sys.stderr)
        return chosen
    if chosen:
        print(f'ignoring unknown value "{chosen}" for KIND_EXPERIMENTAL_PROVIDER', file=sys.stderr)
    return "docker"


def read_config_file(path: str) -> dict:
    """Validate a kind Cluster config the way kind's internal/apis/config/encoding does."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise KindError(f"failed to create cluster: error reading file: {error}") from error
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise KindError(f"failed to create cluster: {error}") from error
    if config.get("kind") != "Cluster":
        raise KindError(f"failed to create cluster: unknown kind: {config.get('kind', '')}")
    if config.get("apiVersion") != "kind.x-k8s.io/v1alpha4":
        raise KindError(
            f"failed to create cluster: unknown apiVersion: {config.get('apiVersion', '')}"
        )
    return config


def ingress_mapping(config: dict) -> dict | None:
    for node in config.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            if int(mapping.get("containerPort", 0)) == INGRESS_CONTAINER_PORT:
                return mapping
    return None


RUNTIMES_CHOICE = 0  # --ingress-port 0: the sim binds a free port itself, as `docker run` does


def reserve_port(mapping: dict) -> tuple[int, socket.socket | None]:
    """kind's PortOrGetFreePort: hostPort 0 (or unset) becomes a free port, whose listener is
    held until the node container is started; -1 is the runtime's choice at `docker run`:
    nothing is reserved before, the sim binds a free port when it starts (RUNTIMES_CHOICE),
    so no other process can take it in between; any other port is kept as given."""
    port = int(mapping.get("hostPort") or 0)
    if port > 0:
        return port, None
    if port == -1:
        return RUNTIMES_CHOICE, None
    holder = socket.socket()
    holder.bind((mapping.get("listenAddress") or "0.0.0.0", 0))
    holder.listen()
    return holder.getsockname()[1], holder


def published_ports(container: str, engine: str) -> dict[str, str] | None:
    """`<engine> port` of a node container: "31080/tcp" -> "127.0.0.1:41234"; None when
    that engine has no such container."""
    name = container.removesuffix("-control-plane")
    if not container.endswith("-control-plane") or name not in live_clusters():
        return None
    try:
        if (cluster_dir(name) / "engine").read_text() != engine:
            return None
    except OSError:
        return None
    try:
        return json.loads((cluster_dir(name) / "ports.json").read_text())
    except (OSError, ValueError):
        return {}


def kubernetes_version(image: str) -> str:
    """`kindest/node:v1.27.3@sha256:...` -> `1.27.3`."""
    reference = image.split("@", 1)[0]
    tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""
    if not tag.startswith("v"):
        raise KindError(f"failed to create cluster: node image {image!r} has no Kubernetes tag")
    return tag[1:]


def status(step: str) -> None:
    # Without a TTY kind's spinner-less status logs the start, then the tick on success.
    print(f" • {step}  ...", file=sys.stderr)
    print(f" ✓ {step}", file=sys.stderr)


def is_json(line: str) -> bool:
    """False for a ready line the sim has only half written so far."""
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def start_sim(name: str, version: str, ingress_port: int | None) -> dict:
    """Start the simulated cluster detached from this process, wait for its ready line and
    return it (`ingress_endpoint`: where its gateway listens)."""
    directory = cluster_dir(name)
    try:
        directory.mkdir(parents=True)
    except FileExistsError:
        # Another `kind create` of this name got past its check at the same moment.
        raise KindError(
            f'failed to create cluster: command "docker run --name {name}-control-plane ..." '
            "failed with error: exit status 125\nCommand Output: docker: Error response from "
            f'daemon: Conflict. The container name "/{name}-control-plane" is already in use.'
        ) from None
    command = [
        sys.executable,
        "-m",
        "tests.sim",
        "--kubeconfig",
        str(directory / "kubeconfig"),
        "--kubernetes-version",
        version,
        "--cluster-name",
        name,
    ]
    if ingress_port is not None:
        command += ["--ingress-port", str(ingress_port)]
    if os.environ.get("SIM_TIME_SCALE"):
        command += ["--time-scale", os.environ["SIM_TIME_SCALE"]]
    if os.environ.get("SIM_FAULTS"):
        command += ["--faults", os.environ["SIM_FAULTS"]]
    log_path = directory / "sim.log"
    # The sim outlives this process, so its output goes to a file rather than a pipe we'd close.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    (directory / "pid").write_text(str(process.pid))
    deadline = time.monotonic() + SIM_START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and "kubeconfig" in line and is_json(line):
                (directory / "ready.json").write_text(line + "\n")
                return json.loads(line)
        if process.poll() is not None:
            output = log_path.read_text(errors="replace").strip().splitlines()[-20:]
            shutil.rmtree(directory, ignore_errors=True)
            raise KindError(
                'failed to create cluster: command "docker run --name '
                f'{name}-control-plane ..." failed with error: exit status {process.returncode}\n'
                "Command Output: " + "\n".join(output)
            )
        time.sleep(0.05)
    stop_sim(name)
    raise KindError(f"failed to create cluster: simulated cluster {name!r} did not become ready")


def stop_sim(name: str) -> None:
    pid = cluster_pid(name)
    if pid is not None and process_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + SIM_STOP_TIMEOUT
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
            while process_alive(pid):
                time.sleep(0.05)
    shutil.rmtree(cluster_dir(name), ignore_errors=True)


def check_name(name: str) -> None:
    """kind's create.go: a warning above clusterNameMax (50), then Cluster.Validate's name rule
    (pkg/internal/apis/config/validate.go), before any node exists."""
    if len(name) > CLUSTER_NAME_MAX:
        print(
            f'cluster name "{name}" is probably too long, this might not work properly on some '
            "systems",
            file=sys.stderr,
        )
    if not VALID_NAME.fullmatch(name):
        raise KindError(
            f"failed to create cluster: '{name}' is not a valid cluster name, cluster names must "
            f"match `^{VALID_NAME.pattern}$`"
        )


def create_cluster(flags: dict[str, str], version: str) -> int:
    ensure_docker()
    name = flags.get("name", DEFAULT_CLUSTER_NAME)
    default_tag = RELEASES.get(version, RELEASES[DEFAULT_VERSION])[0]
    image = flags.get("image") or f"kindest/node:{default_tag}"
    config = read_config_file(flags["config"]) if flags.get("config") else {}
    k8s_version = kubernetes_version(image)
    if name in live_clusters():
        raise KindError(
            f'failed to create cluster: node(s) already exist for a cluster with the name "{name}"'
        )
    check_name(name)
    nodes = config.get("nodes") or [{"role": "control-plane"}]
    print(f'Creating cluster "{name}" ...', file=sys.stderr)
    status(f"Ensuring node image ({image.split('@', 1)[0]}) 🖼")
    add_image(image)
    mapping = ingress_mapping(config)
    engine = node_engine(version)
    if (
        engine in NERDCTL_ENGINES
        and mapping is not None
        and int(mapping.get("hostPort") or 0) == -1
    ):
        # The node container's start: nerdctl's CNI setup (portmap) refuses host port 0.
        print(" • Preparing nodes 📦  ...", file=sys.stderr)
        print(" ✗ Preparing nodes 📦", file=sys.stderr)
        address = mapping.get("listenAddress") or "0.0.0.0"
        raise KindError(
            f'failed to create cluster: command "{engine} run --name {name}-control-plane ... '
            f'--publish={address}:0:{INGRESS_CONTAINER_PORT}/TCP ..." failed with error: exit '
            'status 1\nCommand Output: time="2026-01-01T00:00:00Z" level=fatal msg="failed to '
            "create shim task: OCI runtime create failed: error running hook #0: failed to call "
            'cni.Setup: plugin type=\\"portmap\\" failed (add): invalid host port number: 0"'
        )
    ports: dict[str, str] = {}
    ingress_port = None
    if mapping is not None:
        ingress_port, holder = reserve_port(mapping)
        if holder is not None:
            holder.close()
    try:
        ready = start_sim(name, k8s_version, ingress_port)
    except KindError as error:
        if "retain" not in flags and "Conflict" in str(error):
            # kind deletes every node of the name when provisioning fails: the other's too.
            stop_sim(name)
        raise
    if mapping is not None:
        bound = ready["ingress_endpoint"].rsplit(":", 1)[1]
        address = mapping.get("listenAddress") or "0.0.0.0"
        ports[f"{INGRESS_CONTAINER_PORT}/tcp"] = f"{address}:{bound}"
    (cluster_dir(name) / "ports.json").write_text(json.dumps(ports))
    (cluster_dir(name) / "engine").write_text(engine)
    (cluster_dir(name) / "image").write_text(image + "\n")
    status("Preparing nodes " + "📦 " * len(nodes))
    status("Writing configuration 📜")
    # kubeadm init on a slow machine.
    time.sleep(float(os.environ.get("SIM_KIND_CREATE_SECONDS", "0")))
    if os.environ.get("SIM_KIND_CREATE_FAILS") == "1":
        print(" ✗ Starting control-plane 🕹️", file=sys.stderr)
        if "retain" not in flags:
            stop_sim(name)
            remove_from_kubeconfig(name, target_kubeconfig(flags))
        raise KindError(
            'failed to create cluster: failed to init node with kubeadm: command "docker exec '
            f"--privileged {name}-control-plane kubeadm init --skip-phases=preflight "
            '--config=/kind/kubeadm.conf --skip-token-print --v=6" failed with error: exit '
            "status 1"
        )
    status("Starting control-plane 🕹️")
    status("Installing CNI 🔌")
    status("Installing StorageClass 💾")
    if any(node.get("role") == "worker" for node in nodes):
        status("Joining worker nodes 🚜")
    if flags.get("wait") and flags["wait"] not in ("0", "0s"):
        status(f"Waiting ≤ {flags['wait']} for control-plane = Ready ⏳")
        print(" • Ready after 0s 💚", file=sys.stderr)
    kubeconfig = target_kubeconfig(flags)
    merge_kubeconfig(name, kubeconfig)
    print(f'Set kubectl context to "kind-{name}"', file=sys.stderr)
    sample = f"kubectl cluster-info --context kind-{name}"
    if flags.get("kubeconfig"):
        sample += f" --kubeconfig {flags['kubeconfig']}"
    print(f"You can now use your cluster with:\n\n{sample}\n\n{SALUTATION}", file=sys.stderr)
    return 0


def delete_cluster(flags: dict[str, str]) -> int:
    name = flags.get("name", DEFAULT_CLUSTER_NAME)
    print(f'Deleting cluster "{name}" ...', file=sys.stderr)
    existed = cluster_dir(name).exists()
    stop_sim(name)
    remove_from_kubeconfig(name, target_kubeconfig(flags))
    if existed:
        print(f'Deleted nodes: ["{name}-control-plane"]', file=sys.stderr)
    return 0


def require_cluster(name: str) -> None:
    if name not in live_clusters():
        raise KindError(
            f"could not locate any control plane nodes for cluster named '{name}'. "
            "Use the --name option to select a different cluster"
        )


def export_logs(invocation: Invocation, version: str) -> int:
    """Lay out a directory like kind's `export logs`: per node folder plus docker/kind info."""
    name = invocation.flags.get("name", DEFAULT_CLUSTER_NAME)
    if name not in live_clusters():
        raise KindError(f'unknown cluster "{name}"')
    args = invocation.positionals[2:]
    target = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="kind-logs-"))
    node_dir = target / f"{name}-control-plane"
    node_dir.mkdir(parents=True, exist_ok=True)
    source = cluster_dir(name)
    shutil.copyfile(source / "sim.log", node_dir / "sim.log")
    image = (source / "image").read_text().strip() if (source / "image").exists() else ""
    stamp = time.strftime("%b %d %H:%M:%S")
    (node_dir / "kubelet.log").write_text(
        f"{stamp} {name}-control-plane kubelet[201]: I1126 Simulated kubelet started "
        f"(node image {image})\n"
    )
    (node_dir / "containerd.log").write_text(
        f'{stamp} {name}-control-plane containerd[105]: level=info msg="containerd successfully '
        'booted (simulated)"\n'
    )
    ready = json.loads((source / "ready.json").read_text())
    (node_dir / "kubernetes-version.txt").write_text(kubernetes_version(image) + "\n")
    (node_dir / "inspect.json").write_text(
        json.dumps([{"Name": f"{name}-control-plane", "Sim": ready}], indent=2) + "\n"
    )
    (target / "kind-version.txt").write_text(version_line(version) + "\n")
    (target / "docker-info.txt").write_text("Simulated docker (tests/sim/doubles/docker.py)\n")
    print(f'Exporting logs for cluster "{name}" to:', file=sys.stderr)
    print(target)
    return 0


def version_line(version: str) -> str:
    go = RELEASES.get(version, RELEASES[DEFAULT_VERSION])[1]
    return f"kind {version} {go} linux/amd64"


def run(argv: list[str], version: str) -> int:
    invocation = parse_args(argv)
    words = invocation.positionals
    flags = invocation.flags
    command = " ".join(words[:2])
    if not words or "help" in flags or words[0] == "help":
        print(
            "kind creates and manages local Kubernetes clusters using Docker container 'nodes'\n\n"
            "Usage:\n  kind [command]\n\nAvailable Commands:\n"
            "  build       Build one of [node-image]\n"
            "  completion  Output shell completion code for the specified shell (bash, zsh or fish)\n"
            "  create      Creates one of [cluster]\n"
            "  delete      Deletes one of [cluster]\n"
            "  export      Exports one of [kubeconfig, logs]\n"
            "  get         Gets one of [clusters, nodes, kubeconfig]\n"
            "  help        Help about any command\n"
            "  load        Loads images into nodes\n"
            "  version     Prints the kind CLI version\n\n"
            'Use "kind [command] --help" for more information about a command.'
        )
        return 0
    if words[0] == "version":
        print(version_line(version))
        return 0
    if command == "get clusters":
        ensure_docker()
        names = live_clusters()
        if names:
            print("\n".join(names))
        else:
            print("No kind clusters found.", file=sys.stderr)
        return 0
    if command == "get nodes":
        name = flags.get("name", DEFAULT_CLUSTER_NAME)
        if name in live_clusters():
            print(f"{name}-control-plane")
        else:
            print(f'No kind nodes found for cluster "{name}".', file=sys.stderr)
        return 0
    if command == "create cluster":
        return create_cluster(flags, version)
    if command == "delete cluster":
        return delete_cluster(flags)
    if command == "delete clusters":
        for name in words[2:] if "all" not in flags else live_clusters():
            delete_cluster({**flags, "name": name})
        return 0
    if command == "get kubeconfig":
        name = flags.get("name", DEFAULT_CLUSTER_NAME)
        require_cluster(name)
        print(yaml.safe_dump(cluster_kubeconfig(name), sort_keys=False), end="")
        return 0
    if command == "export kubeconfig":
        name = flags.get("name", DEFAULT_CLUSTER_NAME)
        try:
            require_cluster(name)
        except KindError as error:
            raise KindError(f"failed to export kubeconfig: {error}") from error
        merge_kubeconfig(name, target_kubeconfig(flags))
        print(f'Set kubectl context to "kind-{name}"', file=sys.stderr)
        return 0
    if command == "export logs":
        return export_logs(invocation, version)
    if command in ("load docker-image", "load image-archive"):
        name = flags.get("name", DEFAULT_CLUSTER_NAME)
        require_cluster(name)
        for image in words[2:]:
            print(
                f'Image: "{image}" with ID "sha256:simulated" not yet present on node '
                f'"{name}-control-plane", loading...',
                file=sys.stderr,
            )
        return 0
    if len(words) > 1 and words[0] in ("build", "create", "delete", "export", "get", "load"):
        raise KindError(f'unknown command "{words[1]}" for "kind {words[0]}"')
    raise KindError(f'unknown command "{words[0]}" for "kind"')


def main(argv: list[str], version: str = DEFAULT_VERSION) -> int:
    try:
        return run(argv, version)
    except KindError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
