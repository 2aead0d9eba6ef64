"""Conversation locks in Redis that hold across Rasa replicas.

Rasa's ``RedisLockStore`` reads a JSON ticket list, edits it and writes it back,
so two replicas can take one conversation's lock together (RasaHQ/rasa#9213).
Here every step is one Lua script, atomic in Redis:

- Order: each message draws a ticket (``INCR``) and queues under it; the lowest
  live ticket goes next, so messages are handled one at a time in arrival order.
- Expiry: one message holds the lock for at most the lock lifetime
  (``lock_lifetime`` in endpoints.yml, else ``TICKET_LOCK_LIFETIME``, else 60 s),
  so a handler that hangs blocks its conversation for one lifetime.
- Dead predecessors: the holder's claim is a key with a TTL of the holder
  timeout (``holder_timeout``, 5 s, at most a lifetime), renewed from a thread
  while its message is handled; waiters refresh a heartbeat as often. A crashed
  replica's claim, or a dead waiter's ticket, lapses within the holder timeout,
  not a whole lifetime, so its conversations move on within seconds.
- Owner-checked release: only the claim's owner deletes it, so a holder that ran
  past its lifetime cannot free the lock of the one after it.
- Redis restarted (data lost): waiters re-queue under their old tickets and, as
  nobody knows whether the old holder still works, wait for it at most one
  lifetime (less if it releases). Only a message that arrives before any waiter
  has re-queued can overtake them, or overlap the old holder.
- Redis unreachable: retried for ``retry_seconds``, then Rasa's ``LockError``, so
  the channel apologises instead of hanging.
- Every key expires two lifetimes after its conversation's last lock activity.

Needs Redis 5 or newer (the scripts read the server clock).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

import redis
import redis.asyncio
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LockError, LockStore, _get_lock_lifetime
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "rasa"
DEFAULT_RETRY_SECONDS = 5.0
DEFAULT_POLL_SECONDS = 0.05
DEFAULT_HOLDER_TIMEOUT_SECONDS = 5.0
RETRY_INTERVAL_S = 0.25
# Per command and per connection attempt, so one call can never hang.
CLIENT_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
# The claim set when Redis lost its data: a holder from before may still be working.
RECOVERY_CLAIM = "recovery"

_SERVER_NOW_MS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# KEYS: ticket counter, queue (token by ticket), heartbeats (token -> deadline ms).
# ARGV: token, holder timeout ms, idle ms. Returns the ticket.
_JOIN = (
    _SERVER_NOW_MS
    + """
local ticket = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ticket, ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], now + tonumber(ARGV[2]))
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return ticket
"""
)

# KEYS: as _JOIN, plus the claim. ARGV: token, ticket, lifetime ms, idle ms, the
# recovery claim, holder timeout ms. Returns 1 if the caller now holds the claim,
# else 0.
_TRY_ACQUIRE = (
    _SERVER_NOW_MS
    + """
local counter, queue, alive, claim = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local token, ticket, lifetime = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local timeout = tonumber(ARGV[6])
local holder = redis.call('GET', claim)
if holder == token then return 1 end  -- the reply to an earlier try was lost
if not redis.call('ZSCORE', queue, token) then
  -- Dropped as dead, or Redis lost its data: then the counter is behind us.
  if (tonumber(redis.call('GET', counter)) or 0) < ticket then
    redis.call('SET', counter, ticket)
    if not holder then
      holder = ARGV[5]
      redis.call('SET', claim, holder, 'PX', lifetime)
    end
  end
  redis.call('ZADD', queue, ticket, token)
end
redis.call('HSET', alive, token, now + timeout)
local acquired = 0
if not holder then
  -- Drop tickets whose heartbeat lapsed; ours is fresh, so the loop stops.
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  while (tonumber(redis.call('HGET', alive, head)) or 0) < now do
    redis.call('ZREM', queue, head)
    redis.call('HDEL', alive, head)
    head = redis.call('ZRANGE', queue, 0, 0)[1]
  end
  if head == token then
    redis.call('ZREM', queue, token)
    redis.call('HDEL', alive, token)
    redis.call('SET', claim, token, 'PX', timeout)
    acquired = 1
  end
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return acquired
"""
)

# KEYS: the claim. ARGV: token, TTL ms. Returns 1 if the caller still held the claim
# (now for the TTL), else 0.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: queue, heartbeats, claim. ARGV: token, "1" if the caller's claim has not
# lapsed yet (then a recovery claim can only be guarding it), the recovery claim.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[1] or (holder == ARGV[3] and ARGV[2] == '1') then
  redis.call('DEL', KEYS[3])
end
"""


