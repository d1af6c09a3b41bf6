"""Apps that run inside simulated pods, chosen by the `user-container` image."""

from __future__ import annotations

import importlib
from typing import Any

# Image repository (registry prefix, tag and digest stripped) -> "module:Class".
_REGISTRY = {
    "functions/nodeinfo": "tests.sim.apps.nodeinfo:NodeInfoApp",
    "n3wscott/sockeye": "tests.sim.apps.sockeye:SockeyeApp",
}


def image_repository(image: str) -> str:
    """`docker.io/functions/nodeinfo:latest@sha256:...` -> `functions/nodeinfo`."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name.rsplit(":", 1)[0]
    parts = name.split("/")
    # A first component with a dot, a colon or "localhost" is a registry host.
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def app_for_image(image: str) -> type[Any] | None:
    """The app class serving `image`, or None for images that run nothing reachable."""
    target = _REGISTRY.get(image_repository(image))
    if target is None:
        return None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
