"""Which releases exist: the mirror answers 404, as GitHub does, for any other tag.

Read from cookbook14/catalog.yaml as data: for the knative repositories, tags whose minor is a
catalogued minor and whose patch is no newer than the catalogued newest patch of that
component (the book pins fall inside); for kind, the versions the catalog names; sockeye and
TriggerMesh, their single catalogued version.

Upstream moves on after the catalog is written, and so does the mirror: every Knative
repository also has one patch newer than the newest catalogued minor's newest patch (a release
out this morning) and the next minor's first release (`newer_versions`). Their assets exist,
so that an exact uncatalogued patch can be tried as asked; any other tag stays a 404 (e.g.
knative-v1.11.99: a patch upstream never released, whose missing asset is the harness's
one-line error). The mirror also answers GitHub's release listing,
`GET /repos/<org>/<repo>/releases` (`listing`).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

CATALOG = Path("cookbook14") / "catalog.yaml"


@functools.lru_cache(maxsize=4)
def _catalog(repo_root: str) -> dict:
    return yaml.safe_load((Path(repo_root) / CATALOG).read_text())


def _versions(catalog: dict, component: str) -> tuple[dict[str, int], set[str]]:
    """(minor -> newest patch, exact versions named) of one component."""
    newest: dict[str, int] = {}
    exact: set[str] = set()
    for minor, entry in (catalog.get("minors") or {}).items():
        if component == "kind":
            named = ((entry or {}).get("node") or {}).get("kind")
            if named:
                exact.add(str(named))
            continue
        version = (entry or {}).get(component)
        if version is not None:
            newest[str(minor)] = int(str(version).split(".")[2])
    for key in (component,):
        pinned = (catalog.get("book") or {}).get(key)
        if pinned is not None:
            exact.add(str(pinned))
        top = catalog.get(key)
        if isinstance(top, str | int | float) and not isinstance(top, bool):
            exact.add(str(top))
    return newest, exact


def _tag_version(pattern: str, tag: str) -> str | None:
    regex = re.escape(pattern).replace(re.escape("{version}"), r"(\d+\.\d+\.\d+)")
    match = re.fullmatch(regex, tag)
    return match.group(1) if match else None


def released(repo_root: Path | str, org: str, repo: str, tag: str) -> bool:
    """Whether `<org>/<repo>` has a release tagged `tag`: the catalog's, or a newer one."""
    catalog = _catalog(str(repo_root))
    component = _component(catalog, org, repo)
    if component is None:
        return False
    version = _tag_version(catalog["repositories"][component].get("tag", "{version}"), tag)
    return version is not None and version in _all_versions(catalog, component)


def newer_versions(catalog: dict) -> list[str]:
    """What the Knative repositories released after the catalog: a patch of its newest minor
    newer than every component's catalogued patch, and the next minor's first release."""
    minors = catalog.get("minors") or {}
    newest = max(minors, key=lambda key: tuple(int(n) for n in str(key).split(".")))
    entry = minors[newest]
    patch = max(int(str(entry[name]).split(".")[2]) for name in KNATIVE_COMPONENTS)
    major, minor = (int(n) for n in str(newest).split("."))
    return [f"{major}.{minor}.{patch + 1}", f"{major}.{minor + 1}.0"]


KNATIVE_COMPONENTS = ("operator", "serving", "eventing", "kourier", "kn")
# When the newer releases came out (the catalog's own carry their minor's release month).
NEWER_PUBLISHED = "2026-11-30T06:00:00Z"


def _component(catalog: dict, org: str, repo: str) -> str | None:
    for component, entry in (catalog.get("repositories") or {}).items():
        if entry.get("repo", "").lower() == f"{org}/{repo}".lower():
            return component
    return None


def _all_versions(catalog: dict, component: str) -> dict[str, str]:
    """Every release of a component: version -> published_at, newest first."""
    newest, exact = _versions(catalog, component)
    minors = catalog.get("minors") or {}
    found: dict[str, str] = {}
    for minor, top in newest.items():
        month = str((minors.get(minor) or {}).get("released", "2023-01"))
        for patch in range(top + 1):
            # A patch every two weeks after the minor's release month: dates only need an order.
            day = 1 + (patch * 14) % 28
            found[f"{minor}.{patch}"] = f"{month}-{day:02d}T12:00:00Z"
    for version in exact:
        found.setdefault(version, "2023-07-01T12:00:00Z")
    if component in KNATIVE_COMPONENTS:
        for version in newer_versions(catalog):
            found[version] = NEWER_PUBLISHED
    return dict(
        sorted(
            found.items(), key=lambda item: tuple(int(n) for n in item[0].split(".")), reverse=True
        )
    )


def _asset_names(catalog: dict, component: str) -> list[str]:
    files = (catalog.get("assets") or {}).get(component) or {}
    names: list[str] = []
    for pattern in files.values():
        if not isinstance(pattern, str):
            continue
        if "{os}" not in pattern:
            names.append(pattern)
            continue
        for platform in files.get("platforms") or []:
            os_name, arch = platform.split("-", 1)
            ext = ".exe" if os_name == "windows" and "{ext}" in pattern else ""
            names.append(pattern.format(os=os_name, arch=arch, ext=ext))
    return names


def listing(
    repo_root: Path | str, base_url: str, org: str, repo: str, query: str
) -> tuple[int, bytes, dict[str, str]]:
    """GitHub's `GET /repos/{org}/{repo}/releases?per_page=&page=`: (status, body, headers),
    newest first, paginated with a Link header as api.github.com does."""
    catalog = _catalog(str(repo_root))
    component = _component(catalog, org, repo)
    if component is None:
        body = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        return 404, json.dumps(body).encode(), {}
    params = parse_qs(query)
    per_page = min(max(int((params.get("per_page") or ["30"])[0]), 1), 100)
    page = max(int((params.get("page") or ["1"])[0]), 1)
    pattern = catalog["repositories"][component].get("tag", "{version}")
    everything = list(_all_versions(catalog, component).items())
    pages = max(1, -(-len(everything) // per_page))
    chosen = everything[(page - 1) * per_page : page * per_page]
    release_base = f"{base_url}/{org}/{repo}/releases"
    body = [
        {
            "id": 1000 + index,
            "tag_name": pattern.format(version=version),
            "name": pattern.format(version=version),
            "draft": False,
            "prerelease": False,
            "published_at": published,
            "created_at": published,
            "html_url": f"{release_base}/tag/{pattern.format(version=version)}",
            "assets": [
                {
                    "name": name,
                    "browser_download_url": (
                        f"{release_base}/download/{pattern.format(version=version)}/{name}"
                    ),
                }
                for name in _asset_names(catalog, component)
            ],
        }
        for index, (version, published) in enumerate(chosen, start=(page - 1) * per_page)
    ]
    links = []
    page_url = f"{base_url}/repos/{org}/{repo}/releases?per_page={per_page}&page="
    if page < pages:
        links += [f'<{page_url}{page + 1}>; rel="next"', f'<{page_url}{pages}>; rel="last"']
    if page > 1:
        links += [f'<{page_url}1>; rel="first"', f'<{page_url}{page - 1}>; rel="prev"']
    headers = {"Link": ", ".join(links)} if links else {}
    return 200, json.dumps(body).encode(), headers


def listing_path(path: str) -> tuple[str, str, str] | None:
    """(org, repo, query) of a `/repos/<org>/<repo>/releases` request, else None."""
    parts = urlsplit(path)
    segments = parts.path.strip("/").split("/")
    if len(segments) == 4 and segments[0] == "repos" and segments[3] == "releases":
        return segments[1], segments[2], parts.query
    return None
