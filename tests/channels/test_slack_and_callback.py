"""Messaging connectors on the real server: Slack checks who is calling, and the
callback channel delivers the bot's answer to the configured HTTP endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

from tests.channels.conftest import Stack

pytestmark = pytest.mark.e2e

REPLY_TIMEOUT_S = 60
SLACK_POST_MESSAGE = "https://slack.com/api/chat.postMessage"


def slack_event(user: str, text: str) -> bytes:
    """A direct message to the bot, as Slack's Events API sends it."""
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "D0000000001",
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
    }
    return json.dumps({"type": "event_callback", "event": event}).encode()


def slack_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict:
    """Headers signed the way Slack signs requests (v0, HMAC-SHA256)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def post_to_slack_webhook(
    stack: Stack, body: bytes, headers: dict
) -> requests.Response:
    return requests.post(
        f"{stack.rasa_url}/webhooks/slack/webhook",
        data=body,
        headers=headers,
        timeout=REPLY_TIMEOUT_S,
    )


def slack_deliveries(stack: Stack) -> int:
    """How often Rasa has posted an answer to Slack's API, as its log tells.

    The answer can't leave this machine, so Rasa logs the attempt and drops the
    turn: the tracker never shows it, the log is where it can be seen.
    """
    return (stack.logs / "rasa.log").read_text().count(SLACK_POST_MESSAGE)


@pytest.mark.parametrize(
    "signing",
    ["unsigned", "wrong secret", "tampered body", "replayed after 10 minutes"],
)
def test_slack_rejects_a_request_it_did_not_sign(stack: Stack, signing: str) -> None:
    user = f"U{uuid.uuid4().hex[:10].upper()}"
    body = slack_event(user, "where is my order ORD-1001?")
    if signing == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif signing == "wrong secret":
        headers = slack_headers("not-the-signing-secret", body)
    elif signing == "tampered body":
        headers = slack_headers(stack.slack_signing_secret, body)
        body = slack_event(user, "cancel order ORD-1002")
    else:
        stale = int(time.time()) - 600
        headers = slack_headers(stack.slack_signing_secret, body, stale)

    response = post_to_slack_webhook(stack, body, headers)

    assert response.status_code == 400
    assert "X-Slack-Signature" in response.text


def test_slack_accepts_a_correctly_signed_message(stack: Stack) -> None:
    user = f"U{uuid.uuid4().hex[:10].upper()}"
    body = slack_event(user, "hello")
    before = slack_deliveries(stack)

    response = post_to_slack_webhook(
        stack, body, slack_headers(stack.slack_signing_secret, body)
    )

    # Slack gets its 200 at once; the bot then answers through Slack's API.
    assert response.status_code == 200
    deadline = time.monotonic() + REPLY_TIMEOUT_S
    while slack_deliveries(stack) == before:
        assert time.monotonic() < deadline, "the bot never answered on Slack"
        time.sleep(0.5)


def test_slack_answers_its_url_verification_challenge(stack: Stack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
    response = post_to_slack_webhook(
        stack, body, slack_headers(stack.slack_signing_secret, body)
    )
    assert response.status_code == 200
    assert response.json() == "abc123"


def test_callback_channel_posts_the_answer_to_the_endpoint(stack: Stack) -> None:
    sender = f"callback-{uuid.uuid4().hex[:8]}"
    response = requests.post(
        f"{stack.rasa_url}/webhooks/callback/webhook",
        json={"sender": sender, "message": "hello"},
        timeout=REPLY_TIMEOUT_S,
    )
    assert response.text == "success"

    # Rasa posts each message before it answers "success".
    [delivered] = [
        request.body
        for request in stack.callback.received
        if request.body["recipient_id"] == sender
    ]
    assert "I can help with your orders" in delivered["text"]
    assert [r.path for r in stack.callback.received] == ["/bot"]
