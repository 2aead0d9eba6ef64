"""The website chat widget in headless Chromium (Debian's), against the real stack,
and, with a token over websockets, against two replicas.

Screenshots go to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.channels.conftest import Replicas, Stack
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
# Quiet and offline: this machine's network is closed to everything but localhost.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
WEB = REPO_ROOT / "web"
WIDGET_FILES = ("chat-widget.js", "chat-widget.css", "node_modules")
REPLY_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}
# The shop's page: the README's embed snippet, with the options under test.
SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="stylesheet" href="chat-widget.css">
<script src="node_modules/socket.io-client/dist/socket.io.min.js"></script>
<script src="chat-widget.js"></script></head>
<body><h1>Shop</h1><script>RasaChat.start(%s);</script></body></html>
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make setup` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


class QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


@contextmanager
def shop_site(tmp_path: Path, options: dict[str, Any]) -> Iterator[str]:
    """A site embedding the widget with ``options``; yields its page's URL."""
    for name in WIDGET_FILES:
        (tmp_path / name).symlink_to(WEB / name)
    (tmp_path / "shop.html").write_text(SHOP_PAGE % json.dumps(options))
    handler = functools.partial(QuietFiles, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/shop.html"
    finally:
        server.shutdown()


# Counts each time the typing indicator is shown: a fast reply can hide it again
# before a test could look, so the page itself keeps the record.
COUNT_TYPING_SHOWN = """
window.typingShown = 0;
new MutationObserver((changes) => {
  for (const change of changes) {
    const target = change.target;
    if (target.classList.contains("rasa-chat__typing") && !target.hidden) {
      window.typingShown += 1;
    }
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["hidden"] });
"""


def open_page(browser: Browser, stack: Stack, **context: object) -> Page:
    page = browser.new_context(**context).new_page()
    page.add_init_script(COUNT_TYPING_SHOWN)
    page.goto(f"{stack.web_url}/?rasa={stack.rasa_url}")
    return page


def say(page: Page, text: str) -> None:
    """Type a message and press Enter; the typing indicator shows until a reply."""
    message_box = page.get_by_label("Your message")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    message_box.fill(text)
    shown_before = page.evaluate("window.typingShown")
    message_box.press("Enter")
    page.wait_for_function(f"window.typingShown > {shown_before}", timeout=5000)


def expect_reply(page: Page, text: str) -> None:
    expect(page.get_by_role("log")).to_contain_text(text, timeout=REPLY_TIMEOUT_MS)
    expect(page.locator(".rasa-chat__typing")).to_be_hidden()


def test_alice_checks_her_order_and_keeps_it_after_reloads(
    browser: Browser, stack: Stack
) -> None:
    page = open_page(browser, stack, viewport={"width": 1280, "height": 800})

    # Keyboard only: Tab to the launcher, Enter opens it, focus lands on the input.
    launcher = page.get_by_role("button", name="Chat with us")
    for _ in range(10):
        page.keyboard.press("Tab")
        if launcher.evaluate("node => node === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reaches the chat launcher")
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Your message")).to_be_focused()

    say(page, "hello")
    expect_reply(page, "I can help with your orders")

    say(page, "ORD-1001")
    expect_reply(page, "What would you like me to do?")
    replies = page.get_by_role("group", name="Suggested replies")
    expect(replies.get_by_role("button")).to_have_text(
        ["Order status", "Cancel an order", "Return an item", "Refund status"]
    )
    # The quick replies are reachable from the message box with Shift+Tab.
    page.keyboard.press("Shift+Tab")
    expect(replies.get_by_role("button", name="Refund status")).to_be_focused()
    replies.get_by_role("button", name="Order status").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".rasa-chat__message--user").last).to_have_text(
        "You: Order status"
    )
    expect(page.get_by_label("Your message")).to_be_focused()
    expect_reply(page, "What's the email address on your account?")
    expect(replies).to_have_count(0)

    # Reload in the middle of the form: the history is back and Rasa carries on.
    page.reload()
    log = page.get_by_role("log")
    expect(log).to_contain_text("What would you like me to do?")
    expect(log).to_contain_text("What's the email address on your account?")
    say(page, "alice@example.com")
    expect_reply(page, "Order ORD-1001 is on its way with UPS.")
    expect(log).to_contain_text("Tracking number: 1Z999AA10123456784")

    page.reload()
    expect(log.locator(".rasa-chat__message")).to_have_count(8)
    expect(log).to_contain_text("Order ORD-1001 is on its way with UPS.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web-widget-desktop.png")

    # Escape closes the chat and gives the focus back to the launcher.
    page.get_by_label("Your message").press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_widget_fills_a_phone_screen(browser: Browser, stack: Stack) -> None:
    page = open_page(browser, stack, viewport=PHONE, is_mobile=True, has_touch=True)
    page.get_by_role("button", name="Chat with us").tap()

    panel = page.get_by_role("dialog")
    assert panel.bounding_box() == {"x": 0, "y": 0, **PHONE}
    say(page, "hello")
    expect_reply(page, "I can help with your orders")
    overflow = page.evaluate("document.documentElement.scrollWidth > innerWidth")
    assert not overflow, "the page scrolls sideways on a phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web-widget-phone.png")


