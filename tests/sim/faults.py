"""Names of the injectable faults and the holder the API server consults per request."""

import threading
from collections.abc import Iterable, Iterator, Set

SERVING_NEVER_READY = "serving-never-ready"
EVENTING_NEVER_READY = "eventing-never-ready"
API_5XX_BURST = "api-5xx-burst"
DROP_WATCHES = "drop-watches"
NO_SCALE_DOWN = "no-scale-down"
# The first ping event sent while a websocket is open on its sink is lost on the way.
LOSE_PING_EVENT = "lose-ping-event"
# The ping adapter sends other data, as text/plain, than the PingSource asks for.
WRONG_PING_EVENT = "wrong-ping-event"
# The operator installs an Eventing patch other than its kodata's default (next patch).
EVENTING_OTHER_VERSION = "eventing-other-version"
TAMPERED_KN = "tampered-kn"
OPERATOR_MISSING_VERSION = "operator-missing-version"
# The operator installs a Serving patch other than its kodata's default (next patch).
SERVING_OTHER_VERSION = "serving-other-version"
# An image never pulls (ImagePullBackOff with the registry's reason in the pod status).
NODEINFO_IMAGE_PULL = "nodeinfo-image-pull"
TRIGGERMESH_IMAGE_PULL = "triggermesh-image-pull"
# The mirror's kn binary is not an executable (checksums match what is served).
KN_NOT_EXECUTABLE = "kn-not-executable"
# The mirror's operator.yaml is another patch's build (its labels say so), as a re-tagged or
# mixed-up asset would be: the harness must read the version, not echo its plan.
OPERATOR_RELEASE_DRIFT = "operator-release-drift"
# Pod logs are not answered until the API server stops (its cluster is deleted), at most
# HELD_POD_LOGS_SECONDS: a self-test's Ctrl-C lands while the harness reads a failed step's
# evidence however loaded the machine is (a fixed delay was a real-time margin it could miss).
HELD_POD_LOGS = "held-pod-logs"
HELD_POD_LOGS_SECONDS = 60.0

ALL_FAULTS = (
    SERVING_NEVER_READY,
    EVENTING_NEVER_READY,
    API_5XX_BURST,
    DROP_WATCHES,
    NO_SCALE_DOWN,
    LOSE_PING_EVENT,
    WRONG_PING_EVENT,
    EVENTING_OTHER_VERSION,
    TAMPERED_KN,
    OPERATOR_MISSING_VERSION,
    SERVING_OTHER_VERSION,
    NODEINFO_IMAGE_PULL,
    TRIGGERMESH_IMAGE_PULL,
    KN_NOT_EXECUTABLE,
    OPERATOR_RELEASE_DRIFT,
    HELD_POD_LOGS,
)

# With api-5xx-burst, every BURST_PERIOD-th resource request starts a burst of BURST_LENGTH.
BURST_PERIOD = 10
BURST_LENGTH = 3


class Faults(Set):
    """The set of active fault names, plus faults armed at runtime by tests.

    Behaves as a read-only set of names (`"drop-watches" in sim.faults`).
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        chosen = frozenset(name.strip() for name in names if name.strip())
        unknown = sorted(chosen - set(ALL_FAULTS))
        if unknown:
            raise ValueError(
                f"unknown fault(s) {', '.join(unknown)}; accepted: {', '.join(ALL_FAULTS)}"
            )
        self._names = chosen
        self._lock = threading.Lock()
        self._resource_requests = 0
        self._burst_remaining = 0
        self._burst_code = 503
        self._burst_watches_only = False

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Faults({sorted(self._names)!r})"

    def arm_5xx_burst(self, count: int, code: int = 503, watches_only: bool = False) -> None:
        """Make the next `count` resource requests (or only watch requests) fail with `code`."""
        with self._lock:
            self._burst_remaining = count
            self._burst_code = code
            self._burst_watches_only = watches_only

    def next_resource_request_error(self, watch: bool = False) -> int | None:
        """Count one resource request; return the HTTP code it must fail with, if any."""
        with self._lock:
            self._resource_requests += 1
            if self._burst_watches_only and not watch:
                return None
            if (
                API_5XX_BURST in self._names
                and self._burst_remaining == 0
                and self._resource_requests % BURST_PERIOD == 0
            ):
                self._burst_remaining = BURST_LENGTH
                self._burst_code = 503
                self._burst_watches_only = False
            if self._burst_remaining > 0:
                self._burst_remaining -= 1
                return self._burst_code
            return None

    @property
    def drop_watches(self) -> bool:
        return DROP_WATCHES in self._names
