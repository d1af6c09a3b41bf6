"""Release assets: download once into a cache, verify, reuse.

The one way the harness fetches anything from a release (GitHub or a mirror with its layout):
manifests are read as text; binaries are saved in the cache only after their sha256 matches
the release's published checksum, and a cached copy is re-verified before it is reused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import requests

from cookbook14.errors import AssetError

log = logging.getLogger(__name__)
TIMEOUT = (10, 120)


def fetch_text(url: str) -> str:
    # Release assets come as application/octet-stream; manifests are UTF-8.
    text = _get(url).content.decode("utf-8", errors="replace")
    log.info("fetched %s (%d bytes)", url, len(text))
    return text


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
    and checked again), so air-gapped reruns work once the cache is filled.
    """
    file = url.rsplit("/", 1)[-1]
    target = cache / file
    record = cache / f"{file}.sha256"
    if target.exists() and record.exists() and sha256_of(target) == record.read_text().strip():
        log.info("reusing verified %s", target)
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
    os.replace(partial, target)
    record.write_text(actual + "\n")
    log.info("downloaded %s to %s (sha256 %s verified)", url, target, actual)
    return target


def _get(url: str, stream: bool = False) -> requests.Response:
    try:
        response = requests.get(url, timeout=TIMEOUT, stream=stream)
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
