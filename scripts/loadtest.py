"""Load test: full order-status conversations against the cluster and stock Rasa.

For each set-up (the cluster of cluster/topology.py as REPLICASxWORKERS: 1 replica
of 1 and of 2 Sanic workers, 2 replicas of 1 worker, all behind nginx; and a
stock Rasa server: in-memory tracker store, DIET pipeline) and each number of
concurrent conversations, simulated customers hold order-status conversations
over REST for a fixed time and the reply latency (p50/p95/p99), messages per
second and errors are printed, then written to results/loadtest.json.

The levels pause ``--think`` seconds per message on average, a stress pace that
keeps two cores busy; one more level pauses ``--human-think`` seconds, the pace
of people typing.

    python -m scripts.loadtest [--levels 10 50 200] [--topologies 1x1 1x2 2x1]
                               [--seconds 20] [--think 0.5] [--no-baseline]
                               [--human-think 5] [--human-level 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import requests

from cluster.services import Service, free_port, rasa_environment
from cluster.topology import Cluster, ClusterSettings

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).with_name("rasa"))
MODEL = ROOT / "models" / "assistant.tar.gz"
BASELINE_MODEL = ROOT / "models" / "diet-baseline.tar.gz"
BASELINE_CONFIG = ROOT / "scripts" / "diet_baseline_full.yml"
CONVERSATION = ["where is my order ORD-1001?", "alice@example.com", "thanks, bye"]
EXPECTED_REPLY = {1: "is on its way"}  # message index -> text its reply must hold
REQUEST_TIMEOUT_S = 60
PAUSE_SEED = 7  # the same pauses in every run


@dataclass
class LevelResult:
    setup: str
    conversations: int
    think_s: float
    messages: int
    messages_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if values else 0


async def customer(
    session: aiohttp.ClientSession,
    url: str,
    deadline: float,
    think_s: float,
    latencies: list[float],
    errors: list[str],
    pauses: random.Random,
) -> None:
    """Hold order-status conversations, each under a new id, until ``deadline``.

    Customers arrive spread over one pause and pause between 0.5 and 1.5 times
    ``think_s`` (Locust's ``between``): started together and paused alike, every
    customer would send at the same instant, and each wave would queue behind
    itself however idle the server is between waves.
    """
    await asyncio.sleep(pauses.uniform(0, think_s))
    while time.monotonic() < deadline:
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for index, text in enumerate(CONVERSATION):
            started = time.monotonic()
            try:
                async with session.post(
                    url, json={"sender": sender, "message": text}
                ) as response:
                    body = await response.json(content_type=None)
                reply = " ".join(str(m.get("text", "")) for m in body)
                if response.status != 200 or EXPECTED_REPLY.get(index, "") not in reply:
                    errors.append(f"{response.status}: {reply[:80]}")
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                errors.append(repr(error))
            if time.monotonic() < deadline:
                latencies.append(time.monotonic() - started)
            await asyncio.sleep(pauses.uniform(0.5 * think_s, 1.5 * think_s))


async def run_level(
    setup: str, base_url: str, conversations: int, seconds: float, think_s: float
) -> LevelResult:
    latencies: list[float] = []
    errors: list[str] = []
    url = f"{base_url}/webhooks/rest/webhook"
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)
    pauses = random.Random(PAUSE_SEED)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                customer(session, url, deadline, think_s, latencies, errors, pauses)
                for _ in range(conversations)
            )
        )
    milliseconds = [value * 1000 for value in latencies]
    return LevelResult(
        setup=setup,
        conversations=conversations,
        think_s=think_s,
        messages=len(latencies),
        messages_per_s=round(len(latencies) / seconds, 1),
        p50_ms=round(statistics.median(milliseconds), 1) if milliseconds else 0,
        p95_ms=round(percentile(milliseconds, 0.95), 1),
        p99_ms=round(percentile(milliseconds, 0.99), 1),
        errors=len(errors),
    )


@dataclass(frozen=True)
class Topology:
    replicas: int
    workers: int

    def __str__(self) -> str:
        def count(n: int, word: str) -> str:
            return f"{n} {word}{'s' if n > 1 else ''}"

        replicas = count(self.replicas, "replica")
        return f"cluster, {replicas} × {count(self.workers, 'worker')}"


def topology(text: str) -> Topology:
    """``RxW`` on the command line: R replicas of W Sanic workers each."""
    replicas, _, workers = text.partition("x")
    if (
        not (replicas.isdigit() and workers.isdigit())
        or min(int(replicas), int(workers)) < 1
    ):
        raise argparse.ArgumentTypeError(f"{text!r}: expected RxW, e.g. 1x2")
    return Topology(int(replicas), int(workers))


@contextmanager
def project_cluster(shape: Topology, state: Path) -> Iterator[str]:
    """The production topology; rate limits off (every simulated client is local)."""
    cluster = Cluster(
        ClusterSettings(
            state=state,
            model=MODEL,
            replicas=shape.replicas,
            workers=shape.workers,
            port=free_port(),
            rate_per_client=100_000,
            burst_per_client=100_000,
            rate_per_conversation=100_000,
            connections_per_client=60_000,
        )
    )
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


def baseline_model() -> Path:
    """Rasa's stock DIET pipeline with the project's policies, trained once."""
    if BASELINE_MODEL.exists():
        return BASELINE_MODEL
    subprocess.run(
        [RASA, "train", "--config", str(BASELINE_CONFIG), "--out", "models",
         "--fixed-model-name", BASELINE_MODEL.name.removesuffix(".tar.gz")],
        cwd=ROOT, check=True,
    )  # fmt: skip
    return BASELINE_MODEL


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def stock_rasa(state: Path) -> Iterator[str]:
    """Stock Rasa: in-memory tracker and lock store, DIET, one process, no nginx."""
    model = baseline_model()
    database = f"sqlite:///{state / 'assistant.db'}"
    env = rasa_environment(DATABASE_URL=database)
    subprocess.run(
        [sys.executable, "-m", "actions.db", "init"], cwd=ROOT, env=env, check=True
    )
    actions_port, rasa_port = free_port(), free_port()
    endpoints = state / "endpoints.yml"
    endpoints.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n"
    )
    credentials = state / "credentials.yml"
    credentials.write_text("rest:\n")
    services = [
        Service(
            "actions",
            [RASA, "run", "actions", "--port", str(actions_port)],
            state / "actions.log",
            lambda: _up(f"http://127.0.0.1:{actions_port}/health"),
            env=env,
            cwd=ROOT,
        ),
        Service(
            "rasa",
            [RASA, "run", "--model", str(model), "--endpoints", str(endpoints),
             "--credentials", str(credentials), "--port", str(rasa_port)],
            state / "rasa.log",
            lambda: _up(f"http://127.0.0.1:{rasa_port}/webhooks/rest/"),
            env=env,
            cwd=ROOT,
        ),
    ]  # fmt: skip
    try:
        for service in services:
            service.start()
        yield f"http://127.0.0.1:{rasa_port}"
    finally:
        for service in services:
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument(
        "--topologies",
        nargs="+",
        type=topology,
        default=[Topology(1, 1), Topology(1, 2), Topology(2, 1)],
        metavar="RxW",
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--think", type=float, default=0.5, help="pause per message")
    parser.add_argument(
        "--human-think",
        type=float,
        default=5.0,
        help="pause per message at a person's pace, for one more level",
    )
    parser.add_argument(
        "--human-level", type=int, default=50, help="conversations at that pace"
    )
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    setups: list[Topology | None] = list(args.topologies)
    if not args.no_baseline:
        setups.append(None)  # stock Rasa
    levels = [(level, args.think) for level in args.levels]
    levels.append((args.human_level, args.human_think))
    results: list[LevelResult] = []
    for shape in setups:
        name = str(shape) if shape else "stock Rasa (in-memory, DIET)"
        with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
            state = Path(tmp)
            state.chmod(0o755)  # PostgreSQL runs as its own account
            server = project_cluster(shape, state) if shape else stock_rasa(state)
            with server as url:
                asyncio.run(run_level(name, url, 5, 5, args.think))  # warm up
                for level, think_s in levels:
                    result = asyncio.run(
                        run_level(name, url, level, args.seconds, think_s)
                    )
                    results.append(result)
                    print(json.dumps(asdict(result)), flush=True)

    print(f"\n{args.seconds:.0f} s per level; pauses are per message, on average")
    print("| set-up | conversations | pause s | msg/s | p50 ms | p95 ms | p99 ms "
          "| errors |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r.setup} | {r.conversations} | {r.think_s} | {r.messages_per_s} "
              f"| {r.p50_ms} | {r.p95_ms} | {r.p99_ms} | {r.errors} |")  # fmt: skip
    out = ROOT / "results" / "loadtest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
