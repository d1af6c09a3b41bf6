"""A `docker` double answering what the harness asks Docker: `info`, `version`, `image inspect`,
`pull` and `port`.

Layout and errors follow docker/cli v24: `cli/command/system/info.go` (prettyPrintInfo: "Client:"
section on stdout, the client's warnings on stderr first (prettyPrintClientInfo: "WARNING: Plugin
... is not valid"), "Server:" then `ERROR: <err>` on stderr and the final
"errors pretty printing info"), `cli/command/system/version.go` (templates, `{{json .}}`),
`cli/command/image/pull.go` (jsonmessage without a TTY: one line per layer state),
`cli/command/container/port.go`, and the daemon-unreachable text of docker/docker
`client/errors.go` (ErrorConnectionFailed).
With SIM_DOCKER_DOWN=1 the daemon is unreachable; with SIM_DOCKER_BROKEN_PLUGIN=1 a CLI plugin is
broken (as after a Docker Desktop upgrade); SIM_DOCKER_PULL_SECONDS makes a pull take that long,
SIM_DOCKER_INFO_SECONDS `docker info`.
Images and published ports are the Docker host's: they live beside the kind double's clusters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

DOCKER_VERSION = "24.0.7"
API_VERSION = "1.43"
DAEMON_DOWN_MESSAGE = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)
TEMPLATE_ACTION = re.compile(r"{{\s*(json\s+)?\.([\w.]*)\s*}}")
BROKEN_PLUGIN_WARNING = (
    'WARNING: Plugin "/usr/local/lib/docker/cli-plugins/docker-scan" is not valid: failed to '
    "fetch metadata: fork/exec /usr/local/lib/docker/cli-plugins/docker-scan: no such file or "
    "directory"
)
LAYERS = 6
# Set by a launcher that runs this double as another engine's CLI (nerdctl, podman: their
# commands mirror docker's); its containers are that engine's.
CLI_NAME_ENV = "SIM_CONTAINER_CLI"

CLIENT_INFO = f"""Client: Docker Engine - Community
 Version:    {DOCKER_VERSION}
 Context:    default
 Debug Mode: false
 Plugins:
  buildx: Docker Buildx (Docker Inc.)
    Version:  v0.11.2
    Path:     /usr/libexec/docker/cli-plugins/docker-buildx
"""

SERVER_INFO = f"""Server:
 Containers: 0
  Running: 0
  Paused: 0
  Stopped: 0
 Images: 1
 Server Version: {DOCKER_VERSION}
 Storage Driver: overlay2
  Backing Filesystem: extfs
 Logging Driver: json-file
 Cgroup Driver: systemd
 Cgroup Version: 2
 Runtimes: io.containerd.runc.v2 runc
 Default Runtime: runc
 Security Options:
  seccomp
   Profile: builtin
  cgroupns
 Operating System: Ubuntu 22.04.3 LTS
 OSType: linux
 Architecture: x86_64
 CPUs: {os.cpu_count() or 1}
 Docker Root Dir: /var/lib/docker
 Debug Mode: false
 Experimental: false
 Insecure Registries:
  127.0.0.0/8
 Live Restore Enabled: false
"""


def daemon_down() -> bool:
    return os.environ.get("SIM_DOCKER_DOWN") == "1"


def images_file() -> Path:
    from tests.sim.doubles.kind import state_root  # kind's double imports this module

    return state_root() / "images.json"


def images() -> dict[str, str]:
    """Image reference -> image ID, of the images this Docker host holds."""
    try:
        return json.loads(images_file().read_text())
    except (OSError, ValueError):
        return {}


def add_image(reference: str) -> None:
    held = images()
    held[reference] = "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
    images_file().write_text(json.dumps(held))


def fail_without_daemon() -> int | None:
    if daemon_down():
        print(DAEMON_DOWN_MESSAGE, file=sys.stderr)
        return 1
    return None


def version_data() -> dict:
    client = {
        "Platform": {"Name": "Docker Engine - Community"},
        "Version": DOCKER_VERSION,
        "ApiVersion": API_VERSION,
        "GitCommit": "afdd53b",
        "GoVersion": "go1.20.10",
        "Os": "linux",
        "Arch": "amd64",
        "Context": "default",
    }
    server = (
        None
        if daemon_down()
        else {
            "Platform": {"Name": "Docker Engine - Community"},
            "Version": DOCKER_VERSION,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": "1.12",
            "GitCommit": "311b9ff",
            "GoVersion": "go1.20.10",
            "Os": "linux",
            "Arch": "amd64",
        }
    )
    return {"Client": client, "Server": server}


def info_data() -> dict:
    return {
        "ServerVersion": DOCKER_VERSION,
        "OSType": "linux",
        "Architecture": "x86_64",
        "NCPU": os.cpu_count() or 1,
        "Driver": "overlay2",
        "CgroupDriver": "systemd",
        "CgroupVersion": "2",
        "OperatingSystem": "Ubuntu 22.04.3 LTS",
        "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
    }


def render(template: str, data: dict) -> str:
    """Enough of Go's text/template for `{{.A.B}}` and `{{json .A}}`."""

    def substitute(match: re.Match) -> str:
        value: object = data
        for part in filter(None, match.group(2).split(".")):
            value = value.get(part) if isinstance(value, dict) else None
        if match.group(1):
            return json.dumps(value, separators=(",", ":"))
        return "<no value>" if value is None else str(value)

    return TEMPLATE_ACTION.sub(substitute, template)


