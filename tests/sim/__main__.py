"""Run the simulated cluster until SIGINT/SIGTERM: `python -m tests.sim --kubeconfig FILE`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from tests.sim.cluster import SimCluster
from tests.sim.faults import ALL_FAULTS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One clear line, exit 2 (argparse would also print the whole usage).
        sys.stderr.write(f"python -m tests.sim: error: {message}\n")
        sys.exit(2)


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="python -m tests.sim", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, type=Path)
    parser.add_argument("--time-scale", type=_positive_float, default=0.05)
    parser.add_argument(
        "--faults",
        default=os.environ.get("SIM_FAULTS", ""),
        help=f"comma separated, from: {', '.join(ALL_FAULTS)}",
    )
    parser.add_argument("--kubernetes-version", default="1.27.3")
    parser.add_argument("--cluster-name", default="kind")
    parser.add_argument("--ingress-port", type=int, default=None)
    parser.add_argument(
        "--load-balancer-ip",
        default=None,
        help="give LoadBalancer Services this ingress IP (default: none, <pending> as on kind)",
    )
    args = parser.parse_args(argv)
    args.faults = [name for name in args.faults.split(",") if name.strip()]
    unknown = sorted(set(args.faults) - set(ALL_FAULTS))
    if unknown:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; accepted: {', '.join(ALL_FAULTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    sim = SimCluster(
        args.kubeconfig,
        time_scale=args.time_scale,
        faults=args.faults,
        kubernetes_version=args.kubernetes_version,
        cluster_name=args.cluster_name,
        ingress_port=args.ingress_port,
        load_balancer_ip=args.load_balancer_ip,
    )
    with sim:
        print(
            json.dumps(
                {
                    "kubeconfig": str(sim.kubeconfig),
                    "release_mirror": sim.release_mirror,
                    "ingress_endpoint": sim.ingress_endpoint,
                }
            ),
            flush=True,
        )
        while not stop_requested.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
