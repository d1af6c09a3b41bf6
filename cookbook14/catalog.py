"""The version catalog (catalog.yaml) and how a --knative-version value resolves against it.

All versions, release URLs and node images come from the catalog file; nothing else in the
harness names a version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import total_ordering
from pathlib import Path

import yaml

from cookbook14.errors import UsageError

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
GITHUB = "https://github.com"
COMPONENTS = ("operator", "serving", "eventing", "kourier", "kn")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", str(text).strip())
        if not match:
            raise ValueError(f"not a version: {text!r}")
        return cls(int(match[1]), int(match[2]), int(match[3] or 0))

    @property
    def minor_key(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def __lt__(self, other: Version) -> bool:
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)


@dataclass(frozen=True)
class NodeImage:
    kubernetes: Version
    image: str
    kind: Version

    @property
    def tag(self) -> str:
        return self.image.split("@", 1)[0].rsplit(":", 1)[-1]

    @property
    def digest(self) -> str:
        return self.image.split("@", 1)[1] if "@" in self.image else ""


@dataclass(frozen=True)
class MinorEntry:
    minor: str
    released: str
    versions: dict[str, Version]
    min_kubernetes: Version
    node: NodeImage


@dataclass(frozen=True)
class Release:
    """The exact versions one run installs, and why they were chosen."""

    requested: str
    minor: str
    operator: Version
    serving: Version
    eventing: Version
    kourier: Version
    kn: Version
    min_kubernetes: Version
    node: NodeImage
    clamped: tuple[str, ...] = ()
    # Components asked at a patch newer than the catalog knows (a release out since): tried as
    # asked, their release assets decide whether they exist.
    uncatalogued: tuple[str, ...] = ()
    # What this operator release installs for a CR without spec.version (serving, eventing,
    # kourier); empty when the catalog does not know that operator patch.
    operator_installs: dict[str, Version] = field(default_factory=dict)

    def version_of(self, component: str) -> Version:
        return getattr(self, component)

    @property
    def operator_namespace(self) -> str:
        # operator.yaml installs into `default` up to 1.13 and ships its own
        # `knative-operator` Namespace from 1.14 (knative/operator config/).
        return "knative-operator" if self.operator >= Version(1, 14) else "default"

    def to_dict(self) -> dict:
        return {
            "requested": self.requested,
            "minor": self.minor,
            **{name: str(self.version_of(name)) for name in COMPONENTS},
            "min_kubernetes": f"{self.min_kubernetes.major}.{self.min_kubernetes.minor}",
            "node_image": self.node.image,
            "node_kubernetes": str(self.node.kubernetes),
            "kind": str(self.node.kind),
            "clamped": list(self.clamped),
            "uncatalogued": list(self.uncatalogued),
            "operator_installs": {name: str(v) for name, v in self.operator_installs.items()},
        }


class Catalog:
    def __init__(self, data: dict) -> None:
        self.data = data
        self.release_url: str = data["release_url"]
        self.repositories: dict[str, dict] = data["repositories"]
        self.assets: dict[str, dict] = data["assets"]
        self.minors: dict[str, MinorEntry] = {
            key: _minor_entry(key, entry) for key, entry in data["minors"].items()
        }
        self.book: dict = data["book"]
        self.extras: dict[str, Version] = {
            name: Version.parse(data[name]) for name in ("sockeye", "triggermesh")
        }
        self.operator_defaults: dict[Version, dict[str, Version]] = {
            Version.parse(operator): {name: Version.parse(v) for name, v in installs.items()}
            for operator, installs in data.get("operator_defaults", {}).items()
        }
        self.warnings: list[str] = [
            f"{entry['recipe']}: {entry['text']}" for entry in data.get("upstream_warnings", [])
        ]

    @classmethod
    def load(cls, path: Path = CATALOG_FILE) -> Catalog:
        return cls(yaml.safe_load(path.read_text()))

    @property
    def newest_minor(self) -> str:
        return max(self.minors, key=lambda key: Version.parse(key))

    def accepted_values(self) -> str:
        keys = sorted(self.minors, key=Version.parse)
        return f"book, latest, a minor {keys[0]}..{keys[-1]}, or an exact 1.Y.Z of one of them"

    def resolve(self, requested: str) -> Release:
        """Turn a --knative-version value into exact versions, or explain why it cannot."""
        release = self._resolve(requested)
        return replace(release, operator_installs=self.operator_defaults.get(release.operator, {}))

    def _resolve(self, requested: str) -> Release:
        value = requested.strip()
        if value == "book":
            return self._book()
        if value == "latest":
            return self._minor_release("latest", self.newest_minor)
        try:
            version = Version.parse(value)
        except ValueError:
            raise UsageError(
                f"--knative-version {requested!r} is not a version; "
                f"accepted: {self.accepted_values()}"
            ) from None
        if version.minor_key not in self.minors:
            raise UsageError(
                f"--knative-version {requested!r}: Knative {version.minor_key} is not in the "
                f"catalog; accepted: {self.accepted_values()} (`cookbook14 releases` prints the "
                "entry a new minor needs)"
            )
        if re.fullmatch(r"v?\d+\.\d+", value):
            return self._minor_release(value, version.minor_key)
        return self._exact_release(value, version)

    def url(self, component: str, version: Version, file: str, mirror: str | None = None) -> str:
        repository = self.repositories[component]
        url = self.release_url.format(
            repo=repository["repo"], tag=repository["tag"].format(version=version), file=file
        )
        if mirror:
            url = mirror.rstrip("/") + url[len(GITHUB) :]
        return url

    def _book(self) -> Release:
        entry = self.minors[self.book["minor"]]
        return Release(
            requested="book",
            minor=entry.minor,
            **{name: Version.parse(self.book[name]) for name in COMPONENTS},
            min_kubernetes=entry.min_kubernetes,
            node=entry.node,
        )

    def _minor_release(self, requested: str, minor: str) -> Release:
        entry = self.minors[minor]
        return Release(
            requested=requested,
            minor=minor,
            **entry.versions,
            min_kubernetes=entry.min_kubernetes,
            node=entry.node,
        )

    def _exact_release(self, requested: str, version: Version) -> Release:
        """1.Y.Z pins every component to that patch. A patch newer than the newest catalogued
        operator of its minor came out after the catalog was written: every component is tried
        at that patch as asked and marked uncatalogued (its release assets decide whether it
        exists). Otherwise the catalog knows the minor's patches, and a component without that
        patch is clamped to its newest catalogued one."""
        entry = self.minors[version.minor_key]
        newer_than_catalog = version > entry.versions["operator"]
        chosen: dict[str, Version] = {}
        clamped: list[str] = []
        uncatalogued: list[str] = []
        for name in COMPONENTS:
            newest = entry.versions[name]
            chosen[name] = version
            if version <= newest:
                continue
            if newer_than_catalog:
                uncatalogued.append(name)
            else:
                chosen[name] = newest
                clamped.append(
                    f"{name} has no release {version} (newest catalogued: {newest}); using {newest}"
                )
        return Release(
            requested=requested,
            minor=entry.minor,
            **chosen,
            min_kubernetes=entry.min_kubernetes,
            node=entry.node,
            clamped=tuple(clamped),
            uncatalogued=tuple(uncatalogued),
        )


def _minor_entry(key: str, entry: dict) -> MinorEntry:
    node = entry["node"]
    return MinorEntry(
        minor=key,
        released=str(entry.get("released", "")),
        versions={name: Version.parse(entry[name]) for name in COMPONENTS},
        min_kubernetes=Version.parse(entry["min_kubernetes"]),
        node=NodeImage(
            kubernetes=Version.parse(node["kubernetes"]),
            image=node["image"],
            kind=Version.parse(node["kind"]),
        ),
    )
