"""Rasa's socket.io channel, with session persistence that works.

Rasa 3.6 calls ``AsyncServer.enter_room`` without ``await``. Since
python-socketio 5.10 that is a coroutine, so the socket never joins its
session's room, and the bot's answers, which are sent to that room, reach
nobody (RasaHQ/rasa#13027). This channel registers the ``session_request``
handler again, with the ``await``; everything else is Rasa's.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels import socketio
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint


class SocketIOInput(socketio.SocketIOInput):
    """The socket.io channel; a client keeps its conversation by its session id."""

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            session_id = (data or {}).get("session_id") or uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit(
                "session_confirm", session_id, room=sid, namespace=self.namespace
            )

        return blueprint
