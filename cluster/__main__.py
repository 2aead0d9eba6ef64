"""`make cluster`: start the multi-replica topology, stop it on Ctrl-C.

python -m cluster [--replicas N] [--workers W] [--port 8000] [--model PATH]
                  [--state DIR]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from cluster.services import ServiceError
from cluster.topology import Cluster, ClusterSettings


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
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
    try:
        print("cluster: starting PostgreSQL, Redis, RabbitMQ, actions, "
              f"{args.replicas} Rasa replicas ({args.workers} worker(s) each), "
              "nginx", flush=True)  # fmt: skip
        cluster.start()
        replicas = ", ".join(map(cluster.replica_url, range(args.replicas)))
        print(
            "cluster: ready\n"
            f"  REST        POST {cluster.url}/webhooks/rest/webhook\n"
            f"  socket.io   {cluster.url}/socket.io\n"
            f"  replicas    {replicas}\n"
            f"  database    {cluster.database_url}\n"
            f"  logs        {args.state / 'log'}/\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while True:
            for service in cluster.services():
                if not service.running:
                    print(f"cluster: {service.name} exited; see {service.log}",
                          file=sys.stderr, flush=True)  # fmt: skip
                    return 1
            time.sleep(1)
    except ServiceError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        print("cluster: stopping", flush=True)
        cluster.stop()
        print("cluster: stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
