"""An article added or edited with the CLI is answered on every replica within
60 s: no retraining, no restart (the index refreshes from PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from cluster.topology import Cluster
from tests.cluster.conftest import say, texts
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

WITHIN_S = 60
QUESTION = "can i get a spare lid for the travel mug"


def kb(cluster: Cluster, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "actions.kb", *arguments],
        cwd=REPO_ROOT, env=cluster.environment(), capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return result.stdout


def first_reply_on_each_replica(cluster: Cluster, wanted: str) -> list[float]:
    """Seconds until each replica answers QUESTION with ``wanted``."""
    started = time.monotonic()
    seen: dict[int, float] = {}
    while len(seen) < len(cluster.replica_ports):
        assert time.monotonic() - started < WITHIN_S, f"answered on {sorted(seen)}"
        for replica in range(len(cluster.replica_ports)):
            if replica in seen:
                continue
            sender = f"kb-{uuid.uuid4().hex[:8]}"
            reply = texts(say(cluster.replica_url(replica), sender, QUESTION))
            if reply.startswith(wanted):
                seen[replica] = time.monotonic() - started
        time.sleep(1)
    return [seen[replica] for replica in sorted(seen)]


def test_a_new_and_an_edited_article_are_answered_on_both_replicas(
    cluster: Cluster,
) -> None:
    before = texts(say(cluster.replica_url(0), "kb-before", QUESTION))
    assert not before.startswith("Spare lids")
    kb(
        cluster, "add", "--title", "Spare lids",
        "--answer", "Spare lids for every travel mug are in the Spares shop.",
        "--question", "spare lid for my travel mug",
        "--question", "replacement mug lid",
    )  # fmt: skip
    added = first_reply_on_each_replica(cluster, "Spare lids")
    kb(cluster, "edit", "spare-lids", "--title", "Replacement lids and spare parts")
    edited = first_reply_on_each_replica(cluster, "Replacement lids and spare parts")
    print(f"\nnew article answered after {added} s, edit after {edited} s")
