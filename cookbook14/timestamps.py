"""The one way a moment is written in what the harness leaves (summary.json, matrix.json,
provenance.json, a cluster lock's note): UTC, ISO 8601, to the second."""

from __future__ import annotations

import time


def utc_iso(timestamp: float | None = None) -> str:
    """`2026-11-30T20:05:08Z` for a time.time() value, now when None."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
