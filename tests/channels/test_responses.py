"""The bot's responses read well on every channel: no markup any of them shows raw.

Telegram, Messenger, SMS and the web widget show Markdown and HTML as typed, and
Slack reads ``*``, ``_`` and ``~`` as its own formatting. Every response is
also written in Chinese, chosen by the ``language`` slot.
"""

from __future__ import annotations

import re

import pytest
import yaml
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from tests.conftest import REPO_ROOT

MARKUP = re.compile(r"[*~`]|__|\[[^\]]*\]\(|^#|<[a-z/]", re.MULTILINE)
RESPONSES = yaml.safe_load((REPO_ROOT / "domain.yml").read_text())["responses"]


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_response_is_plain_text(name: str) -> None:
    for variation in RESPONSES[name]:
        texts = [variation.get("text", "")]
        texts += [button["title"] for button in variation.get("buttons", [])]
        assert not [text for text in texts if MARKUP.search(text)]


BUTTON_RESPONSES = sorted(
    name
    for name, variations in RESPONSES.items()
    if any(variation.get("buttons") for variation in variations)
)
MESSENGER_MAX_BUTTONS = 3


@pytest.mark.parametrize("name", BUTTON_RESPONSES)
async def test_buttons_degrade_where_a_channel_has_none(name: str) -> None:
    """SMS has no buttons, and Messenger drops all of them past three."""
    generator = TemplatedNaturalLanguageGenerator(RESPONSES)
    tracker = DialogueStateTracker.from_events("someone", [])
    slots = {"order_id": "ORD-1001", "items": "1 x Mug", "total": "$12.00"}
    # What actions pass with the response (a help-center article's).
    slots |= {"title": "Do you gift wrap?", "answer": "Yes, for $4.95."}
    slots |= {"first": "Do you gift wrap?", "second": "Do you sell gift cards?"}
    tracker.slots.update(
        {
            key: TextSlot(key, mappings=[], initial_value=value)
            for key, value in slots.items()
        }
    )
    sms = await generator.generate(name, tracker, "twilio")
    assert sms and not sms.get("buttons") and "{" not in sms["text"]
    messenger = await generator.generate(name, tracker, "facebook")
    assert len(messenger.get("buttons") or []) <= MESSENGER_MAX_BUTTONS
    web = await generator.generate(name, tracker, "socketio")
    assert web["buttons"]


ZH = [{"type": "slot", "name": "language", "value": "zh"}]
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)\}(?!\})")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _variations(name: str) -> tuple[list[dict], list[dict]]:
    english = [v for v in RESPONSES[name] if "condition" not in v]
    chinese = [v for v in RESPONSES[name] if v.get("condition") == ZH]
    return english, chinese


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_variation_has_a_chinese_twin(name: str) -> None:
    """The same channels, placeholders and button payloads, in Chinese."""
    english, chinese = _variations(name)
    assert len(english) + len(chinese) == len(RESPONSES[name])
    assert [v.get("channel") for v in chinese] == [v.get("channel") for v in english]
    for en, zh in zip(english, chinese):
        assert set(PLACEHOLDER.findall(zh["text"])) == set(
            PLACEHOLDER.findall(en["text"])
        )
        payloads = [button["payload"] for button in zh.get("buttons", [])]
        assert payloads == [button["payload"] for button in en.get("buttons", [])]
        words = PLACEHOLDER.sub("", zh["text"]).strip()
        assert not words or HAN.search(words), zh["text"]


async def test_the_language_slot_chooses_the_variation() -> None:
    generator = TemplatedNaturalLanguageGenerator(RESPONSES)
    tracker = DialogueStateTracker.from_events("someone", [])
    english = await generator.generate("utter_greet", tracker, "rest")
    tracker.slots["language"] = TextSlot("language", mappings=[], initial_value="zh")
    chinese = await generator.generate("utter_greet", tracker, "rest")
    sms = await generator.generate("utter_complain", tracker, "twilio")
    assert not HAN.search(english["text"])
    assert HAN.search(chinese["text"]) and HAN.search(sms["text"])
    assert not sms.get("buttons")  # the Chinese SMS variation, not the web one