def test_widget_with_a_token_over_websockets_across_replicas(
    browser: Browser, replicas: Replicas, tmp_path: Path
) -> None:
    """Token in the socket.io auth, no long-polling, answers pushed from replica B.

    The tab holds a conversation of someone else (another customer logged in on
    this browser before): the server refuses it and the widget forgets it.
    """
    conversation = f"widget-{uuid.uuid4().hex[:8]}"
    options = {
        "rasaUrl": replicas.urls[0],
        "token": replicas.token(conversation),
        "transports": ["websocket"],
        "title": "Shop help",
    }
    earlier = {
        "sessionId": "someone-else",
        "open": True,
        "transcript": [{"from": "user", "text": "my address is 1 Private Road"}],
    }
    with shop_site(tmp_path, options) as url:
        page = browser.new_context().new_page()
        page.add_init_script(COUNT_TYPING_SHOWN)
        polls: list[str] = []
        page.on(
            "request", lambda r: "transport=polling" in r.url and polls.append(r.url)
        )
        page.add_init_script(
            f"sessionStorage.setItem('rasa-chat', {json.dumps(json.dumps(earlier))})"
        )
        page.goto(url)

        log = page.get_by_role("log")
        say(page, "hello")
        expect_reply(page, "I can help with your orders")
        expect(log).not_to_contain_text("Private Road")
        stored = page.evaluate("JSON.parse(sessionStorage.getItem('rasa-chat'))")
        assert stored["sessionId"] == conversation

        pushed = requests.post(
            f"{replicas.urls[1]}/conversations/{conversation}/trigger_intent",
            params={"output_channel": "latest", "token": replicas.api_token},
            json={"name": "thank"},
            timeout=REPLY_TIMEOUT_MS / 1000,
        )
        pushed.raise_for_status()
        expect(log).to_contain_text("You're welcome!", timeout=REPLY_TIMEOUT_MS)
    assert not polls, "the widget fell back to long-polling"


def test_markup_in_messages_is_shown_as_text_never_run(
    browser: Browser, stack: Stack
) -> None:
    """A customer (or a bot text) with HTML in it must not inject into the page."""
    page = open_page(browser, stack, viewport={"width": 1280, "height": 800})
    page.get_by_role("button", name="Chat with us").click()
    hostile = (
        '<img src=x onerror="window.injected=1">'
        "<script>window.injected=2</script><b>bold</b>"
    )
    say(page, hostile)
    expect(page.locator(".rasa-chat__typing")).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
    expect(page.locator(".rasa-chat__message--user").last).to_have_text(
        f"You: {hostile}"
    )
    log = page.get_by_role("log")
    assert log.locator("img, script, b").count() == 0
    assert page.evaluate("() => window.injected") is None
    page.context.close()


def test_a_chinese_page_speaks_chinese_and_replies_follow_the_customer(
    browser: Browser, stack: Stack
) -> None:
    """On a zh-CN page the widget's own texts are Chinese; the assistant answers
    a Chinese message in Chinese, and an English one in English."""
    han = re.compile("[\u4e00-\u9fff]")
    page = browser.new_context().new_page()
    page.goto(f"{stack.web_url}/?rasa={stack.rasa_url}&lang=zh-CN")
    page.get_by_role("button", name="联系客服").click()
    message_box = page.get_by_label("您的消息")
    expect(message_box).to_have_attribute("placeholder", "请输入您的问题…")
    message_box.fill("你好，我想问一下")
    message_box.press("Enter")
    bot = page.locator(".rasa-chat__message--bot")
    expect(bot.first).to_contain_text(han, timeout=REPLY_TIMEOUT_MS)
    expect(bot.first).to_contain_text("客服：")
    message_box.fill("where is my order ORD-1001?")
    message_box.press("Enter")
    expect(bot.last).to_contain_text(
        "What's the email address", timeout=REPLY_TIMEOUT_MS
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "web-widget-chinese.png")
