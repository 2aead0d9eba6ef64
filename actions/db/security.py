"""Passcode hashing: salted PBKDF2 from the standard library, no extra dependency.

Hashes are self-describing (``pbkdf2_sha256$iterations$salt$digest``) so the
work factor can be raised later without invalidating stored passcodes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALGORITHM = "pbkdf2_sha256"
# OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256 (about 0.2 s per hash).
ITERATIONS = 600_000
SALT_BYTES = 16


def _derive(passcode: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passcode.encode("utf-8"), salt, iterations)


def hash_passcode(passcode: str) -> str:
    """Hash ``passcode`` with a fresh random salt, as one storable string."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(passcode, salt, ITERATIONS)
    return f"{ALGORITHM}${ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_passcode(passcode: str, stored_hash: str) -> bool:
    """Whether ``passcode`` matches ``stored_hash``; compares in constant time."""
    try:
        algorithm, iterations, salt_hex, digest_hex = stored_hash.split("$")
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
        rounds = int(iterations)
    except ValueError:
        return False
    if algorithm != ALGORITHM or rounds < 1:
        return False
    return hmac.compare_digest(_derive(passcode, salt, rounds), expected)
