"""The command-line tools the harness runs: the container engine's CLI (docker, or what
KIND_EXPERIMENTAL_PROVIDER names: `info`, `image inspect`, `pull`, `port`), kind and kn.

A container engine is the only thing a user installs. kind is taken from --kind-bin, else from PATH when
it is new enough, else downloaded; kn is always downloaded for the release under test. Every
download is verified against the release's published checksums. Subprocesses get argument
lists, never shell strings, and their output goes to the run's log.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext, suppress
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
    argv: Sequence[str | Path],
    timeout: float = 900,
    check: bool = True,
    finish_on_interrupt: bool = False,
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess:
    """Run a tool; its output goes to the log. A failure quotes the tool's own last lines.

    The tool runs in a session of its own, so a Ctrl-C at the terminal (sent to the whole
    foreground process group) reaches the harness only, which decides: the tool is stopped,
    unless `finish_on_interrupt` (a cluster deletion, which half done leaves the cluster
    behind): then it is waited for, and the interrupt raised once it has ended. With
    `on_line`, each line of the tool's output (stderr merged into stdout) is handed to it as
    it comes, for progress during a long run."""
    command = [str(part) for part in argv]
    log.info("running %s", " ".join(command))
    interruptions: list[BaseException] = []
    with _interrupts_deferred(command, interruptions) if finish_on_interrupt else nullcontext():
        result, reader = _run_started(command, timeout, finish_on_interrupt, on_line)
    if reader is None:
        for stream in (result.stdout, result.stderr):
            for line in stream.splitlines():
                log.info("  %s", line)
    if check and result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise ToolError(f"`{' '.join(command)}` failed (exit {result.returncode}):\n{tail}")
    if interruptions:
        raise interruptions[0]
    return result


def _run_started(
    command: list[str],
    timeout: float,
    finish_on_interrupt: bool,
    on_line: Callable[[str], None] | None,
) -> tuple[subprocess.CompletedProcess, _LinesAsTheyCome | None]:
    deadline = time.monotonic() + timeout
    # Held from before the tool starts until inside the `try` that stops it: a Ctrl-C in
    # between would leave a started tool that nobody waits for or stops (a `kind create`
    # finishing after the cleanup).
    hold = ExitStack()
    held = hold.enter_context(_signals_held())
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if on_line else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as error:
        hold.close()
        _raise_held(held)
        if isinstance(error, FileNotFoundError):
            raise ToolError(f"{command[0]} was not found") from None
        # ENOEXEC ("Exec format error"): a program built for another OS or architecture.
        raise ToolError(
            f"{command[0]} cannot be run on this machine ({platform.system()}/"
            f"{platform.machine()}): {error.strerror or error}"
        ) from None
    except BaseException:
        hold.close()
        raise
    reader = None
    try:
        hold.close()
        if finish_on_interrupt:
            log.info("pid %d: a Ctrl-C from now on waits for it to finish", process.pid)
        reader = _LinesAsTheyCome(process, on_line) if on_line else None
        _raise_held(held)
        remaining = max(0.0, deadline - time.monotonic())
        if reader:
            stdout, stderr = reader.all_once_ended(remaining), ""
        else:
            stdout, stderr = process.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        _end_session(process, drain=reader is None)
        raise ToolError(f"`{' '.join(command)}` did not finish within {timeout:.0f}s") from None
    except BaseException:  # KeyboardInterrupt: Ctrl-C, or a TERM (see the plugin)
        _end_session(process, drain=reader is None)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), reader


@contextmanager
def _interrupts_deferred(command: list[str], interruptions: list[BaseException]) -> Iterator[None]:
    """SIGINT and SIGTERM handled as usual (the plugin notes them), but what the handler raises
    is kept in `interruptions` instead of cutting the tool's wait short: from before the tool
    starts to after it has ended, so no moment is left where a Ctrl-C escapes the wait. A
    signal without a Python handler is raised again once the tool has ended."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    received: list[int] = []

    def deferred(signum: int, frame: object) -> None:
        handler = handlers[signum]
        if handler == signal.SIG_IGN:
            return
        received.append(signum)
        if len(received) == 1:
            log.warning("interrupted: letting `%s` finish first", " ".join(command))
        if callable(handler):
            try:
                handler(signum, frame)
            except BaseException as error:  # noqa: BLE001 - kept, raised once the tool has ended
                interruptions.append(error)

    for signum in handlers:
        signal.signal(signum, deferred)
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    for signum in received:
        if not callable(handlers[signum]):
            signal.raise_signal(signum)


