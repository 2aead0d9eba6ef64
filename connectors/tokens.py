"""Who may write in which conversation: a JWT whose ``sub`` is the conversation id.

Without it, anyone who learns or guesses a conversation id (a REST ``sender``, a
socket.io session id) can read and write that customer's conversation. The
website's back end signs a short-lived token for its logged-in customer with the
shared secret (``CHAT_JWT_SECRET``); the channels accept a message only for the
conversation the token names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

logger = logging.getLogger(__name__)

DEFAULT_ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenVerifier:
    """Checks tokens signed with ``secret``, with ``algorithm`` only."""

    secret: str = field(repr=False)
    algorithm: str = DEFAULT_ALGORITHM

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> TokenVerifier | None:
        """From ``jwt_key`` (and ``jwt_method``); None when no key is configured."""
        secret = credentials.get("jwt_key")
        if not secret:
            return None
        return cls(str(secret), credentials.get("jwt_method") or DEFAULT_ALGORITHM)

    def subject(self, token: str | None) -> str | None:
        """The token's ``sub`` when it is valid (signature, expiry), else None.

        The algorithm is fixed, not taken from the token, so an unsigned token
        (``alg: none``) or one signed another way is refused.
        """
        if not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                options={"require": ["sub"]},
            )
        except jwt.InvalidTokenError as error:
            logger.info("refused a token (%s)", type(error).__name__)
            return None
        return str(claims["sub"])
