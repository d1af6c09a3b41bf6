"""Which releases exist: the mirror answers 404, as GitHub does, for any other tag.

Read from cookbook14/catalog.yaml as data: for the knative repositories, tags whose minor is a
catalogued minor and whose patch is no newer than the catalogued newest patch of that
component (the book pins fall inside); for kind, the versions the catalog names; sockeye and
TriggerMesh, their single catalogued version.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

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
    """Whether `<org>/<repo>` has a release tagged `tag` (as far as the catalog knows)."""
    catalog = _catalog(str(repo_root))
    for component, entry in (catalog.get("repositories") or {}).items():
        if entry.get("repo", "").lower() != f"{org}/{repo}".lower():
            continue
        version = _tag_version(entry.get("tag", "{version}"), tag)
        if version is None:
            return False
        newest, exact = _versions(catalog, component)
        if version in exact:
            return True
        major, minor, patch = version.split(".")
        limit = newest.get(f"{major}.{minor}")
        return limit is not None and int(patch) <= limit
    return False
