"""credentials.yml keeps secrets out of the repo, and its rendering turns a
connector off, with a log line, when its secrets are not in the environment, and
a website channel's token check or Redis off when their variables are unset."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from connectors.apology import DEFAULT_UNAVAILABLE_MESSAGE
from scripts.credentials import render
from tests.conftest import REPO_ROOT

TEMPLATE = REPO_ROOT / "credentials.yml"
MESSAGING = ("telegram", "slack", "facebook", "twilio")
REST = "connectors.rest.RestInput"
SOCKETIO = "connectors.socketio.SocketIOInput"
CALLBACK = "connectors.rest.CallbackInput"
METRICS = "connectors.metrics_endpoint.MetricsEndpoint"  # needs no secret: always on
ALL_SET = {
    "CHAT_JWT_SECRET": "chat-jwt-secret",
    "REDIS_URL": "redis://127.0.0.1:6399/0",
    "CALLBACK_URL": "http://127.0.0.1:9/bot",
    "TELEGRAM_TOKEN": "123456:telegram-token",
    "TELEGRAM_BOT_USERNAME": "example_shop_bot",
    "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/webhooks/telegram/webhook",
    "SLACK_TOKEN": "xoxb-slack-token",
    "SLACK_SIGNING_SECRET": "slack-signing-secret",
    "FACEBOOK_VERIFY_TOKEN": "facebook-verify",
    "FACEBOOK_APP_SECRET": "facebook-secret",
    "FACEBOOK_PAGE_ACCESS_TOKEN": "facebook-page-token",
    "TWILIO_ACCOUNT_SID": "AC0000",
    "TWILIO_AUTH_TOKEN": "twilio-token",
    "TWILIO_NUMBER": "+15550000000",
}


def test_every_messaging_secret_comes_from_the_environment() -> None:
    channels = yaml.safe_load(TEMPLATE.read_text())
    for name in MESSAGING:
        values = channels[name].values()
        assert all(str(value).startswith("${") for value in values), name


def test_connectors_without_secrets_are_off_and_say_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = tmp_path / "credentials.yml"
    env = {"SLACK_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}
    with caplog.at_level(logging.INFO, logger="credentials"):
        kept = render(TEMPLATE, output, env)

    assert kept == [REST, SOCKETIO, METRICS, "slack"]
    assert list(yaml.safe_load(output.read_text())) == kept
    assert "slack: on" in caplog.messages
    assert (
        "telegram: off (TELEGRAM_TOKEN, TELEGRAM_BOT_USERNAME, "
        "TELEGRAM_WEBHOOK_URL not set)" in caplog.messages
    )
    assert f"{CALLBACK}: off (CALLBACK_URL not set)" in caplog.messages


def test_website_channels_stay_on_without_token_check_or_redis(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = tmp_path / "credentials.yml"
    with caplog.at_level(logging.INFO, logger="credentials"):
        render(TEMPLATE, output, {"CALLBACK_URL": "http://127.0.0.1:9/bot"})

    channels = yaml.safe_load(output.read_text())
    assert channels[REST] == {}
    assert channels[SOCKETIO] == {
        "user_message_evt": "user_uttered",
        "bot_message_evt": "bot_uttered",
        "session_persistence": True,
    }
    assert channels[CALLBACK] == {"url": "${CALLBACK_URL}"}
    assert "optional_variables" not in channels
    assert (
        f"{SOCKETIO}: on; jwt_key, redis_url off (CHAT_JWT_SECRET, REDIS_URL not set)"
        in caplog.messages
    )
    assert f"{REST}: on; jwt_key off (CHAT_JWT_SECRET not set)" in caplog.messages


def test_the_jwt_secret_turns_the_token_check_on_for_every_website_channel(
    tmp_path: Path,
) -> None:
    output = tmp_path / "credentials.yml"
    render(TEMPLATE, output, {"CHAT_JWT_SECRET": "s3cret"})

    channels = yaml.safe_load(output.read_text())
    assert channels[REST] == {"jwt_key": "${CHAT_JWT_SECRET}"}
    assert channels[SOCKETIO]["jwt_key"] == "${CHAT_JWT_SECRET}"
    assert "redis_url" not in channels[SOCKETIO]
    assert "s3cret" not in output.read_text()


def test_a_connector_missing_one_secret_is_off(tmp_path: Path) -> None:
    env = {**ALL_SET, "TWILIO_AUTH_TOKEN": ""}
    kept = render(TEMPLATE, tmp_path / "credentials.yml", env)
    assert "twilio" not in kept
    assert {"telegram", "slack", "facebook", CALLBACK} <= set(kept)


def test_secrets_stay_out_of_the_rendered_file(tmp_path: Path) -> None:
    output = tmp_path / "credentials.yml"
    render(TEMPLATE, output, ALL_SET)
    text = output.read_text()
    assert "${SLACK_SIGNING_SECRET}" in text
    assert not [secret for secret in ALL_SET.values() if secret in text]


def test_rasa_reads_the_rendered_file_and_builds_the_connectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram is left out: building it registers its webhook with Telegram."""
    from rasa.core.run import create_http_input_channels

    env = {key: value for key, value in ALL_SET.items() if "TELEGRAM" not in key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "credentials.yml"
    render(TEMPLATE, output, env)

    channels = {
        channel.name(): channel
        for channel in create_http_input_channels(None, str(output))
    }

    assert set(channels) == {
        "rest",
        "socketio",
        "callback",
        "metrics",
        "slack",
        "facebook",
        "twilio",
    }
    assert channels["slack"].slack_signing_secret == "slack-signing-secret"
    assert channels["twilio"].auth_token == "twilio-token"
    assert channels["socketio"].session_persistence is True
    assert channels["socketio"].redis_url == "redis://127.0.0.1:6399/0"
    assert channels["callback"].callback_endpoint.url == "http://127.0.0.1:9/bot"
    for name in ("rest", "socketio", "callback"):
        settings = channels[name].settings
        assert settings.verifier.secret == "chat-jwt-secret", name
        assert settings.unavailable_message == DEFAULT_UNAVAILABLE_MESSAGE, name
