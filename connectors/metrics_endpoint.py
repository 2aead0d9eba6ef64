"""``GET /metrics``: the Rasa server's figures in Prometheus's text format.

A channel in credentials.yml only so that every Rasa server serves it on its own
port; it never passes a message to the bot. The figures (metrics/assistant.py)
are counts and timings by channel, intent and cause, never message text, and
like the action server's /metrics the route is open on the server's own port,
as Prometheus's targets usually are: the cluster's nginx and the deployments in
deploy/ never publish it; Prometheus scrapes each server (deploy/prometheus/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import metrics


class MetricsEndpoint(InputChannel):
    """``/metrics`` for Prometheus, every Sanic worker's figures added up."""

    @classmethod
    def name(cls) -> str:
        return "metrics"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def url_prefix(self) -> str:
        # Rasa joins it to /webhooks/; an absolute path replaces that.
        return "/metrics"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        endpoint = Blueprint("metrics_endpoint", __name__)

        @endpoint.route("/", methods=["GET"])
        async def scrape(_request: Request) -> HTTPResponse:
            return response.raw(
                metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
            )

        return endpoint