@contextmanager
def _signals_held() -> Iterator[list[int]]:
    """SIGINT and SIGTERM noted instead of handled (main thread only, where Python handles
    signals); the caller raises them again once it can act on them."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in handlers:
        signal.signal(signum, lambda signum, frame: held.append(signum))
    try:
        yield held
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


def _raise_held(held: list[int]) -> None:
    """The signals held while a tool started, handled now (a Ctrl-C raises here)."""
    while held:
        signal.raise_signal(held.pop(0))


class _LinesAsTheyCome:
    """A tool's output read in a thread, each line logged and handed to `on_line` as it comes."""

    def __init__(self, process: subprocess.Popen, on_line: Callable[[str], None]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._thread = threading.Thread(
            target=self._read, args=(on_line,), name=f"output of pid {process.pid}", daemon=True
        )
        self._thread.start()

    def _read(self, on_line: Callable[[str], None]) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            log.info("  %s", self.lines[-1])
            on_line(self.lines[-1])

    def all_once_ended(self, timeout: float) -> str:
        """The whole output once the tool has ended (TimeoutExpired if it has not in time).
        A child it left running may hold the pipe open: the rest is not waited for long."""
        self.process.wait(timeout=timeout)
        self._thread.join(timeout=10)
        return "\n".join(self.lines)


def _end_session(process: subprocess.Popen, drain: bool = True) -> None:
    """Stop a tool and whatever it started (its session): TERM, then KILL after 5 s. Its
    output is read meanwhile (`drain`) unless a reader thread does that already."""
    for signum, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            if drain:
                process.communicate(timeout=grace)
            else:
                process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


# KIND_EXPERIMENTAL_PROVIDER -> the container runtime kind then drives (kind
# pkg/internal/runtime/runtime.go). Any other value kind ignores, with a warning, and uses Docker.
RUNTIMES = {
    "docker": "docker",
    "podman": "podman",
    "nerdctl": "nerdctl",
    "finch": "finch",
    "nerdctl.lima": "nerdctl.lima",
}
# The engines of kind's nerdctl provider, which kind has since v0.23.0: an older kind ignores
# these values ("ignoring unknown value") and makes the cluster with Docker, or finds no engine.
NERDCTL_ENGINES = ("nerdctl", "finch", "nerdctl.lima")
KIND_FOR_NERDCTL = Version(0, 23, 0)
NEEDED_BY_NODE_IMAGE = "the node image of this Knative version"


def container_runtime() -> str:
    """The container CLI kind uses on this machine: Docker unless KIND_EXPERIMENTAL_PROVIDER
    names another one."""
    return RUNTIMES.get(os.environ.get("KIND_EXPERIMENTAL_PROVIDER", ""), "docker")


def check_docker() -> Path:
    """The running container engine kind needs (Docker, or the one KIND_EXPERIMENTAL_PROVIDER
    names), or one line saying what is missing."""
    name = container_runtime()
    chosen = (
        f" (KIND_EXPERIMENTAL_PROVIDER={os.environ['KIND_EXPERIMENTAL_PROVIDER']})"
        if name != "docker"
        else ""
    )
    found = shutil.which(name)
    if found is None:
        raise ToolError(
            f"{name.capitalize()} is needed for --cluster kind{chosen}, but `{name}` is not on "
            f"PATH; install and start {name.capitalize()}, or use --cluster existing"
        )
    result = run([found, "info"], timeout=60, check=False)
    if result.returncode != 0:
        raise ToolError(
            f"{name.capitalize()} is not running (`{name} info`: "
            f"{daemon_error(result.stderr) or f'exit {result.returncode}'}); start "
            f"{name.capitalize()}, or use --cluster existing"
        )
    return Path(found)


def daemon_error(stderr: str) -> str:
    """The engine's own error in `docker info`'s stderr. The client's warnings (a broken CLI
    plugin, docker/cli prettyPrintClientInfo) come first, and "errors pretty printing info"
    last; Docker 20-23 prefix the daemon error with "ERROR: ", newer clients do not."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    others = [
        line
        for line in lines
        if not line.startswith("WARNING:") and line != "errors pretty printing info"
    ]
    return (errors or others or [""])[0]


def pull_node_image(
    runtime: Path, image: str, timeout: float, progress: Callable[[str], None]
) -> None:
    """Pull kind's node image as a step of its own, so that the first run's download (about
    1 GB unpacked) has its own deadline and progress instead of hiding inside `kind create`."""
    image = pulled_as(image)
    if run([runtime, "image", "inspect", image], timeout=60, check=False).returncode == 0:
        progress(f"node image {image} is already on this machine")
        return
    progress(
        f"pulling node image {image} (about 1 GB unpacked, once per machine); up to {timeout:.0f}s"
    )
    layers: list[str] = []
    done: list[str] = []

    def on_line(line: str) -> None:
        # docker/podman without a TTY: "<layer>: Pulling fs layer" ... "<layer>: Pull complete".
        layer, _, state = line.partition(": ")
        if state == "Pulling fs layer":
            layers.append(layer)
        elif state == "Pull complete":
            done.append(layer)
            progress(f"pulling node image {image}: {len(done)} of {len(layers)} layers done")

    run([runtime, "pull", image], timeout, on_line=on_line)
    progress(f"pulled node image {image}")


def pulled_as(image: str) -> str:
    """The name kind pulls the node image by, so that kind finds what the harness pulled:
    as given for docker and nerdctl; for podman, which refuses short names without a TTY,
    kind's podman/images.go sanitizeImage (docker.io/ added, the tag dropped before a digest)."""
    if container_runtime() != "podman":
        return image
    name, digest_given, digest = image.partition("@sha256:")
    remainder = f"{name.split(':')[0]}@sha256:{digest}" if digest_given else name
    if "/" not in remainder:
        remainder = f"library/{remainder}"
    domain, slash, _ = name.partition("/")
    if not slash or (not any(mark in domain for mark in ".:") and domain != "localhost"):
        return f"docker.io/{remainder}"
    return remainder


def published_port(runtime: Path, container: str, container_port: int) -> int:
    """The host port the container runtime bound for a container's TCP port (`docker port`
    prints `127.0.0.1:41234`, one line per address)."""
    output = run([runtime, "port", container, f"{container_port}/tcp"], timeout=60).stdout
    match = re.search(r":(\d+)\s*$", output.strip().splitlines()[0] if output.strip() else "")
    if not match:
        raise ToolError(
            f"`{runtime.name} port {container} {container_port}/tcp` printed no host port: "
            f"{output.strip()!r}"
        )
    return int(match[1])


def kind_version(kind: Path) -> Version:
    output = run([kind, "version"], timeout=60).stdout
    match = re.search(r"v(\d+\.\d+\.\d+)", output)
    if not match:
        raise ToolError(f"`{kind} version` printed no version: {output.strip()!r}")
    return Version.parse(match[1])


def kind_needed_for(engine: str, node_kind: Version) -> tuple[Version, str]:
    """The oldest kind this run can use, and what needs it: the node image's kind, or for
    kind's nerdctl provider v0.23.0 if that is newer."""
    if engine in NERDCTL_ENGINES and node_kind < KIND_FOR_NERDCTL:
        return KIND_FOR_NERDCTL, f"KIND_EXPERIMENTAL_PROVIDER={engine} (kind's nerdctl provider)"
    return node_kind, NEEDED_BY_NODE_IMAGE


def resolve_kind(
    kind_bin: Path | None,
    needed: Version,
    catalog: Catalog,
    mirror: str | None,
    cache: Path,
    warn: Callable[[str], None] = log.warning,
    needed_by: str = NEEDED_BY_NODE_IMAGE,
) -> Path:
    """The kind to use: --kind-bin (must be new enough), PATH's if new enough, else download.
    A kind on PATH that cannot tell its version (an asdf or mise shim with no version chosen)
    is passed over with a warning."""
    if kind_bin is not None:
        if not kind_bin.is_file():
            raise ToolError(f"--kind-bin {kind_bin}: no such file")
        found = kind_version(kind_bin)
        if found < needed:
            raise ToolError(
                f"--kind-bin {kind_bin} is kind {found}, but {needed_by} needs kind >= "
                f"{needed}; give a newer kind or leave out --kind-bin to download it"
            )
        return kind_bin
    on_path = shutil.which("kind")
    if on_path:
        try:
            if kind_version(Path(on_path)) >= needed:
                return Path(on_path)
        except ToolError as error:
            warn(
                f"the kind on PATH ({on_path}) does not work ({_one_line(str(error))}); "
                f"using a verified download of kind {needed} instead"
            )
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


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
