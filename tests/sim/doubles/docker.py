"""A `docker` double answering `docker info` and `docker version`, as the harness' preflight does.

Layout and errors follow docker/cli v24: `cli/command/system/info.go` (prettyPrintInfo: "Client:"
section on stdout, "Server:" then `ERROR: <err>` on stderr and the final
"errors pretty printing info"), `cli/command/system/version.go` (templates, `{{json .}}`), and the
daemon-unreachable text of docker/docker `client/errors.go` (ErrorConnectionFailed).
With SIM_DOCKER_DOWN=1 the daemon is unreachable.
"""

from __future__ import annotations

import json
import os
import re
import sys

DOCKER_VERSION = "24.0.7"
API_VERSION = "1.43"
DAEMON_DOWN_MESSAGE = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)
TEMPLATE_ACTION = re.compile(r"{{\s*(json\s+)?\.([\w.]*)\s*}}")

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
    print(f"docker: '{commands[0]}' is not a docker command.\nSee 'docker --help'", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
