"""Which upstream releases the catalog does not know yet, read from GitHub's releases API.

`GET /repos/{org}/{repo}/releases?per_page=100`, following the Link header's rel="next"
(docs.github.com/rest/releases/releases#list-releases), for each catalogued repository of the
Knative release (operator, serving, eventing, client, net-kourier) and kind. With
--release-mirror the same path is asked below the mirror's URL (where its release downloads
are). GITHUB_TOKEN is sent when set (a higher rate limit), never required. Drafts and
pre-releases are not releases here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import requests
import yaml

from cookbook14.catalog import COMPONENTS, Catalog, Version
from cookbook14.errors import AssetError

GITHUB_API = "https://api.github.com"
# The repositories whose releases make a catalog entry: the Knative components and kind.
WATCHED = (*COMPONENTS, "kind")
TO_FILL = "FILL IN"


@dataclass(frozen=True)
class UpstreamRelease:
    component: str
    repo: str
    tag: str
    version: Version
    published: str


def api_base(mirror: str | None) -> str:
    """api.github.com, or the mirror's URL: a mirror serving `<org>/<repo>/releases/download/`
    below it serves `repos/<org>/<repo>/releases` below it too."""
    return mirror.rstrip("/") if mirror else GITHUB_API


def list_releases(
    repo: str, base: str, session: requests.Session, per_page: int = 100
) -> list[dict]:
    """Every release of `org/repo`, all pages."""
    url: str | None = f"{base}/repos/{repo}/releases?per_page={per_page}"
    releases: list[dict] = []
    while url:
        try:
            response = session.get(url, timeout=60)
        except requests.RequestException as error:
            raise AssetError(f"cannot list the releases of {repo} at {url}: {error}") from None
        if response.status_code != 200:
            hint = ""
            if response.status_code in (403, 429):
                hint = " (rate limited? set GITHUB_TOKEN for a higher limit)"
            raise AssetError(
                f"listing the releases of {repo} at {url} answered HTTP "
                f"{response.status_code}{hint}"
            )
        releases += response.json()
        url = response.links.get("next", {}).get("url")
    return releases


def session() -> requests.Session:
    new = requests.Session()
    new.headers["Accept"] = "application/vnd.github+json"
    new.headers["X-GitHub-Api-Version"] = "2022-11-28"
    token = os.environ.get("GITHUB_TOKEN")
    if token:
        new.headers["Authorization"] = f"Bearer {token}"
    return new


def upstream_releases(
    catalog: Catalog, mirror: str | None = None, per_page: int = 100
) -> list[UpstreamRelease]:
    base = api_base(mirror)
    http = session()
    found: list[UpstreamRelease] = []
    for component in WATCHED:
        repository = catalog.repositories[component]
        pattern = re.escape(repository["tag"]).replace(re.escape("{version}"), r"(\d+\.\d+\.\d+)")
        for item in list_releases(repository["repo"], base, http, per_page):
            match = re.fullmatch(pattern, item.get("tag_name", ""))
            if not match or item.get("draft") or item.get("prerelease"):
                continue
            found.append(
                UpstreamRelease(
                    component,
                    repository["repo"],
                    item["tag_name"],
                    Version.parse(match[1]),
                    str(item.get("published_at") or ""),
                )
            )
    return found


def unknown_to_catalog(catalog: Catalog, releases: list[UpstreamRelease]) -> list[UpstreamRelease]:
    """Releases newer than the catalog knows: a newer patch of a catalogued minor, a minor
    newer than the catalog's newest, a kind newer than any the catalog names. Older minors
    than the catalog's first are history, not news."""
    newest_minor = Version.parse(catalog.newest_minor)
    newest_kind = max(entry.node.kind for entry in catalog.minors.values())
    unknown = []
    for release in releases:
        version = release.version
        if release.component == "kind":
            if version > newest_kind:
                unknown.append(release)
            continue
        entry = catalog.minors.get(version.minor_key)
        if entry is not None:
            if version > entry.versions[release.component]:
                unknown.append(release)
        elif Version(version.major, version.minor) > newest_minor:
            unknown.append(release)
    return sorted(unknown, key=lambda r: (r.version, r.component))


def catalog_entries(catalog: Catalog, unknown: list[UpstreamRelease]) -> dict[str, dict]:
    """For each new minor, the catalog entry it needs: the newest patch of each component
    found, and what upstream's releases do not say marked for a person to fill in."""
    entries: dict[str, dict] = {}
    minors = sorted(
        {r.version.minor_key for r in unknown if r.component != "kind"} - set(catalog.minors),
        key=Version.parse,
    )
    for minor in minors:
        ours = [r for r in unknown if r.component != "kind" and r.version.minor_key == minor]
        entry: dict = {}
        published = sorted(r.published for r in ours if r.published)
        entry["released"] = published[0][:7] if published else TO_FILL
        for component in COMPONENTS:
            versions = [r.version for r in ours if r.component == component]
            entry[component] = (
                str(max(versions))
                if versions
                else f"{TO_FILL} (no {component} release of {minor} yet)"
            )
        entry["min_kubernetes"] = f"{TO_FILL} (the release notes' minimum Kubernetes)"
        entry["node"] = {
            "kubernetes": TO_FILL,
            "image": f"{TO_FILL} (kindest/node:vX.Y.Z@sha256:... from a kind release's notes)",
            "kind": TO_FILL,
        }
        entries[minor] = entry
    return entries


def entries_yaml(entries: dict[str, dict]) -> str:
    return yaml.safe_dump({"minors": entries}, sort_keys=False, width=100)
