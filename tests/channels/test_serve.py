"""scripts/serve.sh: one command, every channel, health-checked, API behind a token.

Stopping it with Ctrl-C, and checking that nothing is left, happens when the
``stack`` fixture ends, after the last test of tests/channels (conftest.py).
"""

from __future__ import annotations

import pytest
import requests

from tests.channels.conftest import Stack

pytestmark = pytest.mark.e2e


def test_start_up_says_which_connectors_are_on(stack: Stack) -> None:
    output = stack.output.read_text()
    assert "serve: ready" in output
    for connector in (
        "connectors.rest.RestInput",
        "connectors.socketio.SocketIOInput",
        "slack",
        "connectors.rest.CallbackInput",
        "connectors.analytics_page.AnalyticsPage",
        "connectors.metrics_endpoint.MetricsEndpoint",
    ):
        assert f"credentials: {connector}: on" in output
    assert (
        "credentials: facebook: off (FACEBOOK_VERIFY_TOKEN, FACEBOOK_APP_SECRET, "
        "FACEBOOK_PAGE_ACCESS_TOKEN not set)" in output
    )
    assert "credentials: telegram: off (TELEGRAM_TOKEN," in output
    assert "credentials: twilio: off (TWILIO_ACCOUNT_SID," in output
    assert "HTTP API                        on, token from RASA_API_TOKEN" in output


def test_http_api_needs_the_token(stack: Stack) -> None:
    assert requests.get(f"{stack.rasa_url}/status", timeout=10).status_code == 401
    status = requests.get(
        f"{stack.rasa_url}/status", params={"token": stack.api_token}, timeout=10
    )
    assert status.ok and status.json()["model_id"]


def test_web_page_serves_the_widget_and_its_client(stack: Stack) -> None:
    page = requests.get(f"{stack.web_url}/", timeout=10)
    assert page.ok and "RasaChat.start" in page.text
    for asset in (
        "chat-widget.js",
        "chat-widget.css",
        "node_modules/socket.io-client/dist/socket.io.min.js",
    ):
        assert requests.get(f"{stack.web_url}/{asset}", timeout=10).ok, asset


def test_socketio_accepts_the_page_origin_only(stack: Stack) -> None:
    """Long-polling (socket.io's fallback to websockets) is subject to CORS."""
    url = f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling"
    page_origin = stack.web_url
    allowed = requests.get(url, headers={"Origin": page_origin}, timeout=10)
    other = requests.get(url, headers={"Origin": "http://evil.test"}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == page_origin
    assert "Access-Control-Allow-Origin" not in other.headers
