"""FencedRedisLockStore against a real Redis: order, expiry, ownership, recovery."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import read_endpoint_config

import tests.redis_server as redis_fixtures
from stores.lock_store import FencedRedisLockStore
from tests.conftest import REPO_ROOT, offline_env
from tests.redis_server import RedisServer, running_redis

redis_server = redis_fixtures.redis_server  # the session's Redis, as a fixture here

LIFETIME_S = 1.5
POLL_S = 0.02
MARGIN_S = 0.5
# Importing Rasa takes a second, much longer on a busy machine.
REPLICA_START_TIMEOUT_S = 60
CONVERSATION = "customer-1"
# A replica that takes its place in the conversation's queue, or its lock, and
# never lets go. Arguments: url, prefix, conversation, lifetime, holder timeout.
HANGING_REPLICA = """
import asyncio, sys
from stores.lock_store import FencedRedisLockStore

async def main(url, prefix, conversation, lifetime, timeout):
    store = FencedRedisLockStore(
        url=url, key_prefix=prefix, lock_lifetime=lifetime, holder_timeout=timeout
    )
    async with store.lock(conversation, wait_time_in_seconds=0.05):
        await asyncio.sleep(3600)

asyncio.run(main(*sys.argv[1:4], *map(float, sys.argv[4:6])))
"""


@pytest.fixture
def prefix() -> str:
    """A key prefix of the test's own: tests share the session's Redis."""
    return f"test{uuid.uuid4().hex[:12]}"


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A private Redis, for tests that restart or stop it."""
    with running_redis() as server:
        yield server


def replica(url: str, prefix: str, **settings: float) -> FencedRedisLockStore:
    """One Rasa server's lock store; several of them share one Redis."""
    return FencedRedisLockStore(
        url=url, key_prefix=prefix, **{"lock_lifetime": LIFETIME_S, **settings}
    )


async def time_to_lock(
    store: FencedRedisLockStore, timeout_s: float = LIFETIME_S + 2 * MARGIN_S
) -> float:
    """Seconds until ``store`` holds the conversation's lock, which it then frees."""
    started = time.monotonic()

    async def lock_and_release() -> None:
        async with store.lock(CONVERSATION, wait_time_in_seconds=POLL_S):
            pass

    await asyncio.wait_for(lock_and_release(), timeout_s)
    return time.monotonic() - started


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def assert_keys_expire(url: str, prefix: str) -> None:
    """The store's keys exist, and each expires within two lock lifetimes."""
    client = redis.Redis.from_url(url)
    keys = client.keys(f"{prefix}:*")
    assert keys
    for key in keys:
        assert 0 < client.pttl(key) <= 2 * LIFETIME_S * 1000, key


def assert_one_at_a_time_in_ticket_order(events: list[tuple[str, int, int]]) -> None:
    """``events`` are (start|end, message, ticket): pairs never interleave, and
    tickets are served in increasing order."""
    starts, ends = events[0::2], events[1::2]
    assert [kind for kind, _, _ in starts] == ["start"] * len(starts), events
    assert [(i, t) for _, i, t in starts] == [(i, t) for _, i, t in ends], events
    tickets = [ticket for _, _, ticket in starts]
    assert tickets == sorted(set(tickets)), events


async def test_two_replicas_serve_one_conversation_one_at_a_time_in_order(
    redis_server: RedisServer, prefix: str
) -> None:
    replicas = [replica(redis_server.url, prefix) for _ in range(2)]
    events: list[tuple[str, int, int]] = []

    async def handle(message: int) -> None:
        store = replicas[message % 2]
        async with store.lock(CONVERSATION, wait_time_in_seconds=POLL_S) as lock:
            events.append(("start", message, lock.now_serving))
            await asyncio.sleep(0.01)
            events.append(("end", message, lock.now_serving))

    await asyncio.wait_for(
        asyncio.gather(*(handle(message) for message in range(20))), timeout=10
    )

    assert len(events) == 40
    assert_one_at_a_time_in_ticket_order(events)
    assert sorted(ticket for _, _, ticket in events[0::2]) == list(range(1, 21))


