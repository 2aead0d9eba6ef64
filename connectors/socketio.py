"""Rasa's socket.io channel: persistent sessions that work, bound to an identity,
reachable from every replica, and never silent on failure.

- Rasa 3.6 calls ``AsyncServer.enter_room`` without ``await``; since
  python-socketio 5.10 that is a coroutine, so the socket never joins its
  session's room and the bot's answers reach nobody (RasaHQ/rasa#13027).
- Rasa checks a JWT at connect and then ignores it, so whoever learns a session
  id can join that conversation. With ``jwt_key`` the token's ``sub`` is the
  conversation: a connect without a valid token is refused, and a session id
  other than ``sub`` gets ``session_refused`` and a disconnect.
- Rasa's server reaches only the sockets of its own process. With ``redis_url``
  the replicas share rooms through Redis (python-socketio's AsyncRedisManager),
  so an answer sent from any replica, e.g. by the HTTP API, reaches the customer.
- A message that fails is answered with an apology (connectors/apology.py).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from rasa.core.channels import socketio as rasa_socketio
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer, exceptions

from connectors.apology import Handler, apologising
from connectors.settings import ChannelSettings, without_settings
from connectors.validation import message_problem, sender_problem

logger = logging.getLogger(__name__)

REFUSED_EVENT = "session_refused"
NOT_YOURS = "the session id is not the token's subject"
UNREADABLE_MESSAGE = (
    "Sorry, I couldn't read that message. Please type it again as plain text."
)


def unreadable(data: Any) -> str | None:
    """Why a ``user_uttered`` payload can't be taken (validation.py), or None."""
    if not isinstance(data, dict):
        return "the payload must be an object"
    session_id = data.get("session_id")
    if session_id is not None and sender_problem(session_id):
        return sender_problem(session_id)
    return message_problem(data.get("message", ""))


def metadata_of(value: Any) -> dict[str, Any]:
    """The message's metadata: an object, or a JSON object in a string; else none."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


class SocketIOInput(rasa_socketio.SocketIOInput):
    """The socket.io channel; a client keeps its conversation by its session id."""

    settings = ChannelSettings()
    redis_url: str | None = None

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        rasa_credentials = without_settings(credentials)
        rasa_credentials.pop("redis_url", None)
        channel = super().from_credentials(rasa_credentials)
        channel.settings = ChannelSettings.from_credentials(credentials)
        channel.redis_url = credentials.get("redis_url") or None
        return channel

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        manager = AsyncRedisManager(self.redis_url) if self.redis_url else None
        # CORS is left to Sanic-CORS (rasa run --cors), as in Rasa's channel.
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], client_manager=manager
        )
        self.sio = sio
        blueprint = rasa_socketio.SocketBlueprint(
            sio, self.socketio_path, "socketio_webhook", __name__
        )
        handle = apologising(on_new_message, self.settings.unavailable_message)
        verifier = self.settings.verifier
        namespace = self.namespace

        async def subject(sid: str) -> str | None:
            """The conversation the socket's token names; None without a secret."""
            if verifier is None:
                return None
            session = await sio.get_session(sid, namespace=namespace)
            return session["subject"]

        async def refuse(sid: str, reason: str) -> None:
            logger.info("socket.io: refused socket %s: %s", sid, reason)
            await sio.emit(
                REFUSED_EVENT, {"error": reason}, to=sid, namespace=namespace
            )
            await sio.disconnect(sid, namespace=namespace)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: Any) -> None:
            if verifier is None:
                return
            token = auth.get("token") if isinstance(auth, dict) else None
            claimed = verifier.subject(token)
            if claimed is None:
                raise exceptions.ConnectionRefusedError("a valid token is required")
            await sio.save_session(sid, {"subject": claimed}, namespace=namespace)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            if requested is not None and sender_problem(requested):
                requested = None  # not a session id we could have issued: a new one
            bound = await subject(sid)
            if bound is not None and requested not in (None, bound):
                await refuse(sid, NOT_YOURS)
                return
            session_id = bound or requested or uuid.uuid4().hex
            if self.session_persistence or bound is not None:
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, to=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def user_message(sid: str, data: Any) -> None:
            problem = unreadable(data)
            if problem is not None:
                logger.info("socket.io: refused a message from %s: %s", sid, problem)
                await sio.emit(
                    self.bot_message_evt,
                    {"text": UNREADABLE_MESSAGE},
                    to=sid,
                    namespace=namespace,
                )
                return
            requested = data.get("session_id")
            bound = await subject(sid)
            if bound is not None and requested not in (None, bound):
                await refuse(sid, NOT_YOURS)
                return
            if bound is not None:
                sender_id = bound
            elif not self.session_persistence:
                sender_id = sid
            elif requested:
                sender_id = requested
            else:
                logger.warning("socket.io: ignored a message without a session id")
                return
            metadata = metadata_of(data.get(self.metadata_key))
            output = rasa_socketio.SocketIOOutput(sio, self.bot_message_evt)
            await handle(
                UserMessage(
                    data.get("message", ""),
                    output,
                    sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        return blueprint
