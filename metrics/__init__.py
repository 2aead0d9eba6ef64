"""Counters and histograms for operators, served at ``/metrics`` for Prometheus.

``rasa run`` and ``rasa run actions`` start several Sanic worker processes when
``SANIC_WORKERS`` says so, and a scrape reaches one of them at random: counted
in each process's memory, the figures would jump between scrapes. So every
process writes its figures to files in one directory (prometheus-client's
multiprocess mode) and a scrape adds up all of them. The directory is
``PROMETHEUS_MULTIPROC_DIR`` when the environment names one (it must be empty
when the server starts); otherwise a fresh one made here, in the server's main
process before it starts its workers, and removed when that process exits. A
separate server started from that process (a test starting servers, for one)
is given an environment without it: settings.for_another_server.

prometheus-client chooses between the two modes once, when it is imported, so
this package must be imported before it: ``metrics.assistant`` (the Rasa
server's figures) and ``metrics.actions`` (the action server's) import it first.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

from settings import (
    METRICS_DIRECTORY,
    METRICS_DIRECTORY_OWNER,
    share_with_child_processes,
)


def _share_one_directory() -> None:
    if METRICS_DIRECTORY.read():
        return
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before metrics/: import metrics first, "
            f"or set {METRICS_DIRECTORY.name}, so that every worker is counted"
        )
    path = tempfile.mkdtemp(prefix="assistant-metrics-")
    share_with_child_processes(METRICS_DIRECTORY, path)  # the workers inherit it
    creator = os.getpid()
    share_with_child_processes(METRICS_DIRECTORY_OWNER, str(creator))

    def remove() -> None:
        if os.getpid() == creator:
            shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)


_share_one_directory()

# The modules of this package take Counter and Histogram from here, so that no
# import sorting can put prometheus_client's import before the directory's.
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

# The classic text format (names with underscores only), which every Prometheus
# release reads; the Debian one (2.42) predates the newer 1.0.0 label.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "Counter", "Histogram", "exposition"]

# Seconds: a reply takes tens of milliseconds, a slow one (a database retry, a
# lock held by another replica) seconds.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0
)  # fmt: skip


def exposition() -> bytes:
    """Every process's figures, added up, in Prometheus's text format."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
