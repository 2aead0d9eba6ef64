"""The settings each channel in connectors/ takes in credentials.yml beyond Rasa's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.apology import DEFAULT_UNAVAILABLE_MESSAGE
from connectors.tokens import TokenVerifier

KEYS = ("unavailable_message", "jwt_key", "jwt_method")


@dataclass(frozen=True)
class ChannelSettings:
    """What to say when a message fails, and whose tokens to require (if any)."""

    unavailable_message: str = DEFAULT_UNAVAILABLE_MESSAGE
    verifier: TokenVerifier | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> ChannelSettings:
        return cls(
            credentials.get("unavailable_message") or DEFAULT_UNAVAILABLE_MESSAGE,
            TokenVerifier.from_credentials(credentials),
        )


def without_settings(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials Rasa's own channel takes: ours removed."""
    return {key: value for key, value in credentials.items() if key not in KEYS}