async def test_a_holder_that_never_releases_blocks_for_one_lifetime(
    redis_server: RedisServer, prefix: str
) -> None:
    """Its claim is renewed past the holder timeout, but not past the lifetime."""
    stuck, other = (
        replica(redis_server.url, prefix, holder_timeout=LIFETIME_S / 3)
        for _ in range(2)
    )
    hung = stuck.lock(CONVERSATION)
    await hung.__aenter__()  # never exited: a handler that hangs

    waited = await time_to_lock(other)

    assert LIFETIME_S - 0.2 < waited < LIFETIME_S + MARGIN_S


def start_hanging_replica(
    url: str, prefix: str, lifetime_s: float, holder_timeout_s: float
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HANGING_REPLICA, url, prefix, CONVERSATION,
         str(lifetime_s), str(holder_timeout_s)],
        cwd=REPO_ROOT, env=offline_env(), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def kill(process: subprocess.Popen) -> float:
    """``kill -9`` the process; the moment it was dead."""
    process.send_signal(signal.SIGKILL)
    _, errors = process.communicate()
    assert process.returncode == -signal.SIGKILL, errors
    return time.monotonic()


async def test_a_crashed_holder_blocks_its_conversation_only_for_the_holder_timeout(
    redis_server: RedisServer, prefix: str
) -> None:
    """A replica killed mid-message: the next message waits seconds, not a lifetime."""
    lifetime_s, timeout_s = REPLICA_START_TIMEOUT_S, 1.0
    crashing = start_hanging_replica(redis_server.url, prefix, lifetime_s, timeout_s)
    claim = f"{prefix}:lock:{CONVERSATION}:claim"
    client = redis.Redis.from_url(redis_server.url)
    try:
        await wait_until(
            lambda: client.exists(claim) or crashing.poll() is not None,
            timeout_s=REPLICA_START_TIMEOUT_S,
        )
        await asyncio.sleep(3 * timeout_s)  # renewed meanwhile: still held
        assert client.exists(claim), "the live holder's claim lapsed"
    finally:
        died = kill(crashing)
    other = replica(
        redis_server.url, prefix, lock_lifetime=lifetime_s, holder_timeout=timeout_s
    )

    await time_to_lock(other, timeout_s=timeout_s + 2 * MARGIN_S)

    assert time.monotonic() - died < timeout_s + MARGIN_S


async def test_a_replica_that_died_waiting_delays_the_next_one_lifetime_at_most(
    redis_server: RedisServer, prefix: str
) -> None:
    store = replica(redis_server.url, prefix)
    holding = store.lock(CONVERSATION, lock_lifetime=REPLICA_START_TIMEOUT_S)
    await holding.__aenter__()  # however slowly the replica starts, it has to queue
    dying = start_hanging_replica(redis_server.url, prefix, LIFETIME_S, LIFETIME_S)
    try:
        await wait_until(
            lambda: store.is_someone_waiting(CONVERSATION) or dying.poll() is not None,
            timeout_s=REPLICA_START_TIMEOUT_S,
        )
    finally:
        died = kill(dying)
    await holding.__aexit__(None, None, None)

    # Queued behind the dead replica's ticket, which lapses within a lifetime.
    await time_to_lock(store)
    waited = time.monotonic() - died

    assert LIFETIME_S - 0.3 < waited < LIFETIME_S + MARGIN_S


