"""Several replicas act as one assistant: shared conversations, one lock, one stream."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from cluster.topology import EVENT_QUEUE, Cluster
from tests.cluster.conftest import say, texts, tracker_events

pytestmark = pytest.mark.e2e

CONCURRENT_MESSAGES = 20
TCP_TIME_WAIT = "06"  # the state's code in /proc/net/tcp


def test_a_conversation_moves_between_replicas(cluster: Cluster) -> None:
    """Replica 0 asks for the email; replica 1 knows which order it was for."""
    sender = f"moves-{uuid.uuid4().hex[:8]}"
    assert "email address" in texts(
        say(cluster.replica_url(0), sender, "where is my order ORD-1001?")
    )
    reply = texts(say(cluster.replica_url(1), sender, "alice@example.com"))
    assert "Order ORD-1001 is on its way with UPS." in reply


def test_messages_of_one_conversation_run_one_at_a_time(cluster: Cluster) -> None:
    """20 messages at once through both replicas: each gets its own whole turn.

    Without a lock that holds across replicas two of them read the same tracker
    and both append to it: turns interleave, or a message's events are lost.
    """
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    messages = [f"hello there {number}" for number in range(CONCURRENT_MESSAGES)]
    barrier = threading.Barrier(CONCURRENT_MESSAGES)

    def send(number: int) -> list[str]:
        replica = cluster.replica_url(number % len(cluster.replica_ports))
        barrier.wait()
        response = say(replica, sender, messages[number])
        assert response.status_code == 200
        return [message["text"] for message in response.json()]

    with ThreadPoolExecutor(CONCURRENT_MESSAGES) as pool:
        replies = dict(zip(messages, pool.map(send, range(CONCURRENT_MESSAGES))))

    turns: list[list[dict]] = []
    for event in tracker_events(cluster, sender):
        if event["event"] == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    assert sorted(turn[0]["text"] for turn in turns) == sorted(messages)
    for turn in turns:
        listens = [event for event in turn if event.get("name") == "action_listen"]
        assert len(listens) == 1 and turn[-1] is listens[0], turn
        said = [event["text"] for event in turn if event["event"] == "bot"]
        assert said and said == replies[turn[0]["text"]], turn


async def _event_queue(cluster: Cluster) -> tuple[Any, Any]:
    connection = await aio_pika.connect_robust(
        host="127.0.0.1",
        port=cluster.ports["rabbitmq"],
        login="guest",
        password="guest",
    )
    channel = await connection.channel()
    return connection, await channel.declare_queue(EVENT_QUEUE, durable=True)


async def _purge(cluster: Cluster) -> None:
    """Drop what earlier tests left in the queue (thousands of events)."""
    connection, queue = await _event_queue(cluster)
    async with connection:
        await queue.purge()


async def _drain(cluster: Cluster, seconds: float) -> list[dict]:
    """Every event in the queue, until it stays empty for a second."""
    connection, queue = await _event_queue(cluster)
    bodies: list[dict] = []
    async with connection:
        deadline = time.monotonic() + seconds
        idle_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - idle_since < 1:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            idle_since = time.monotonic()
            bodies.append(json.loads(message.body))
    return bodies


def test_every_event_reaches_the_event_stream(cluster: Cluster) -> None:
    sender = f"stream-{uuid.uuid4().hex[:8]}"
    asyncio.run(_purge(cluster))
    say(cluster.url, sender, "where is my order ORD-1001?")
    say(cluster.url, sender, "alice@example.com")

    published = [
        body
        for body in asyncio.run(_drain(cluster, seconds=30))
        if body.get("sender_id") == sender
    ]
    stored = tracker_events(cluster, sender)
    assert [event["event"] for event in published] == [
        event["event"] for event in stored
    ]
    user_texts = [event.get("text") for event in published if event["event"] == "user"]
    assert user_texts == ["where is my order ORD-1001?", "alice@example.com"]
    bot_texts = " ".join(e.get("text") or "" for e in published if e["event"] == "bot")
    assert "Order ORD-1001 is on its way with UPS." in bot_texts


def closed_connections(port: int) -> int:
    """Recently closed TCP connections (TIME_WAIT) with ``port`` at either end."""
    closed = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            ports = {int(end.rsplit(":", 1)[1], 16) for end in fields[1:3]}
            closed += port in ports and fields[3] == TCP_TIME_WAIT
    return closed


def test_nginx_keeps_its_connections_to_the_replicas_open(cluster: Cluster) -> None:
    """A new connection per message costs nginx and the replica CPU on each one."""
    sender = f"keepalive-{uuid.uuid4().hex[:8]}"
    before = [closed_connections(port) for port in cluster.replica_ports]
    for _ in range(20):
        assert say(cluster.url, sender, "hello").status_code == 200
    after = [closed_connections(port) for port in cluster.replica_ports]
    assert sum(after) - sum(before) < 3
