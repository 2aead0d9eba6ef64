"""A real socket.io client speaking the chat widget's protocol, for tests.

It records every event the server sends, in order, so a test can wait for the
one it expects and see what else arrived (a refusal, a disconnect).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio

REPLY_TIMEOUT_S = 60
SERVER_EVENTS = ("session_confirm", "session_refused", "bot_uttered")


class ChatSocket:
    """One browser tab's socket: sends as the widget does, queues what arrives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for name in (*SERVER_EVENTS, "disconnect"):
            self.client.on(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        async def record(*data: Any) -> None:
            await self.events.put((name, data[0] if data else None))

        return record

    async def next_event(self, timeout: float = REPLY_TIMEOUT_S) -> tuple[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def expect(self, name: str, timeout: float = REPLY_TIMEOUT_S) -> Any:
        """The data of the next event, which must be ``name``."""
        event, data = await self.next_event(timeout)
        assert event == name, f"expected {name}, got {event}: {data}"
        return data

    async def start_session(self, session_id: str | None) -> Any:
        await self.client.emit("session_request", {"session_id": session_id})
        return await self.next_event()

    async def say(self, session_id: str | None, message: str) -> None:
        await self.client.emit(
            "user_uttered", {"session_id": session_id, "message": message}
        )


@asynccontextmanager
async def chat_socket(url: str, token: str | None = None) -> AsyncIterator[ChatSocket]:
    """A connected ``ChatSocket``.

    Long-polling only: python-engineio's websocket client needs aiohttp 3.10,
    and Rasa pins 3.9. The browser test covers the widget's websocket transport.
    """
    socket = ChatSocket()
    await socket.client.connect(
        url,
        auth={"token": token} if token else None,
        transports=["polling"],
        wait_timeout=30,
    )
    try:
        yield socket
    finally:
        # Hang up at once: a polite disconnect waits out the long-poll (~30 s).
        await socket.client.eio.disconnect(abort=True)


async def refusal(url: str, token: str | None) -> Any:
    """What the server said when it refused to connect; fails if it connected.

    Not ``chat_socket``: after a refusal python-socketio's client disconnects
    politely, waiting out the long-poll, before it raises.
    """
    client = socketio.AsyncClient(reconnection=False)
    outcome: asyncio.Future[tuple[str, Any]] = asyncio.Future()

    def settle(event: str, data: Any = None) -> None:
        if not outcome.done():
            outcome.set_result((event, data))

    client.on("connect", lambda: settle("connect"))
    client.on("connect_error", lambda data: settle("connect_error", data))
    await client.connect(
        url,
        auth={"token": token} if token else None,
        transports=["polling"],
        wait=False,
    )
    try:
        event, data = await asyncio.wait_for(outcome, REPLY_TIMEOUT_S)
    finally:
        await client.eio.disconnect(abort=True)
    assert event == "connect_error", "the server accepted the connection"
    return data
