"""How the cluster's settings reach its processes (nothing is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.topology import Cluster, ClusterSettings


# Cluster() installs the engines' Debian packages when they are missing.
@pytest.mark.servers
def test_every_replica_runs_the_configured_number_of_sanic_workers(
    tmp_path: Path,
) -> None:
    model = tmp_path / "model.tar.gz"
    settings = ClusterSettings(tmp_path, model, replicas=2, workers=3)
    cluster = Cluster(settings)
    replicas = [
        cluster._replica(index, {"DATABASE_URL": "postgresql://db"}, tmp_path / "c.yml")
        for index in range(2)
    ]
    assert [replica.env["SANIC_WORKERS"] for replica in replicas] == ["3", "3"]
    assert {replica.env["DATABASE_URL"] for replica in replicas} == {"postgresql://db"}


def test_one_worker_per_replica_by_default(tmp_path: Path) -> None:
    """Long-polling socket.io clients need all of a session on one process."""
    assert ClusterSettings(tmp_path, tmp_path / "model.tar.gz").workers == 1
