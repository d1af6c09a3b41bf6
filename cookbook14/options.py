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


@dataclass(frozen=True)
class Options:
    knative_version: str = "book"
    cluster: str = "kind"
    cluster_name: str = "cookbook14"
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
        if not self.timeout_scale > 0:
            raise UsageError(
                f"--timeout-scale {self.timeout_scale!r} must be a number greater than 0 "
                "(2 doubles every deadline, 0.5 halves them)"
            )
        if self.install_method not in INSTALL_METHODS:
            raise UsageError(
                f"--install-method {self.install_method!r} is not a method; accepted: "
                "operator (the book's way, default) or yaml (the release YAML files)"
            )
        if self.cold_starts < 1:
            raise UsageError(
                f"--cold-starts {self.cold_starts!r} must be a whole number of at least 1"
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

    @property
    def mirror(self) -> str | None:
        return self.release_mirror.rstrip("/") if self.release_mirror else None


def parse_endpoint(value: str | None) -> tuple[str, int] | None:
    """Parse --ingress-endpoint HOST:PORT."""
    if value is None:
        return None
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d{1,5})", value.strip())
    if not match or not 0 < int(match[2]) < 65536:
        raise UsageError(
            f"--ingress-endpoint {value!r} is not HOST:PORT; accepted: e.g. 127.0.0.1:8080"
        )
    return match[1], int(match[2])


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
