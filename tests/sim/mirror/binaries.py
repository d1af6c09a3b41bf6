"""Release binaries: knative/client's kn and kubernetes-sigs/kind's kind, as runnable doubles.

Asset names and checksum files follow upstream:
- knative/client `knative-vX.Y.Z`: `kn-{linux,darwin}-{amd64,arm64}`, `kn-windows-amd64.exe` and
  `checksums.txt`, one `<sha256>  <file>` line per binary (`sha256sum` output, written by
  knative/hack `library.sh`/`release.sh` for ARTIFACTS_TO_PUBLISH).
- kubernetes-sigs/kind `vX.Y.Z`: `kind-{linux,darwin}-{amd64,arm64}`, `kind-windows-amd64` and a
  `<binary>.sha256sum` beside each, holding `<sha256>  <binary>` (kind `hack/release/build/cross.sh`).
Every binary of one release is the same script (the doubles run on this host whatever the
platform in the name); bytes depend only on the version, so checksums hold across requests.
Fault `tampered-kn`: the kn binaries served differ from what checksums.txt says.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tests.sim.doubles import executable_script
from tests.sim.faults import TAMPERED_KN

KN_FILES = (
    "kn-linux-amd64",
    "kn-linux-arm64",
    "kn-darwin-amd64",
    "kn-darwin-arm64",
    "kn-windows-amd64.exe",
)
KIND_FILES = (
    "kind-linux-amd64",
    "kind-linux-arm64",
    "kind-darwin-amd64",
    "kind-darwin-arm64",
    "kind-windows-amd64",
)
SEMVER = r"\d+\.\d+\.\d+"
KN_TAG = re.compile(rf"knative-v({SEMVER})")
KIND_TAG = re.compile(rf"v{SEMVER}")


def kn_binary(version: str, sim: Any) -> bytes:
    return executable_script("kn", version, sim.repo_root)


def kind_binary(version: str, sim: Any) -> bytes:
    return executable_script("kind", version, sim.repo_root)


def sha256sum_line(content: bytes, filename: str) -> str:
    return f"{hashlib.sha256(content).hexdigest()}  {filename}\n"


def kn_asset(tag: str, filename: str, sim: Any) -> bytes | None:
    match = KN_TAG.fullmatch(tag)
    if not match:
        return None
    version = f"v{match.group(1)}"
    binary = kn_binary(version, sim)
    if filename == "checksums.txt":
        return "".join(sha256sum_line(binary, name) for name in sorted(KN_FILES)).encode()
    if filename in KN_FILES:
        if TAMPERED_KN in sim.faults:
            return binary + b"# tampered in transit\n"
        return binary
    return None


def kind_asset(tag: str, filename: str, sim: Any) -> bytes | None:
    if not KIND_TAG.fullmatch(tag):
        return None
    binary = kind_binary(tag, sim)
    if filename in KIND_FILES:
        return binary
    stem = filename.removesuffix(".sha256sum")
    if filename.endswith(".sha256sum") and stem in KIND_FILES:
        return sha256sum_line(binary, stem).encode()
    return None


def asset(org: str, repo: str, tag: str, filename: str, sim: Any) -> bytes | None:
    if (org, repo) == ("knative", "client"):
        return kn_asset(tag, filename, sim)
    if (org, repo) == ("kubernetes-sigs", "kind"):
        return kind_asset(tag, filename, sim)
    return None
