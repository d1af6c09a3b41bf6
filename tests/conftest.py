"""Fixtures that start the simulated cluster (tests/sim) for the self-tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sim import SimCluster


@pytest.fixture
def make_sim_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., SimCluster]]:
    """Factory: `make_sim_cluster(faults=["drop-watches"], time_scale=0.05)` -> started cluster.

    Every cluster made is stopped at the end of the test. Kubeconfigs live in their own
    temporary directory, so a test's tmp_path stays empty (tests use it as a reports dir).
    """
    started: list[SimCluster] = []

    def make(**kwargs: object) -> SimCluster:
        kubeconfig = tmp_path_factory.mktemp("sim-cluster") / "kubeconfig"
        sim = SimCluster(kubeconfig, **kwargs)  # type: ignore[arg-type]
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()


@pytest.fixture
def sim_cluster(make_sim_cluster: Callable[..., SimCluster]) -> SimCluster:
    """A started simulated cluster without faults, kubeconfig under tmp_path."""
    return make_sim_cluster()


@pytest.fixture(scope="session")
def shared_sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimCluster]:
    """One simulated cluster for a whole session, for tests that only read or use own names."""
    kubeconfig = tmp_path_factory.mktemp("shared-sim") / "kubeconfig"
    with SimCluster(kubeconfig) as sim:
        yield sim
