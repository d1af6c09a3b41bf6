"""The background parts of the simulated cluster, started in order after the API server."""

from __future__ import annotations

from typing import Any

from tests.sim.ingress import KourierIngress
from tests.sim.knative.eventing import EventingController
from tests.sim.knative.operator import KnativeOperator
from tests.sim.knative.serving import ServingController
from tests.sim.kube_controllers import KubeControllers
from tests.sim.mirror.server import MirrorServer
from tests.sim.rbac import ClusterRoleAggregation


def default_components() -> list[Any]:
    """Mirror first (manifests are fetched before anything runs), then the cluster's own
    controllers, Serving (which publishes `sim.network`) before the ingress that uses it."""
    return [
        MirrorServer(),
        KubeControllers(),
        ClusterRoleAggregation(),
        ServingController(),
        KourierIngress(),
        KnativeOperator(),
        EventingController(),
    ]
