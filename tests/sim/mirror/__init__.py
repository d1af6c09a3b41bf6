"""The release mirror: GitHub-layout release assets generated per version.

Each provider module answers `asset(org, repo, tag, filename, sim) -> bytes | None`;
`server.MirrorServer` asks them in this order.
"""

from tests.sim.mirror import binaries, eventing, knative_core

PROVIDERS = [knative_core, eventing, binaries]
