"""A promoted model goes live on every replica without a restart or a lost
message, and a rollback goes back the same way (learning/versions.py, the
cluster's model server, rasa_changes/model_pulling.py)."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from cluster.topology import Cluster
from learning.versions import ModelStore
from tests.cluster.conftest import say, texts

pytestmark = pytest.mark.e2e

SWAP_TIMEOUT_S = 240
# One order-status conversation: each reply must be the next step's.
SCRIPT = [
    ("where is my order?", "order number"),
    ("ORD-1001", "email address"),
    ("alice@example.com", "ORD-1001 is on its way"),
]


def model_ids(cluster: Cluster) -> list[str]:
    return [
        requests.get(
            f"{cluster.replica_url(i)}/status",
            params={"token": cluster.api_token},
            timeout=30,
        ).json()["model_id"]
        for i in range(cluster.settings.replicas)
    ]


def with_new_model_id(model: Path, copy: Path) -> str:
    """``model`` repacked as a model of its own: the same weights, a new
    model_id in its metadata (what a retrained model would have)."""
    new_id = uuid.uuid4().hex
    with (
        tarfile.open(model) as source,
        tarfile.open(copy, "w:gz", compresslevel=1) as out,
    ):
        for member in source:
            data = source.extractfile(member) if member.isfile() else None
            if member.name.lstrip("/") == "metadata.json":
                metadata = json.loads(data.read())
                metadata["model_id"] = new_id
                encoded = json.dumps(metadata).encode()
                member.size = len(encoded)
                out.addfile(member, io.BytesIO(encoded))
            else:
                out.addfile(member, data)
    return new_id


class Customers:
    """Customers talking through nginx while the models change under them."""

    def __init__(self, cluster: Cluster, count: int = 2) -> None:
        self.cluster = cluster
        self.problems: list[str] = []
        self.conversations = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._talk, args=(n,)) for n in range(count)
        ]

    def _talk(self, n: int) -> None:
        while not self._stop.is_set():
            sender = f"swap-{n}-{uuid.uuid4().hex[:6]}"
            for text, expected in SCRIPT:
                response = say(self.cluster.url, sender, text)
                reply = (
                    texts(response) if response.ok else f"HTTP {response.status_code}"
                )
                if expected not in reply:
                    self.problems.append(f"{sender} {text!r}: {reply!r}")
                    break
            else:
                self.conversations += 1
            time.sleep(0.5)  # a customer or two a second, not a load test

    def __enter__(self) -> Customers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def wait_for(cluster: Cluster, wanted: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < SWAP_TIMEOUT_S:
        if model_ids(cluster) == [wanted] * cluster.settings.replicas:
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"replicas on {model_ids(cluster)}, not {wanted}")


def test_a_promoted_model_and_a_rollback_go_live_without_a_lost_message(
    cluster: Cluster, tmp_path: Path
) -> None:
    store = ModelStore(cluster.settings.models_dir)
    [serving] = set(model_ids(cluster))
    first = store.add(cluster.settings.model, "test", [], "adopted")
    store.make_live(first.number, already_served=True)
    retrained = tmp_path / "retrained.tar.gz"
    new_id = with_new_model_id(cluster.settings.model, retrained)
    second = store.add(retrained, "test", [], "full")

    with Customers(cluster) as customers:
        time.sleep(3)
        store.make_live(second.number)
        promoted_s = wait_for(cluster, new_id)
        store.rollback()
        rolled_back_s = wait_for(cluster, serving)
        time.sleep(3)
    print(f"model swap: promoted live on both replicas in {promoted_s:.0f} s, "
          f"rolled back in {rolled_back_s:.0f} s; {customers.conversations} "
          "conversations completed meanwhile")  # fmt: skip
    assert customers.problems == []
    assert customers.conversations >= 2
    assert store.live().number == first.number