class _Keys(NamedTuple):
    counter: str
    queue: str
    alive: str
    claim: str


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass
class _HeldClaim:
    """A claim this process holds, as its renewing thread sees it (monotonic s)."""

    key: str
    timeout: float
    until: float  # the end of the message's lifetime: never renewed past it
    confirmed_at: float  # when the claim was last known to be ours

    def lapses_at(self) -> float:
        return min(self.confirmed_at + self.timeout, self.until)


class FencedRedisLockStore(LockStore):
    """Rasa lock store for replicas sharing one Redis (see the module docstring).

    Rasa 3.6 only calls ``lock()``; the base class's ``TicketLock`` bookkeeping
    (``get_lock``, ``issue_ticket``, ...) has no meaning here and is not supported.
    """

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        url: str | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        lock_lifetime: float | None = None,
        holder_timeout: float = DEFAULT_HOLDER_TIMEOUT_SECONDS,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        """Rasa passes only ``endpoint_config``, the ``lock_store`` entry of
        endpoints.yml; its keys are the keyword arguments, ``url`` included."""
        if endpoint_config is not None:  # an unknown key fails here, loudly
            kwargs = {"url": endpoint_config.url, **endpoint_config.kwargs}
            FencedRedisLockStore.__init__(self, **kwargs)
            return
        if not url:
            raise ValueError("FencedRedisLockStore needs the Redis url")
        self.url = url
        self.key_prefix = key_prefix
        self.lock_lifetime = float(lock_lifetime or _get_lock_lifetime())
        self.holder_timeout = float(holder_timeout)
        self.retry_seconds = float(retry_seconds)
        self.poll_seconds = float(poll_seconds)
        self._sync_client = redis.Redis.from_url(url, **CLIENT_TIMEOUTS)
        self._renew = self._sync_client.register_script(_RENEW)
        self._held: dict[str, _HeldClaim] = {}  # by token
        self._held_guard = threading.Lock()
        self._shorter_timeout_added = threading.Event()
        self._renewer: threading.Thread | None = None
        self._clients: WeakKeyDictionary[
            asyncio.AbstractEventLoop, redis.asyncio.Redis
        ] = WeakKeyDictionary()
        super().__init__()

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float | None = None,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Wait for every earlier ticket of the conversation, then hold its lock.

        The message may hold it for ``lock_lifetime`` (default: the store's); its
        claim is renewed meanwhile, each time for the holder timeout. Waiting
        polls every ``poll_seconds`` (Rasa asks for 1 s, which would add up to a
        second to every queued message), and at least four times per holder
        timeout, so a live waiter's heartbeat never lapses. Yields a
        ``TicketLock`` holding just this message's ticket.
        """
        lifetime = lock_lifetime or self.lock_lifetime
        timeout = self._timeout(lifetime)
        keys = self._keys(conversation_id)
        token = uuid.uuid4().hex
        try:
            ticket = await self._call(
                _JOIN, keys[:3], [token, _ms(timeout), _ms(2 * lifetime)]
            )
            poll_s = min(wait_time_in_seconds, self.poll_seconds, timeout / 4)
            args = [
                token, ticket, _ms(lifetime), _ms(2 * lifetime), RECOVERY_CLAIM,
                _ms(timeout),
            ]  # fmt: skip
            while True:
                # Taken before the try, so the claim's age is never underestimated.
                attempt_at = time.monotonic()
                if await self._call(_TRY_ACQUIRE, keys, args):
                    break
                await asyncio.sleep(poll_s)
            claim = _HeldClaim(keys.claim, timeout, attempt_at + lifetime, attempt_at)
            self._keep_renewing(token, claim)
            logger.debug(f"Locked conversation '{conversation_id}', ticket {ticket}.")
            yield TicketLock(
                conversation_id, deque([Ticket(ticket, time.time() + lifetime)])
            )
        finally:
            with self._held_guard:
                held = self._held.pop(token, None)
            still_held = held is not None and time.monotonic() < held.lapses_at()
            await self._leave(keys, token, still_held)

    def _keep_renewing(self, token: str, claim: _HeldClaim) -> None:
        with self._held_guard:
            self._held[token] = claim
            if claim.timeout < self._timeout(self.lock_lifetime):
                self._shorter_timeout_added.set()  # renew sooner than usual
            # Not alive in a process forked from the one that started it.
            if self._renewer is None or not self._renewer.is_alive():
                self._renewer = threading.Thread(
                    target=self._renew_held_claims, name="lock-renewer", daemon=True
                )
                self._renewer.start()

    def _renew_held_claims(self) -> None:
        """Renew this process's claims, each up to its lifetime, for ever.

        A thread rather than a task: however busy the event loop, a live holder's
        claim does not lapse and let the next message in; only a dead process (or
        a hung handler, at its lifetime) stops the renewals. Every quarter of the
        shortest timeout it renews the claims older than a quarter of theirs, so
        each is renewed before half its timeout has passed.
        """
        while True:
            with self._held_guard:
                held = list(self._held.items())
                self._shorter_timeout_added.clear()
            for token, claim in held:
                now = time.monotonic()
                if now - claim.confirmed_at < claim.timeout / 4 or now >= claim.until:
                    continue
                ttl = min(claim.timeout, claim.until - now)
                try:
                    if self._renew(keys=[claim.key], args=[token, _ms(ttl)]):
                        claim.confirmed_at = now
                except redis.RedisError as error:
                    logger.warning(f"Could not renew a conversation lock: {error}")
            timeouts = [claim.timeout for _, claim in held]
            shortest = min([self._timeout(self.lock_lifetime), *timeouts])
            self._shorter_timeout_added.wait(shortest / 4)

    def _timeout(self, lifetime: float) -> float:
        """The holder timeout of a lock with this lifetime: never longer."""
        return min(self.holder_timeout, lifetime)

    def is_someone_waiting(self, conversation_id: str) -> bool:
        """Whether a message of the conversation is queued (a dead one for at most
        the holder timeout), not counting the holder."""
        return bool(self._sync_client.exists(self._keys(conversation_id).queue))

    async def _leave(self, keys: _Keys, token: str, still_held: bool) -> None:
        """Give up the claim or the place in the queue, never raising: a claim we
        fail to delete still expires. Retried only for a claim still held, since
        otherwise the next message waits until it lapses."""
        args = [token, "1" if still_held else "0", RECOVERY_CLAIM]
        retry_s = self.retry_seconds if still_held else 0
        try:
            await self._call(_LEAVE, keys[1:], args, retry_s)
        except LockError as error:
            logger.warning(f"Could not release a conversation lock: {error}")

    async def _call(
        self,
        script: str,
        keys: Sequence[str],
        args: Sequence[str | int],
        retry_seconds: float | None = None,
    ) -> Any:
        """Run ``script``, retrying while Redis is unreachable, then ``LockError``."""
        client = self._client()
        retry_s = self.retry_seconds if retry_seconds is None else retry_seconds
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return await client.register_script(script)(keys=keys, args=args)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if time.monotonic() >= deadline:
                    raise LockError(f"Redis lock store unreachable: {error}") from error
                await asyncio.sleep(RETRY_INTERVAL_S)

    def _client(self) -> redis.asyncio.Redis:
        """This event loop's client: a redis.asyncio pool works in one loop only."""
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = redis.asyncio.Redis.from_url(
                self.url, **CLIENT_TIMEOUTS
            )
        return self._clients[loop]

    def _keys(self, conversation_id: str) -> _Keys:
        base = f"{self.key_prefix}:lock:{conversation_id}"
        return _Keys(*(f"{base}:{field}" for field in _Keys._fields))
