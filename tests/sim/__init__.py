"""The simulated Knative cluster used by the self-tests (see README.md)."""

from tests.sim.cluster import SimCluster

__all__ = ["SimCluster"]
