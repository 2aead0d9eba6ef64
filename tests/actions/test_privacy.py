"""actions/privacy.py: secrets masked in English and in Chinese."""

from __future__ import annotations

import pytest

from actions.privacy import mask_secrets


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my pin is 1234", "my pin is ****"),
        ("我的密码是4321", "我的密码是****"),
        ("验证码：042011，快点", "验证码：****，快点"),
        ("卡号4111111111111111被拒了", "卡号[card ending 1111]被拒了"),
        ("我的卡 4111 1111 1111 1111，支付密码 8765",
         "我的卡 [card ending 1111]，支付密码 ****"),
        ("订单ORD-1001，电话13800138000", "订单ORD-1001，电话13800138000"),
    ],
)  # fmt: skip
def test_secrets_are_masked_in_either_language(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
