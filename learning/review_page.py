"""The review queue as a page, one item at a time, fast by keyboard.

Served under the analytics login at ``/analytics/review``
(connectors/analytics_page.py). Keys: 1, 2, 3 take the model's first, second
or third guess; o marks the message out of scope; c, k and n jump to the
intent list, the article list and the new-intent field (Enter sends); s skips
to the next item. The reviewer's name is typed once and kept in a cookie: it
is stored with every decision.
"""

from __future__ import annotations

from html import escape

from actions.db.models import ReviewItem
from learning.decisions import (
    CORRECTED,
    KB_EXAMPLE,
    NEW_INTENT,
    OUT_OF_SCOPE,
    taking_guess,
)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Review queue</title><style>
body{{font:15px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
.meta{{color:#555}} .bot{{color:#2b6cb0}} .customer{{font-size:1.3rem;margin:.6rem 0}}
button,select,input{{font:inherit;padding:.25rem .5rem;margin:.15rem}}
kbd{{border:1px solid #999;border-radius:3px;padding:0 .3rem;font-size:.85em}}
.notice{{background:#fefcbf;padding:.4rem .6rem}} form{{margin:.4rem 0}}
</style></head><body>
<h1>Review queue</h1><p class="meta">{waiting} waiting &middot;
<a href="/analytics">analytics</a></p>{notice}{body}
<script>
document.addEventListener("keydown", (event) => {{
  if (event.target.matches("input, select")) return;
  const key = event.key.toLowerCase();
  const target = document.querySelector(`[data-key="${{key}}"]`);
  if (!target) return;
  event.preventDefault();
  if (target.matches("button, a")) target.click(); else target.focus();
}});
const form = document.querySelector("form.decide");
function send(choice) {{
  form.querySelector("[name=picked]").value = choice;
  if (form.reportValidity()) form.submit();
}}
const on = (name, type, handler) =>
  form?.querySelector(`[name=${{name}}]`).addEventListener(type, handler);
on("intent", "change", () => send("corrected"));
on("article", "change", () => send("kb_example"));
on("new_intent", "keydown", (event) => {{
  if (event.key === "Enter") {{ event.preventDefault(); send("new_intent"); }}
}});
</script></body></html>"""


def render(
    item: ReviewItem | None,
    waiting: int,
    intents: list[str],
    articles: list[str],
    reviewer: str,
    notice: str = "",
    skipped: str = "",
) -> str:
    """The page for ``item`` (None: nothing left to review)."""
    shown_notice = (
        f'<p class="notice" role="status">{escape(notice)}</p>' if notice else ""
    )
    if item is None:
        body = "<p>Nothing waits for review.</p>"
        return PAGE.format(waiting=waiting, notice=shown_notice, body=body)
    action = f"/analytics/review/{item.id}"
    name = (
        f'<label>Your name <input name="reviewer" value="{escape(reviewer)}" '
        f'required maxlength="100" autocomplete="name"></label>'
    )
    guesses = "".join(
        f'<button name="choice" value="guess:{escape(intent)}" data-key="{n}">'
        f"<kbd>{n}</kbd> {escape(intent)} ({confidence:.2f})</button>"
        for n, (intent, confidence) in enumerate(item.top_intents, start=1)
    )
    options = "".join(f"<option>{escape(i)}</option>" for i in intents)
    article_options = "".join(f"<option>{escape(a)}</option>" for a in articles)
    skip = ",".join(filter(None, [skipped, str(item.id)]))
    body = f"""
<p class="meta">#{item.id} &middot; {item.occurrences}&times; &middot;
{escape(", ".join(item.reasons))}</p>
<p class="bot">Bot: {escape(item.previous_bot_message or "-")}</p>
<p class="customer" data-item="{item.id}">{escape(item.text)}</p>
<form class="decide" method="post" action="{action}">{name}
<input type="hidden" name="picked" value="">
<p>{guesses}
<button name="choice" value="out_of_scope" data-key="o"><kbd>o</kbd> out of
scope</button></p>
<p><label><kbd>c</kbd> another intent <select name="intent" data-key="c">
<option value="">-</option>{options}</select></label></p>
<p><label><kbd>k</kbd> a question of <select name="article" data-key="k">
<option value="">-</option>{article_options}</select></label></p>
<p><label><kbd>n</kbd> a new intent <input name="new_intent" data-key="n"
placeholder="gift_wrapping"></label></p></form>
<p><a href="/analytics/review?skip={skip}" data-key="s"><kbd>s</kbd> skip</a></p>"""
    return PAGE.format(waiting=waiting, notice=shown_notice, body=body)


def decision_of(
    item: ReviewItem, form: dict[str, str]
) -> tuple[str, str | None, str | None]:
    """(verdict, intent, article) from the page's form; ValueError if unclear."""
    choice = form.get("choice") or form.get("picked") or ""
    if choice.startswith("guess:"):
        return *taking_guess(item, choice.removeprefix("guess:")), None
    if choice == OUT_OF_SCOPE:
        return OUT_OF_SCOPE, None, None
    if choice == CORRECTED:
        return CORRECTED, form.get("intent") or None, None
    if choice == KB_EXAMPLE:
        return KB_EXAMPLE, None, form.get("article") or None
    if choice == NEW_INTENT:
        return NEW_INTENT, (form.get("new_intent") or "").strip() or None, None
    raise ValueError("choose a guess, an intent, an article or a new intent")
