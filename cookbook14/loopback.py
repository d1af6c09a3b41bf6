"""Loopback addresses never go through a proxy, as Go's tools (kubectl, kind, kn) behave.

Python's HTTP clients take HTTPS_PROXY/HTTP_PROXY from the environment for every host and
honour only NO_PROXY; a proxy cannot reach this machine's loopback (a kind cluster's API
server and Kourier host port, a local --release-mirror). Kept free of the Kubernetes client:
downloads and `--plan` use it too."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(url: str) -> bool:
    """Whether a URL's host is this machine's loopback: `localhost`, 127.0.0.0/8 or ::1.

    Go's HTTP clients (kubectl, kind, kn; golang.org/x/net/http/httpproxy useProxy) never send
    such requests through a proxy, whatever HTTPS_PROXY and NO_PROXY say; Python's do."""
    host = (urlsplit(url if "://" in url else f"//{url}").hostname or "").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def direct_if_loopback(url: str) -> dict[str, str] | None:
    """requests' `proxies=` for a URL: a loopback one is reached directly (requests honours
    only NO_PROXY, so it is named there, for redirects too); None leaves the environment's."""
    return {"no_proxy": urlsplit(url).hostname or ""} if is_loopback(url) else None
