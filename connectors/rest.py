"""Rasa's REST and callback channels, made safe to expose and never silent.

Both answer a failed message with an apology (connectors/apology.py) instead of
``[]`` or an error. With ``jwt_key`` set they take a message only with an
``Authorization: Bearer <JWT>`` header whose ``sub`` is the request's ``sender``
(connectors/tokens.py): 401 without a valid token, 403 for another sender's
conversation, and the message never reaches the bot.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels import callback, rest
from rasa.core.channels.channel import InputChannel
from rasa.utils.endpoints import EndpointConfig
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.apology import Handler, apologising
from connectors.settings import ChannelSettings, without_settings
from connectors.tokens import TokenVerifier
from connectors.validation import body_problem


def validated(blueprint: Blueprint) -> Blueprint:
    """``blueprint``, answering 400 with a reason to any malformed POST.

    (connectors/validation.py says why.)
    """

    @blueprint.middleware("request")
    async def check_body(request: Request) -> HTTPResponse | None:
        if request.method != "POST":
            return None
        try:
            body = request.json
        except Exception:  # Sanic raises its own error for unparsable JSON
            body = None
        problem = body_problem(body)
        return None if problem is None else response.json({"error": problem}, 400)

    return blueprint


def guarded(blueprint: Blueprint, verifier: TokenVerifier | None) -> Blueprint:
    """``blueprint``, refusing each POST whose bearer token is not its sender's."""
    if verifier is None:
        return blueprint

    @blueprint.middleware("request")
    async def check_token(request: Request) -> HTTPResponse | None:
        if request.method != "POST":
            return None  # the health check and CORS pre-flight stay open
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        subject = verifier.subject(token) if scheme.lower() == "bearer" else None
        if subject is None:
            return response.json(
                {"error": "a valid bearer token is required"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = request.json
        if not isinstance(body, dict) or body.get("sender") != subject:
            return response.json(
                {"error": "the token is for another sender"}, status=403
            )
        return None

    return blueprint


class RestInput(rest.RestInput):
    """POST /webhooks/rest/webhook; the bot's messages are the JSON answer."""

    def __init__(self, settings: ChannelSettings | None = None) -> None:
        self.settings = settings or ChannelSettings()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(ChannelSettings.from_credentials(credentials or {}))

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        handler = apologising(on_new_message, self.settings.unavailable_message)
        return guarded(validated(super().blueprint(handler)), self.settings.verifier)


class CallbackInput(callback.CallbackInput):
    """Like REST, but the bot's messages are POSTed to the callback ``url``."""

    def __init__(
        self, endpoint: EndpointConfig, settings: ChannelSettings | None = None
    ) -> None:
        super().__init__(endpoint)
        self.settings = settings or ChannelSettings()

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            EndpointConfig.from_dict(without_settings(credentials)),
            ChannelSettings.from_credentials(credentials),
        )

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        handler = apologising(on_new_message, self.settings.unavailable_message)
        return guarded(validated(super().blueprint(handler)), self.settings.verifier)
