"""Release binaries: knative/client's kn and kubernetes-sigs/kind's kind, as runnable doubles.

Asset names and checksum files follow upstream:
- knative/client `knative-vX.Y.Z`: `kn-{linux,darwin}-{amd64,arm64}`, `kn-linux-{s390x,ppc64le}`,
  `kn-windows-amd64.exe`, `kn-image-location.yaml` and `checksums.txt`, one `<sha256>  <file>`
  line per artifact (`sha256sum` output, client `hack/release.sh` build_release).
- kubernetes-sigs/kind `vX.Y.Z`: `kind-{linux,darwin,windows}-{amd64,arm64}` and a
  `<binary>.sha256sum` beside each, holding `<sha256>  <binary>` (kind `hack/release/build/cross.sh`).
Every binary of one release is the same script (the doubles run on this host whatever the
platform in the name); bytes depend only on the version, so checksums hold across requests.
Fault `tampered-kn`: the kn binaries served differ from what checksums.txt says.
Fault `kn-not-executable`: the kn binaries are a program for another platform (a Mach-O
header: "exec format error" on Linux) whose checksums.txt lines match what is served, as a
release built for the wrong target would be.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tests.sim.doubles import executable_script
from tests.sim.faults import KN_NOT_EXECUTABLE, TAMPERED_KN

KN_FILES = (
    "kn-linux-amd64",
    "kn-linux-arm64",
    "kn-linux-s390x",
    "kn-linux-ppc64le",
    "kn-darwin-amd64",
    "kn-darwin-arm64",
    "kn-windows-amd64.exe",
)
# client hack/build.sh also publishes where the kn image was pushed (listed in checksums.txt).
KN_IMAGE_LOCATION = "kn-image-location.yaml"
KIND_FILES = (
    "kind-linux-amd64",
    "kind-linux-arm64",
    "kind-darwin-amd64",
    "kind-darwin-arm64",
    "kind-windows-amd64",
    "kind-windows-arm64",
)
SEMVER = r"\d+\.\d+\.\d+"
KN_TAG = re.compile(rf"knative-v({SEMVER})")
KIND_TAG = re.compile(rf"v{SEMVER}")


def kn_binary(version: str, sim: Any) -> bytes:
    if KN_NOT_EXECUTABLE in sim.faults:
        # A 64-bit Mach-O executable's magic and header, then padding: no kernel but
        # Darwin's runs it, and Linux refuses it with ENOEXEC.
        return b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + bytes(4080)
    return executable_script("kn", version, sim.repo_root)


def kn_image_location(version: str) -> bytes:
    """A placeholder of the image reference file (INFERRED content: the pushed kn image)."""
    digest = hashlib.sha256(f"kn-image-{version}".encode()).hexdigest()
    return f"gcr.io/knative-releases/knative.dev/client/cmd/kn@sha256:{digest}\n".encode()


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
    location = kn_image_location(version)
    if filename == "checksums.txt":
        files = {name: binary for name in KN_FILES} | {KN_IMAGE_LOCATION: location}
        return "".join(sha256sum_line(files[name], name) for name in sorted(files)).encode()
    if filename == KN_IMAGE_LOCATION:
        return location
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
