"""Release assets: download once into a cache, verify, reuse.

The one way the harness fetches anything from a release (GitHub or a mirror with its layout):
manifests are read as text; binaries are saved in the cache only after their sha256 matches
the release's published checksum, and a cached copy is re-verified before it is reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from cookbook14.errors import AssetError
from cookbook14.loopback import direct_if_loopback
from cookbook14.timestamps import utc_iso

log = logging.getLogger(__name__)
TIMEOUT = (10, 120)


def fetch_text(url: str) -> str:
    content = _get(url).content
    sha256 = PROVENANCE.add(url, content)
    log.info("fetched %s (%d bytes, sha256 %s)", url, len(content), sha256)
    # Release assets come as application/octet-stream; manifests are UTF-8.
    return content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Fetched:
    """A release asset this run read, as summary.json lists it."""

    url: str
    sha256: str
    size: int


class Provenance:
    """Every release asset read in this process (URL and sha256), compared with what earlier
    runs read under the same URL: an asset that changed under the same tag is drift, said as a
    warning. What was first seen per URL is kept in <cache>/provenance.json once
    `remember_in` names the cache (library use without it remembers nothing)."""

    def __init__(self) -> None:
        self.fetched: list[Fetched] = []
        self.warnings: list[str] = []
        self.record: Path | None = None

    def remember_in(self, cache_dir: Path) -> None:
        self.record = cache_dir / "provenance.json"

    def add(self, url: str, content: bytes) -> str:
        """Note a download; its sha256."""
        sha256 = hashlib.sha256(content).hexdigest()
        self.note(url, sha256, len(content))
        return sha256

    def note(self, url: str, sha256: str, size: int) -> None:
        """Note an asset this run used by its sha256: a binary, hashed from its file whether
        downloaded now or verified in the cache."""
        fetched = Fetched(url, sha256, size)
        if fetched not in self.fetched:
            self.fetched.append(fetched)
        if self.record is not None:
            self._compare(url, sha256)

    def _compare(self, url: str, sha256: str) -> None:
        seen = self._first_seen()
        first = seen.get(url)
        if first is None:
            seen[url] = {"sha256": sha256, "first_seen": utc_iso()}
            self._save(seen)
        elif first["sha256"] != sha256:
            warning = (
                f"upstream asset {url} changed since {first['first_seen']}: "
                f"{first['sha256']} -> {sha256}"
            )
            if warning not in self.warnings:
                self.warnings.append(warning)
                log.warning(warning)

    def _first_seen(self) -> dict[str, dict[str, str]]:
        try:
            seen = json.loads(self.record.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("ignoring unreadable %s: %s", self.record, error)
            return {}
        return seen if isinstance(seen, dict) else {}

    def _save(self, seen: dict[str, dict[str, str]]) -> None:
        """Replaced whole (never half written), as two runs may share the cache."""
        self.record.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix="provenance.", suffix=".part", dir=self.record.parent
        )
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(seen, stream, indent=2, sort_keys=True)
            os.replace(name, self.record)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise


# What this process downloaded: the run's report lists it (one harness run is one process).
PROVENANCE = Provenance()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_checksum(checksums_url: str, file: str) -> str:
    """The sha256 a checksum file (`<hex>  <file>` per line) publishes for `file`."""
    for line in fetch_text(checksums_url).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == file:
            return parts[0].lower()
    raise AssetError(f"{checksums_url} lists no checksum for {file}")


def cached_binary(url: str, checksums_url: str, cache: Path) -> Path:
    """An executable downloaded from `url` whose sha256 matches `checksums_url`.

    A copy verified earlier is reused without the network (its sha256 is recorded beside it
    and checked again), so air-gapped reruns work once the cache is filled. Copies are kept
    per source (`cache/<host>-<hash of the URL's folder>/`): one fetched through a
    --release-mirror is never taken as verified against github.com's checksums.
    """
    folder, file = url.rsplit("/", 1)
    host = folder.split("://", 1)[-1].split("/", 1)[0].replace(":", "_")
    cache = cache / f"{host}-{hashlib.sha256(folder.encode()).hexdigest()[:12]}"
    target = cache / file
    record = cache / f"{file}.sha256"
    if target.exists() and record.exists():
        verified = record.read_text().strip()
        if sha256_of(target) == verified:
            log.info("reusing verified %s", target)
            PROVENANCE.note(url, verified, target.stat().st_size)
            return target
    expected = expected_checksum(checksums_url, file)
    cache.mkdir(parents=True, exist_ok=True)
    # A name of its own, so that two runs filling the same cache do not write one file.
    handle, name = tempfile.mkstemp(prefix=f"{file}.", suffix=".part", dir=cache)
    os.close(handle)
    partial = Path(name)
    try:
        with _get(url, stream=True) as response, partial.open("wb") as stream:
            for chunk in response.iter_content(1 << 20):
                stream.write(chunk)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, requests.RequestException):
            raise AssetError(f"download of {url} broke off: {_first_line(error)}") from None
        raise
    actual = sha256_of(partial)
    if actual != expected:
        partial.unlink()
        raise AssetError(
            f"checksum mismatch for {url}: sha256 {actual}, but {checksums_url} says "
            f"{expected}; the download was discarded (a corrupted or tampered release asset)"
        )
    partial.chmod(0o755)
    PROVENANCE.note(url, actual, partial.stat().st_size)
    os.replace(partial, target)
    record.write_text(actual + "\n")
    log.info("downloaded %s to %s (sha256 %s verified)", url, target, actual)
    return target


def _get(url: str, stream: bool = False) -> requests.Response:
    try:
        # A loopback --release-mirror is reached directly, as Go's tools would.
        response = requests.get(
            url, timeout=TIMEOUT, stream=stream, proxies=direct_if_loopback(url)
        )
    except requests.exceptions.SSLError as error:
        raise AssetError(
            f"cannot download {url}: SSLError: {_first_line(error)}; behind a proxy that "
            "inspects TLS, give its CA bundle with REQUESTS_CA_BUNDLE=/path/to/ca.pem (or the "
            "system's, e.g. /etc/ssl/certs/ca-certificates.crt)"
        ) from None
    except requests.exceptions.ProxyError as error:
        raise AssetError(
            f"cannot download {url}: ProxyError: {_first_line(error)}; check the proxy the "
            "environment names (HTTPS_PROXY, HTTP_PROXY; NO_PROXY for hosts to reach directly)"
        ) from None
    except requests.RequestException as error:
        raise AssetError(
            f"cannot download {url}: {type(error).__name__}: {_first_line(error)}; check the "
            "network or --release-mirror"
        ) from None
    if response.status_code != 200:
        response.close()
        raise AssetError(
            f"cannot download {url}: HTTP {response.status_code}; check the version and "
            "--release-mirror"
        )
    return response


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
