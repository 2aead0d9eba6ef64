"""Keep secrets out of what we store or show: passcodes and payment card numbers.

What people outside the conversation read in bulk (the analytics page and its
reports) also loses emails and phone numbers: :func:`mask_personal`.
"""

from __future__ import annotations

import re

PASSCODE_MASK = "****"

# 13-19 digits, optionally grouped by spaces or dashes (how people type card numbers).
_CARD_NUMBER = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# "my pin is 1234", "passcode: 0420": a secret typed outside the passcode question.
_NAMED_SECRET = re.compile(
    r"\b(pin|passcode|pass code|password|security code|code)(\s*(?:is|:)?\s*)\d{4,8}\b",
    re.IGNORECASE,
)
# The same in Chinese, "我的密码是4321", "验证码：0420". No \b: Chinese characters
# are word characters, so there is no boundary between 是 and 4321.
_NAMED_SECRET_ZH = re.compile(
    r"(密码|口令|验证码|安全码|支付密码|pin码|PIN码)(\s*(?:是|为|:|：)?\s*)\d{4,8}(?!\d)"
)

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 7 or more digits, optionally grouped: phone numbers (after cards are masked).
_PHONE_NUMBER = re.compile(r"(?<![\d-])\+?\d(?:[ -]?\d){6,}(?![\d-])")
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"


def _card_placeholder(match: re.Match[str]) -> str:
    last_four = re.sub(r"\D", "", match.group())[-4:]
    return f"[card ending {last_four}]"


def mask_card_numbers(text: str) -> str:
    """Replace card numbers by ``[card ending 1234]``; the last four help an agent."""
    return _CARD_NUMBER.sub(_card_placeholder, text)


def mask_secrets(text: str) -> str:
    """Mask card numbers and passcodes that are named as such in free text."""
    masked = _NAMED_SECRET.sub(rf"\1\2{PASSCODE_MASK}", mask_card_numbers(text))
    return _NAMED_SECRET_ZH.sub(rf"\1\2{PASSCODE_MASK}", masked)


def mask_personal(text: str) -> str:
    """:func:`mask_secrets`, and emails and phone numbers replaced by placeholders."""
    masked = _EMAIL.sub(EMAIL_MASK, mask_secrets(text))
    return _PHONE_NUMBER.sub(PHONE_MASK, masked)
