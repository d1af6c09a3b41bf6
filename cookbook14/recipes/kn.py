"""Recipe 14.3, Install the kn CLI: the kn binary of the planned release for this machine,
verified against the release's checksums.txt and cached, then run once (`kn version`) to prove
that it runs here. Its checks read what kn says about itself (`kn version`, `kn help`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from cookbook14.assets import sha256_of
from cookbook14.errors import ToolError
from cookbook14.steps import StepContext
from cookbook14.tools import install_kn, run_kn

# What `kn help` groups, as the book shows it (14.3's "should see").
BOOK_COMMAND_GROUPS = {
    "Serving": ("service", "revision"),
    "Eventing": ("source", "broker"),
    "Other": ("plugin", "completion", "version"),
}
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class KnVersion:
    """What `kn version -o json` reports (client `pkg/kn/commands/version/version.go`)."""

    version: str  # without the "v": 1.11.0
    build_date: str
    git_revision: str
    # "serving" / "eventing" -> e.g. ["serving.knative.dev/v1 (knative-serving v1.11.0)"]
    supported_apis: dict[str, list[str]]


def kn_version(kn: Path, kubeconfig: Path | None, context: str | None) -> KnVersion:
    result = run_kn(kn, ["version", "-o", "json"], kubeconfig, context, timeout=COMMAND_TIMEOUT)
    try:
        document = json.loads(result.stdout)
        return KnVersion(
            version=str(document["Version"]).removeprefix("v"),
            build_date=str(document.get("BuildDate", "")),
            git_revision=str(document.get("GitRevision", "")),
            supported_apis={
                str(group): [str(api) for api in apis]
                for group, apis in (document.get("SupportedAPIs") or {}).items()
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        printed = result.stdout.strip()[:200]
        raise ToolError(
            f"`{kn} version -o json` printed no version document: {printed!r}"
        ) from None


def version_line(text: str) -> str | None:
    """The version `kn version` prints on its "Version:" line (v1.11.0), if any."""
    match = re.search(r"^Version:\s+(\S+)", text, re.MULTILINE)
    return match[1] if match else None


def command_groups(help_text: str) -> dict[str, list[str]]:
    """`kn help`'s sections ("Serving Commands:" -> "Serving") and the commands each lists."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in help_text.splitlines():
        header = re.fullmatch(r"(\w[\w ]*?) Commands:", line.strip())
        if header and not line.startswith(" "):
            current = groups.setdefault(header[1], [])
        elif current is not None and line.startswith("  ") and line.strip():
            current.append(line.split()[0])
        elif not line.strip():
            current = None
    return groups


def install(ctx: StepContext) -> dict:
    if ctx.catalog is None:
        raise ToolError("step 14.3 needs the version catalog to find the kn release")
    planned = ctx.plan.release.kn
    kn = install_kn(planned, ctx.catalog, ctx.options.mirror, ctx.options.cache_dir)
    ctx.say(f"kn {planned} verified against the release's checksums.txt: {kn}")
    try:
        found = kn_version(kn, ctx.kubeconfig, ctx.context)
    except ToolError as error:
        raise ToolError(
            f"kn {planned} ({kn.name}) matches the release's checksums.txt but does not run: "
            f"{error}"
        ) from None
    return {
        "kn_path": str(kn),
        "kn_version": found.version,
        "kn_sha256": sha256_of(kn),
        "kn_build_date": found.build_date,
        "kn_git_revision": found.git_revision,
        "kn_supported_apis": found.supported_apis,
    }
