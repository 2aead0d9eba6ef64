"""`make cluster`: run the multi-replica topology until Ctrl-C or SIGTERM.

python -m cluster [--replicas N] [--workers W] [--port 8000] [--model PATH]
                  [--state DIR]
python -m cluster status [--state DIR]     (make cluster-status)

While it runs, any service that exits is restarted (cluster/supervisor.py).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from cluster.services import ServiceError
from cluster.supervisor import Supervisor, format_status, read_status
from cluster.topology import Cluster, ClusterSettings

STATUS_FILE = "status.json"


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def status(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cluster status",
        description="Each service of the running cluster: state, pid, restarts.",
    )
    parser.add_argument("--state", type=Path, default=Path("var/cluster"))
    args = parser.parse_args(argv)
    document = read_status(args.state / STATUS_FILE)
    if document is None:
        print(f"cluster: not running (no live supervisor in {args.state})")
        return 1
    print(format_status(document))
    return 0


def main() -> int:
    if sys.argv[1:2] == ["status"]:
        return status(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="per replica")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", type=Path, default=Path("models/assistant.tar.gz"))
    parser.add_argument("--state", type=Path, default=Path("var/cluster"))
    args = parser.parse_args()
    cluster = Cluster(
        ClusterSettings(
            args.state,
            args.model,
            replicas=args.replicas,
            workers=args.workers,
            port=args.port,
        )
    )
    signal.signal(signal.SIGTERM, _stop_on_signal)
    supervisor: Supervisor | None = None
    try:
        print("cluster: starting PostgreSQL, Redis, RabbitMQ, actions, "
              f"{args.replicas} Rasa replicas ({args.workers} worker(s) each), "
              "nginx, Prometheus", flush=True)  # fmt: skip
        cluster.start()
        supervisor = Supervisor(
            cluster.services(),
            args.state / STATUS_FILE,
            endpoints=cluster.endpoints(),
        )
        supervisor.start()
        replicas = ", ".join(map(cluster.replica_url, range(args.replicas)))
        print(
            "cluster: ready\n"
            f"  REST        POST {cluster.url}/webhooks/rest/webhook\n"
            f"  socket.io   {cluster.url}/socket.io\n"
            f"  replicas    {replicas}\n"
            f"  database    {cluster.database_url}\n"
            f"  Prometheus  {cluster.prometheus_url} (rules: deploy/prometheus/)\n"
            f"  logs        {args.state / 'log'}/\n"
            f"  status      python -m cluster status --state {args.state}\n"
            "Any part that exits is restarted. Press Ctrl-C to stop.",
            flush=True,
        )
        while True:
            time.sleep(3600)
    except ServiceError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("cluster: stopping", flush=True)
        if supervisor is not None:
            supervisor.stop()
        cluster.stop()
        print("cluster: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
