"""Hostile input over REST and socket.io: no 5xx, no crash, no data touched.

More than 1,000 inputs: random bytes, huge and malformed bodies, wrong JSON
types, path traversal and control characters in sender ids, markup, template
and SQL injection in every slot the forms fill. They go through nginx and
straight to a Rasa replica (past nginx's limits), and over socket.io.
Afterwards every process still runs and the business tables are exactly as
before; only conversation rows (trackers, tickets, audit of failed
verifications) may have been added.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from cluster.topology import Cluster
from tests.channels.socket_client import chat_socket

pytestmark = pytest.mark.e2e

SEED = 20261123
BUSINESS_TABLES = (
    "customers", "accounts", "transactions", "orders", "order_items",
    "returns", "refunds",
)  # fmt: skip
HOSTILE_TEXTS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "' OR '1'='1",
    "ORD-1001'; DROP TABLE orders; --",
    "alice@example.com' OR 1=1 --",
    '" OR ""="',
    "1; DELETE FROM customers",
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "/restart",
    "/inform{\"order_id\": \"ORD-1001' OR '1'='1\"}",
    '/inform{"email": {"$ne": null}}',
    '/inform{"order_id": ["ORD-1001", "ORD-2001"]}',
    "/inform{not json",
    "/" + "a" * 300,
    "\u202eevil\u202c",
    "😀" * 500,
    "A" * 4999,
    "\r\n\r\nHTTP/1.1 200 OK",
    "",
    " ",
]
HOSTILE_SENDERS: list[Any] = [
    "../../etc/passwd",
    "..\\..\\windows",
    "%2e%2e%2f",
    "a" * 256,
    "tab\there",
    "nul\x00byte",
    "<script>",
    "' OR 1=1 --",
    12345,
    None,
    ["a", "b"],
    {"$ne": None},
    True,
    "",
]
# The long-polling client batches quick emits into one HTTP payload, and the
# server refuses a payload of more than 16 packets (as it should).
PACKET_GAP_S = 0.05
FORM_OPENERS = ["where is my order", "cancel my order", "what's my balance?"]


def business_snapshot(cluster: Cluster) -> dict[str, str]:
    """A hash of every row of every business table."""
    engine = create_engine(cluster.database_url, future=True)
    try:
        with engine.connect() as connection:
            return {
                table: hashlib.sha256(
                    repr(
                        connection.execute(
                            text(f"SELECT * FROM {table} ORDER BY 1")
                        ).all()
                    ).encode()
                ).hexdigest()
                for table in BUSINESS_TABLES
            }
    finally:
        engine.dispose()


def rest_cases(rng: random.Random) -> list[tuple[dict[str, str], bytes]]:
    """(headers, body) pairs for the REST webhook."""
    json_headers = {"Content-Type": "application/json"}
    cases: list[tuple[dict[str, str], bytes]] = []
    for _ in range(350):
        cases.append((json_headers, rng.randbytes(rng.randint(0, 2000))))
    for _ in range(60):
        cases.append(({"Content-Type": "text/plain"}, rng.randbytes(50)))
    for size in (20_000, 200_000, 2_000_000):
        body = json.dumps({"sender": "huge", "message": "x" * size}).encode()
        cases.append((json_headers, body))
    malformed = ['{"sender": "a", "message": ', "[", "null", "42", '"text"',
                 '{"sender": "a" "message": "b"}', "{" * 5000, "[]", "{}"]  # fmt: skip
    cases += [(json_headers, body.encode()) for body in malformed * 5]
    wrong_types = [1, 1.5, None, True, [], ["hi"], {"text": "hi"}]
    for value in wrong_types * 4:
        cases.append(
            (json_headers, json.dumps({"sender": "typed", "message": value}).encode())
        )
    for sender in HOSTILE_SENDERS * 4:
        cases.append(
            (json_headers, json.dumps({"sender": sender, "message": "hi"}).encode())
        )
    for message in HOSTILE_TEXTS * 6:
        sender = f"fuzz-{rng.randrange(10**9)}"
        cases.append(
            (json_headers, json.dumps({"sender": sender, "message": message}).encode())
        )
    return cases


def slot_conversations() -> list[list[str]]:
    """Open a form, then answer every question with hostile text."""
    return [
        [opener, hostile, hostile, hostile]
        for opener in FORM_OPENERS
        for hostile in HOSTILE_TEXTS
    ]


async def socket_fuzz(url: str, rng: random.Random) -> int:
    """Hostile socket.io payloads; returns how many were sent."""
    payloads: list[Any] = [None, 42, "text", ["a"], {"message": 42}]
    payloads += [{"message": m, "session_id": s} for m in HOSTILE_TEXTS[:12]
                 for s in ("../../etc", "a" * 300, None)]  # fmt: skip
    payloads += [{"message": "hi", "session_id": rng.randbytes(8).hex(),
                  "customData": bad} for bad in ("{not json", "[1]", 7)]  # fmt: skip
    sent = 0
    async with chat_socket(url) as socket:
        for session_request in (None, 42, {"session_id": ["x"]}, {"session_id": "ok"}):
            await socket.client.emit("session_request", session_request)
            await asyncio.sleep(PACKET_GAP_S)
            sent += 1
        for payload in payloads:
            await socket.client.emit("user_uttered", payload)
            await asyncio.sleep(PACKET_GAP_S)
            sent += 1
        # The connection still works: a normal message is answered.
        await socket.client.emit("user_uttered", {"session_id": "ok", "message": "hi"})
        while True:
            event, data = await socket.next_event()
            if event == "bot_uttered" and "orders" in str(data.get("text", "")):
                break
    return sent


def test_a_thousand_hostile_inputs_change_nothing(cluster: Cluster) -> None:
    rng = random.Random(SEED)
    before = business_snapshot(cluster)
    targets = [cluster.url, cluster.replica_url(0)]
    statuses: list[int] = []

    def post(case: tuple[int, tuple[dict[str, str], bytes]]) -> int:
        index, (headers, body) = case
        url = f"{targets[index % 2]}/webhooks/rest/webhook"
        return requests.post(url, data=body, headers=headers, timeout=60).status_code

    def converse(turns: list[str]) -> list[int]:
        sender = f"fuzz-slots-{uuid.uuid4().hex[:8]}"
        return [
            requests.post(
                f"{cluster.url}/webhooks/rest/webhook",
                json={"sender": sender, "message": turn},
                timeout=60,
            ).status_code
            for turn in turns
        ]

    cases = rest_cases(rng)
    with ThreadPoolExecutor(8) as pool:
        statuses += pool.map(post, enumerate(cases))
        for conversation in pool.map(converse, slot_conversations()):
            statuses += conversation
    for path in ("/webhooks/rest/../../../etc/passwd", "/conversations/..%2f..%2f/x"):
        statuses.append(requests.get(cluster.url + path, timeout=10).status_code)
    # Straight to a replica: socket.io's long-polling needs one replica per session.
    sent_over_socket = asyncio.run(socket_fuzz(cluster.replica_url(0), rng))

    assert len(statuses) + sent_over_socket >= 1000
    server_errors = [status for status in statuses if status >= 500]
    assert server_errors == [], f"{len(server_errors)} 5xx of {len(statuses)}"
    assert all(service.running for service in cluster.services())
    assert business_snapshot(cluster) == before
    health = requests.get(f"{cluster.url}/webhooks/rest/", timeout=10)
    assert health.ok
