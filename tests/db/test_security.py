"""Passcode hashing: salted, self-describing, constant-time verified."""

from __future__ import annotations

import pytest

from actions.db import security
from actions.db.security import ALGORITHM, hash_passcode, verify_passcode


def test_hash_is_salted_and_verifies() -> None:
    first, second = hash_passcode("4321"), hash_passcode("4321")
    assert first != second  # random salt
    assert first.startswith(f"{ALGORITHM}${security.ITERATIONS}$")
    assert "4321" not in first
    assert verify_passcode("4321", first) and verify_passcode("4321", second)
    assert not verify_passcode("4322", first)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text",
        "md5$1$00$00",
        f"{ALGORITHM}$0$00$00",
        f"{ALGORITHM}$x$zz$zz",
        "a$b$c",
    ],
)
def test_malformed_hash_never_verifies(stored: str) -> None:
    assert verify_passcode("4321", stored) is False