async def test_an_expired_holder_cannot_release_the_next_holders_lock(
    redis_server: RedisServer, prefix: str
) -> None:
    store = replica(redis_server.url, prefix)
    overrunning = store.lock(CONVERSATION, wait_time_in_seconds=POLL_S)
    await overrunning.__aenter__()
    second = store.lock(CONVERSATION, wait_time_in_seconds=POLL_S)
    await asyncio.wait_for(second.__aenter__(), LIFETIME_S + MARGIN_S)

    # The first holder's claim has expired; it finishes late and releases.
    await overrunning.__aexit__(None, None, None)
    third = asyncio.create_task(time_to_lock(store))
    await asyncio.sleep(0.3)
    assert not third.done(), "the late release freed the next holder's lock"
    await second.__aexit__(None, None, None)
    assert await third < 0.3 + MARGIN_S


async def test_locks_recover_when_redis_restarts_empty(
    own_redis: RedisServer, prefix: str
) -> None:
    replicas = [replica(own_redis.url, prefix) for _ in range(2)]
    events: list[tuple[str, int, int]] = []

    async def handle(message: int, busy_s: float) -> None:
        store = replicas[message % 2]
        async with store.lock(CONVERSATION, wait_time_in_seconds=POLL_S) as lock:
            events.append(("start", message, lock.now_serving))
            await asyncio.sleep(busy_s)
            events.append(("end", message, lock.now_serving))

    holder = asyncio.create_task(handle(0, busy_s=1.0))
    await wait_until(lambda: bool(events))
    waiters = [asyncio.create_task(handle(message, 0.05)) for message in (1, 2, 3, 4)]
    await asyncio.sleep(0.1)
    restarted = time.monotonic()
    await asyncio.to_thread(own_redis.restart)

    await asyncio.wait_for(
        asyncio.gather(holder, *waiters), timeout=LIFETIME_S + 3 * MARGIN_S
    )
    assert time.monotonic() - restarted < LIFETIME_S + 2 * MARGIN_S
    assert len(events) == 10
    assert_one_at_a_time_in_ticket_order(events)
    assert_keys_expire(own_redis.url, prefix)  # also the keys rebuilt after the loss
    assert await time_to_lock(replicas[0]) < MARGIN_S


async def test_unreachable_redis_raises_lock_error_in_bounded_time(
    own_redis: RedisServer, prefix: str
) -> None:
    store = replica(own_redis.url, prefix, retry_seconds=1)
    await time_to_lock(store)
    own_redis.stop()
    started = time.monotonic()

    with pytest.raises(LockError):
        await time_to_lock(store, timeout_s=10)

    assert time.monotonic() - started < 1 + 2 * MARGIN_S


async def test_rasa_creates_the_store_from_endpoints_yml(
    redis_server: RedisServer, prefix: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "lock_store:\n"
        "  type: stores.lock_store.FencedRedisLockStore\n"
        "  url: ${REDIS_URL}\n"
        f"  key_prefix: {prefix}\n"
        "  lock_lifetime: 7\n"
        "  holder_timeout: 3\n"
    )

    store = LockStore.create(read_endpoint_config(str(endpoints), "lock_store"))

    assert isinstance(store, FencedRedisLockStore)
    assert (store.url, store.key_prefix) == (redis_server.url, prefix)
    assert (store.lock_lifetime, store.holder_timeout) == (7, 3)
    await time_to_lock(store)
    assert redis.Redis.from_url(redis_server.url).keys(f"{prefix}:*")


def test_lock_lifetime_defaults_to_rasas_setting(monkeypatch) -> None:
    monkeypatch.setenv("TICKET_LOCK_LIFETIME", "9")
    assert FencedRedisLockStore(url="redis://127.0.0.1:1/0").lock_lifetime == 9


async def test_keys_of_idle_conversations_expire(
    redis_server: RedisServer, prefix: str
) -> None:
    store = replica(redis_server.url, prefix)

    async with store.lock(CONVERSATION):
        waiting = asyncio.create_task(time_to_lock(store))
        await wait_until(lambda: store.is_someone_waiting(CONVERSATION))
        assert_keys_expire(redis_server.url, prefix)
    await waiting

    assert_keys_expire(redis_server.url, prefix)