def format_flag(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg in ("-f", "--format") and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--format="):
            return arg.split("=", 1)[1]
    return None


def info(argv: list[str]) -> int:
    template = format_flag(argv)
    # A daemon slow to answer (Docker Desktop starting): SIM_DOCKER_INFO_SECONDS.
    time.sleep(float(os.environ.get("SIM_DOCKER_INFO_SECONDS", "0")))
    if os.environ.get("SIM_DOCKER_BROKEN_PLUGIN") == "1" and template is None:
        print(BROKEN_PLUGIN_WARNING, file=sys.stderr)
    if daemon_down():
        if template is None:
            print(CLIENT_INFO)
            print("Server:")
        print(f"ERROR: {DAEMON_DOWN_MESSAGE}", file=sys.stderr)
        print("errors pretty printing info", file=sys.stderr)
        return 1
    if template is not None:
        print(render(template, info_data()))
        return 0
    print(CLIENT_INFO)
    print(SERVER_INFO, end="")
    return 0


def version(argv: list[str]) -> int:
    template = format_flag(argv)
    data = version_data()
    if template is not None:
        print(render(template, data))
    else:
        client = data["Client"]
        print(
            f"Client: {client['Platform']['Name']}\n Version:           {DOCKER_VERSION}\n"
            f" API version:       {API_VERSION}\n Go version:        {client['GoVersion']}\n"
            f" Git commit:        {client['GitCommit']}\n OS/Arch:           linux/amd64\n"
            " Context:           default"
        )
        if data["Server"]:
            print(
                f"\nServer: Docker Engine - Community\n Engine:\n  Version:          "
                f"{DOCKER_VERSION}\n  API version:      {API_VERSION} (minimum version 1.12)\n"
                "  OS/Arch:          linux/amd64"
            )
    if daemon_down():
        print(DAEMON_DOWN_MESSAGE, file=sys.stderr)
        return 1
    return 0


def image_inspect(references: list[str]) -> int:
    if (down := fail_without_daemon()) is not None:
        return down
    held = images()
    missing = [reference for reference in references if reference not in held]
    found = [{"Id": held[r], "RepoTags": [r.split("@", 1)[0]]} for r in references if r in held]
    print(json.dumps(found, indent=4))
    for reference in missing:
        print(f"Error: No such image: {reference}", file=sys.stderr)
    return 1 if missing else 0


def pull(reference: str) -> int:
    """Without a TTY `docker pull` prints each layer's states as lines of their own."""
    if (down := fail_without_daemon()) is not None:
        return down
    name, _, digest = reference.partition("@")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    print(f"{tag or digest or 'latest'}: Pulling from {repository}", flush=True)
    layers = [hashlib.sha256(f"{reference}{n}".encode()).hexdigest()[:12] for n in range(LAYERS)]
    for layer in layers:
        print(f"{layer}: Pulling fs layer", flush=True)
    pause = float(os.environ.get("SIM_DOCKER_PULL_SECONDS", "0")) / LAYERS
    for layer in layers:
        time.sleep(pause)
        for state in ("Verifying Checksum", "Download complete", "Pull complete"):
            print(f"{layer}: {state}", flush=True)
    add_image(reference)
    print(f"Digest: {digest or 'sha256:' + hashlib.sha256(reference.encode()).hexdigest()}")
    print(f"Status: Downloaded newer image for {reference}")
    print(f"docker.io/{reference}")
    return 0


def port(container: str, private: str) -> int:
    """`docker port <container> 31080/tcp`: the host address of each binding, one a line;
    under another engine's name (SIM_CONTAINER_CLI), that engine's containers only."""
    from tests.sim.doubles.kind import published_ports  # kind's double imports this module

    if (down := fail_without_daemon()) is not None:
        return down
    engine = os.environ.get(CLI_NAME_ENV, "docker")
    ports = published_ports(container, engine)
    if ports is None:
        print(
            f"Error response from daemon: No such container: {container}"
            if engine == "docker"
            else f'time="2026-01-01T00:00:00Z" level=fatal msg="no such container {container}"',
            file=sys.stderr,
        )
        return 1
    key = private if "/" in private else f"{private}/tcp"
    if key not in ports:
        print(f"Error: No public port '{key}' published for {container}", file=sys.stderr)
        return 1
    print(ports[key])
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] in (["-v"], ["--version"]):
        print(f"Docker version {DOCKER_VERSION}, build afdd53b")
        return 0
    commands = [arg for arg in argv if not arg.startswith("-")]
    if not commands:
        print("Usage:  docker [OPTIONS] COMMAND", file=sys.stderr)
        return 0
    if commands[0] == "info":
        return info(argv)
    if commands[0] == "version":
        return version(argv)
    if commands[:2] == ["image", "inspect"] and len(commands) > 2:
        return image_inspect(commands[2:])
    if commands[0] == "pull" and len(commands) == 2:
        return pull(commands[1])
    if commands[0] == "port" and len(commands) == 3:
        return port(commands[1], commands[2])
    print(f"docker: '{commands[0]}' is not a docker command.\nSee 'docker --help'", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
