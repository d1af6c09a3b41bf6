"""The run's options as one validated value, independent of pytest."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from cookbook14.errors import UsageError

CLUSTER_PROVIDERS = ("kind", "existing")
INSTALL_METHODS = ("operator", "yaml")
# kind's own rule (pkg/internal/apis/config/validate.go, validNameRE): the name becomes part of
# container and network names.
KIND_NAME = re.compile(r"[a-z0-9.-]+")
# kind only warns above 50 (pkg/cluster/internal/create/create.go, clusterNameMax): the node
# container `<name>-control-plane` is its hostname, and Linux caps hostnames at 64 characters.
KIND_NAME_MAX = 50
# The first bytes of something exec can run: ELF, a script, Mach-O (both byte orders, fat), PE.
PROGRAM_MAGIC = (
    b"\x7fELF",
    b"#!",
    b"\xcf\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xca\xfe\xba\xbe",
    b"MZ",
)


@dataclass(frozen=True)
class Options:
    knative_version: str = "book"
    cluster: str = "kind"
    # None: not given (a kind run then names its cluster after the Knative minor).
    cluster_name: str | None = None
    keep_cluster: bool = False
    kubeconfig: Path | None = None
    context: str | None = None
    kind_image: str | None = None
    kind_bin: Path | None = None
    release_mirror: str | None = None
    ingress_endpoint: tuple[str, int] | None = None
    reports_dir: Path = Path("reports")
    timeout_scale: float = 1.0
    # 14.2 and 14.5: through the Knative Operator (the book's way) or the release YAML files.
    install_method: str = "operator"
    # 14.4: the revision's autoscaling window at its minimum, so scale to zero comes sooner.
    fast: bool = False
    cold_starts: int = 1
    # 14.2 on an existing cluster: the domain to configure instead of the default-domain Job.
    domain: str | None = None
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())

    def __post_init__(self) -> None:
        if self.cluster not in CLUSTER_PROVIDERS:
            raise UsageError(
                f"--cluster {self.cluster!r} is not a provider; accepted: kind, existing"
            )
        self._check_cluster_mode()
        if self.cluster_name is not None:
            check_cluster_name(self.cluster_name)
        if self.kind_bin is not None:
            check_kind_bin(self.kind_bin)
        if self.cluster == "existing" and self.kubeconfig is not None:
            check_kubeconfig(self.kubeconfig)
        if not self.timeout_scale > 0:
            raise UsageError(
                f"--timeout-scale {self.timeout_scale!r} must be greater than 0; accepted: a "
                "factor greater than 0 (2 doubles every deadline, 0.5 halves them)"
            )
        if self.install_method not in INSTALL_METHODS:
            raise UsageError(
                f"--install-method {self.install_method!r} is not a method; accepted: "
                "operator (the book's way, default) or yaml (the release YAML files)"
            )
        if self.cold_starts < 1:
            raise UsageError(
                f"--cold-starts {self.cold_starts!r} must be at least 1; accepted: a whole "
                "number of 1 or more"
            )
        if self.domain is not None and not re.fullmatch(
            r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*",
            self.domain,
        ):
            raise UsageError(
                f"--domain {self.domain!r} is not a DNS domain; accepted: lower-case labels "
                "separated by dots, e.g. 203.0.113.10.sslip.io"
            )
        if self.release_mirror is not None:
            parsed = urlparse(self.release_mirror)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise UsageError(
                    f"--release-mirror {self.release_mirror!r} is not an http(s) URL; "
                    "accepted: a URL like https://mirror.example/github with GitHub's "
                    "/<org>/<repo>/releases/download/<tag>/<file> layout below it"
                )

    def _check_cluster_mode(self) -> None:
        """An option of the other cluster mode is refused: silently ignoring it would run
        something else than what was asked."""
        if self.cluster == "existing":
            kind_only = {
                "--cluster-name": self.cluster_name is not None,
                "--keep-cluster": self.keep_cluster,
                "--kind-image": self.kind_image is not None,
                "--kind-bin": self.kind_bin is not None,
            }
            for option, given in kind_only.items():
                if given:
                    raise UsageError(
                        f"{option} applies to --cluster kind only; with --cluster existing the "
                        "harness uses --kubeconfig/--context and never creates or deletes a cluster"
                    )
        elif self.context is not None:
            raise UsageError(
                f"--context {self.context} applies to --cluster existing only; with --cluster kind "
                "the context is kind-<cluster name> (choose the cluster with --cluster-name)"
            )

    @property
    def mirror(self) -> str | None:
        return self.release_mirror.rstrip("/") if self.release_mirror else None


def check_cluster_name(name: str) -> None:
    """--cluster-name as kind validates it, so that kind never gets a name it refuses."""
    if not KIND_NAME.fullmatch(name):
        raise UsageError(
            f"--cluster-name {name!r} is not a kind cluster name; accepted: lower-case letters, "
            "digits, '.' and '-' (kind's ^[a-z0-9.-]+$), e.g. cookbook14-1-11"
        )
    if len(name) > KIND_NAME_MAX:
        raise UsageError(
            f"--cluster-name {name!r} has {len(name)} characters; accepted: at most "
            f"{KIND_NAME_MAX} (the node's hostname {name}-control-plane would pass Linux's 64)"
        )


def check_kind_bin(path: Path) -> None:
    """--kind-bin must be a program this user can run; what it is (its version) is asked later."""
    accepted = "accepted: the path of a kind binary (https://kind.sigs.k8s.io), or leave out --kind-bin to download it"
    if not path.exists():
        raise UsageError(f"--kind-bin {path}: no such file; {accepted}")
    if not path.is_file():
        raise UsageError(f"--kind-bin {path} is not a file; {accepted}")
    if not os.access(path, os.X_OK):
        raise UsageError(f"--kind-bin {path} is not executable (chmod +x it); {accepted}")
    try:
        with path.open("rb") as program:
            head = program.read(4)
    except OSError as error:
        raise UsageError(
            f"--kind-bin {path} cannot be read ({error.strerror}); {accepted}"
        ) from None
    if not head:
        raise UsageError(f"--kind-bin {path} is an empty file; {accepted}")
    if not head.startswith(PROGRAM_MAGIC):
        raise UsageError(
            f"--kind-bin {path} is not a program (neither a binary nor a #! script); {accepted}"
        )


def check_kubeconfig(path: Path) -> None:
    """With --cluster existing the kubeconfig is read, so it must be there (kind writes its own)."""
    if not path.exists():
        raise UsageError(
            f"cannot use --kubeconfig {path}: no such file; accepted: the kubeconfig of the "
            "cluster to test (e.g. ~/.kube/config)"
        )
    if not path.is_file():
        raise UsageError(
            f"cannot use --kubeconfig {path}: not a file; accepted: the kubeconfig of the "
            "cluster to test (e.g. ~/.kube/config)"
        )


def parse_endpoint(value: str | None) -> tuple[str, int] | None:
    """Parse --ingress-endpoint HOST:PORT, or a URL http://HOST[:PORT] (port 80 by default)."""
    if value is None:
        return None
    accepted = "accepted: HOST:PORT or http://HOST:PORT, e.g. 127.0.0.1:8080"
    text = value.strip()
    if "://" in text:
        parsed = urlparse(text)
        try:
            port = parsed.port or 80
        except ValueError:
            port = 0
        if parsed.scheme != "http":
            raise UsageError(
                f"--ingress-endpoint {value!r}: Kourier's HTTP port is plain http, not "
                f"{parsed.scheme or 'no scheme'}; {accepted}"
            )
        if not parsed.hostname or parsed.path not in ("", "/") or parsed.query or port == 0:
            raise UsageError(f"--ingress-endpoint {value!r} is not an endpoint; {accepted}")
        return parsed.hostname, port
    match = re.fullmatch(r"\[?([^\[\]/\s]+?)\]?:(\d{1,5})", text)
    if not match or not 0 < int(match[2]) < 65536:
        raise UsageError(f"--ingress-endpoint {value!r} is not HOST:PORT; {accepted}")
    return match[1], int(match[2])


def endpoint_url(endpoint: tuple[str, int], path: str = "/", scheme: str = "http") -> str:
    """The URL of a HOST:PORT endpoint; an IPv6 address in brackets, as URLs write it."""
    host, port = endpoint
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}{path}"


def parse_timeout_scale(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UsageError(
            f"--timeout-scale {value!r} is not a number; accepted: a factor greater than 0"
        ) from None


def parse_cold_starts(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"--cold-starts {value!r} is not a whole number; accepted: 1 or more"
        ) from None


def default_cache_dir() -> Path:
    """Downloaded tools live in $XDG_CACHE_HOME/cookbook14 (~/.cache/cookbook14)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cookbook14"
