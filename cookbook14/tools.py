"""The command-line tools the harness runs: docker (only `docker info`), kind and kn.

Docker is the only thing a user installs. kind is taken from --kind-bin, else from PATH when
it is new enough, else downloaded; kn is always downloaded for the release under test. Every
download is verified against the release's published checksums. Subprocesses get argument
lists, never shell strings, and their output goes to the run's log.
"""

from __future__ import annotations

import logging
import platform
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from cookbook14.assets import cached_binary
from cookbook14.catalog import Catalog, Version
from cookbook14.errors import ToolError

log = logging.getLogger(__name__)


def host_platform() -> tuple[str, str]:
    """(os, arch) as release asset names spell them: linux|darwin|windows, amd64|arm64."""
    system = platform.system().lower()
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if system not in ("linux", "darwin", "windows") or arch is None:
        raise ToolError(
            f"this machine is {platform.system()}/{platform.machine()}; kind and kn are released "
            "for linux, darwin and windows on amd64 or arm64"
        )
    return system, arch


def run(
    argv: Sequence[str | Path], timeout: float = 900, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a tool; its output goes to the log. A failure quotes the tool's own last lines."""
    command = [str(part) for part in argv]
    log.info("running %s", " ".join(command))
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise ToolError(f"{command[0]} was not found") from None
    except OSError as error:
        # ENOEXEC ("Exec format error"): a program built for another OS or architecture.
        raise ToolError(
            f"{command[0]} cannot be run on this machine ({platform.system()}/"
            f"{platform.machine()}): {error.strerror or error}"
        ) from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"`{' '.join(command)}` did not finish within {timeout:.0f}s") from None
    for stream in (result.stdout, result.stderr):
        for line in stream.splitlines():
            log.info("  %s", line)
    if check and result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise ToolError(f"`{' '.join(command)}` failed (exit {result.returncode}):\n{tail}")
    return result


def check_docker() -> None:
    """kind needs a running Docker engine; say so in one line when it is not there."""
    docker = shutil.which("docker")
    if docker is None:
        raise ToolError(
            "Docker is needed for --cluster kind, but `docker` is not on PATH; install and "
            "start Docker, or use --cluster existing"
        )
    result = run([docker, "info"], timeout=60, check=False)
    if result.returncode != 0:
        # Docker 20-23 prefix the daemon error with "ERROR: ", newer clients do not.
        reason = next(
            (
                line.strip().removeprefix("ERROR: ")
                for line in result.stderr.splitlines()
                if line.strip()
            ),
            f"exit {result.returncode}",
        )
        raise ToolError(
            f"Docker is not running (`docker info`: {reason}); start Docker, or use "
            "--cluster existing"
        )


def kind_version(kind: Path) -> Version:
    output = run([kind, "version"], timeout=60).stdout
    match = re.search(r"v(\d+\.\d+\.\d+)", output)
    if not match:
        raise ToolError(f"`{kind} version` printed no version: {output.strip()!r}")
    return Version.parse(match[1])


def resolve_kind(
    kind_bin: Path | None, needed: Version, catalog: Catalog, mirror: str | None, cache: Path
) -> Path:
    """The kind to use: --kind-bin (must be new enough), PATH's if new enough, else download."""
    if kind_bin is not None:
        if not kind_bin.is_file():
            raise ToolError(f"--kind-bin {kind_bin}: no such file")
        found = kind_version(kind_bin)
        if found < needed:
            raise ToolError(
                f"--kind-bin {kind_bin} is kind {found}, but the node image of this Knative "
                f"version needs kind >= {needed}; give a newer kind or leave out --kind-bin "
                "to download it"
            )
        return kind_bin
    on_path = shutil.which("kind")
    if on_path and kind_version(Path(on_path)) >= needed:
        return Path(on_path)
    os_name, arch = _released_for("kind", catalog)
    names = catalog.assets["kind"]
    binary = names["binary"].format(os=os_name, arch=arch)
    checksum = names["checksum"].format(os=os_name, arch=arch)
    return cached_binary(
        catalog.url("kind", needed, binary, mirror),
        catalog.url("kind", needed, checksum, mirror),
        cache / "kind" / str(needed),
    )


def install_kn(version: Version, catalog: Catalog, mirror: str | None, cache: Path) -> Path:
    """kn of the release under test, verified against the release's checksums.txt."""
    os_name, arch = _released_for("kn", catalog)
    names = catalog.assets["kn"]
    binary = names["binary"].format(
        os=os_name, arch=arch, ext=".exe" if os_name == "windows" else ""
    )
    return cached_binary(
        catalog.url("kn", version, binary, mirror),
        catalog.url("kn", version, names["checksums"], mirror),
        cache / "kn" / str(version),
    )


def run_kn(
    kn: Path,
    args: Sequence[str],
    kubeconfig: Path | None,
    context: str | None,
    timeout: float = 900,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """kn against the cluster under test: its kubeconfig and context are always given
    explicitly, so kn never falls back to the user's default cluster."""
    command: list[str | Path] = [kn, *args]
    if kubeconfig is not None:
        command += ["--kubeconfig", kubeconfig]
    if context:
        command += ["--context", context]
    return run(command, timeout=timeout, check=check)


def _released_for(tool: str, catalog: Catalog) -> tuple[str, str]:
    """This host's (os, arch), if the tool is released for it."""
    os_name, arch = host_platform()
    platforms = catalog.assets[tool]["platforms"]
    if f"{os_name}-{arch}" not in platforms:
        raise ToolError(
            f"{tool} is not released for {os_name}-{arch}; released for: {', '.join(platforms)}"
        )
    return os_name, arch
