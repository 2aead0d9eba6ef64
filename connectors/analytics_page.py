"""The analytics page at ``/analytics``, served by the Rasa server(s).

A channel in credentials.yml only so that every Rasa server, alone or behind
the cluster's nginx, serves it without a server of its own; it never passes a
message to the bot. It is on only when ``ANALYTICS_TOKEN`` is set (without it
scripts/credentials.py leaves it out and ``/analytics`` does not exist), and
every route but the login form needs the token: typed once into the form, which
sets a signed cookie for ``SESSION_HOURS``, or sent as ``Authorization: Bearer``
(for scripts fetching the CSVs).

Routes: ``GET /analytics`` (the page; ``?days=N`` or ``?from=&to=`` dates,
``to`` inclusive), ``GET /analytics/csv/<table>.csv`` (same period arguments),
``POST /analytics/login`` and ``GET /analytics/logout``; the review queue
(learning/review_page.py): ``GET /analytics/review`` and ``POST
/analytics/review/<item>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine

from actions.db.engine import database_url, make_engine, session_scope
from actions.db.models import ReviewItem
from actions.kb import store as kb_store
from analytics import alert_store
from analytics.__main__ import DEFAULT_DAYS, period_of
from analytics.figures import Figures, Period, compute
from analytics.page import as_csv, every_table, render
from analytics.sql import ensure_indexes
from learning import queue, review_page
from learning.decisions import NOT_FOR_EXAMPLES, ReviewError, decide, domain_intents
from settings.rasa_server import tracker_database_url

COOKIE = "analytics_session"
REVIEWER_COOKIE = "analytics_reviewer"  # the name stored with review decisions
SESSION_HOURS = 12
FAILED_LOGIN_DELAY_S = 1.0
MAX_DAYS = 366

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Analytics: sign in</title><style>body{{font:15px system-ui,sans-serif;
max-width:26rem;margin:4rem auto}}input,button{{font:inherit;padding:.3rem}}
.problem{{color:#c53030}}</style></head><body><h1>Analytics</h1>{problem}
<form method="post" action="/analytics/login"><label>Access token
<input type="password" name="token" autocomplete="current-password" autofocus>
</label> <button type="submit">Sign in</button></form></body></html>"""


class Sessions:
    """Signed, expiring session cookies for one token (a new token ends them)."""

    def __init__(self, token: str) -> None:
        self._key = hashlib.sha256(f"analytics-session:{token}".encode()).digest()
        self._token = token

    def _signature(self, expires: int) -> str:
        return hmac.new(self._key, str(expires).encode(), hashlib.sha256).hexdigest()

    def new(self, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_HOURS * 3600)
        return f"{expires}.{self._signature(expires)}"

    def valid(self, cookie: str | None, now: float | None = None) -> bool:
        expires, _, signature = (cookie or "").partition(".")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return False
        return hmac.compare_digest(signature, self._signature(int(expires)))

    def token_matches(self, candidate: str | None) -> bool:
        return hmac.compare_digest((candidate or "").encode(), self._token.encode())


class AnalyticsPage(InputChannel):
    """``/analytics``: how the assistant is doing, behind ANALYTICS_TOKEN."""

    @classmethod
    def name(cls) -> str:
        return "analytics"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        token = (credentials or {}).get("token")
        if not token or not str(token).strip():
            raise ValueError("the analytics page needs a token (ANALYTICS_TOKEN)")
        return cls(str(token))

    def __init__(self, token: str) -> None:
        self.sessions = Sessions(token)
        self._engines: tuple[Engine, Engine] | None = None

    def url_prefix(self) -> str:
        # Rasa joins it to /webhooks/; an absolute path replaces that.
        return "/analytics"

    def engines(self) -> tuple[Engine, Engine]:
        """(tracker store, assistant database), made on first use."""
        if self._engines is None:
            tracker = make_engine(tracker_database_url())
            ensure_indexes(tracker)
            self._engines = (tracker, make_engine(database_url()))
        return self._engines

    def figures(self, period: Period) -> Figures:
        return compute(*self.engines(), period)

    def review_page(
        self, reviewer: str, skip: set[int], skipped: str, notice: str = ""
    ) -> str:
        with session_scope(self.engines()[1]) as session:
            waiting = queue.pending(session)
            item = next((i for i in waiting if i.id not in skip), None)
            articles = [a.slug for a in kb_store.articles(session)]
            return review_page.render(
                item, len(waiting), _example_intents(), articles, reviewer,
                notice, skipped,
            )  # fmt: skip

    def decide(self, item_id: int, form: dict[str, str], reviewer: str) -> str:
        """ "" when the decision is stored, else what was wrong with it."""
        try:
            with session_scope(self.engines()[1]) as session:
                item = session.get(ReviewItem, item_id)
                if item is None:
                    return f"there is no review item {item_id}"
                verdict, intent, article = review_page.decision_of(item, form)
                decide(session, item_id, verdict, reviewer, intent, article)
        except (ValueError, ReviewError) as error:
            return str(error)
        return ""

    def authenticated(self, request: Request) -> bool:
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return self.sessions.token_matches(bearer[7:].strip())
        return self.sessions.valid(request.cookies.get(COOKIE))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        page = Blueprint("analytics_page", __name__)

        def login_page(problem: str = "", status: int = 401) -> HTTPResponse:
            shown = f'<p class="problem">{problem}</p>' if problem else ""
            return response.html(LOGIN_PAGE.format(problem=shown), status=status)

        def period_or_problem(request: Request) -> Period | HTTPResponse:
            args = request.args
            try:
                days = int(args.get("days") or DEFAULT_DAYS)
                if not 1 <= days <= MAX_DAYS:
                    raise ValueError(f"days must be between 1 and {MAX_DAYS}")
                period = period_of(args.get("from"), args.get("to"), days)
            except ValueError as error:
                problem = str(error)
                if "invalid literal" in problem:
                    problem = "days must be a whole number"
                return response.text(f"Bad period: {problem}\n", status=400)
            if period.end - period.start > timedelta(days=MAX_DAYS):
                return response.text(
                    f"Bad period: at most {MAX_DAYS} days at once\n", status=400
                )
            return period

        @page.route("/", methods=["GET"])
        async def show(request: Request) -> HTTPResponse:
            if not self.authenticated(request):
                return login_page()
            period = period_or_problem(request)
            if isinstance(period, HTTPResponse):
                return period
            figures = await asyncio.to_thread(self.figures, period)
            alerts = await asyncio.to_thread(
                alert_store.raised_between, self.engines()[1], period.start, period.end
            )
            last_day = (period.end - timedelta(seconds=1)).date()
            query = {
                "from": period.start.date().isoformat(),
                "to": last_day.isoformat(),
            }
            html = await asyncio.to_thread(
                render,
                figures,
                csv_link=lambda name: f"/analytics/csv/{name}.csv?{urlencode(query)}",
                picker=query,
                alerts=alerts,
            )
            return response.html(html, headers={"Cache-Control": "no-store"})

        @page.route("/csv/<name:str>", methods=["GET"])
        async def download(request: Request, name: str) -> HTTPResponse:
            if not self.authenticated(request):
                return response.text("Sign in at /analytics first.\n", status=401)
            period = period_or_problem(request)
            if isinstance(period, HTTPResponse):
                return period
            figures = await asyncio.to_thread(self.figures, period)
            tables = every_table(figures)
            table = tables.get(name.removesuffix(".csv"))
            if table is None:
                known = ", ".join(sorted(tables))
                return response.text(f"No table {name!r}; tables: {known}\n", 404)
            filename = f"{table.name}-{period.start.date()}-{period.end.date()}.csv"
            return response.text(
                as_csv(table),
                content_type="text/csv; charset=utf-8",
                headers={
                    "Content-Disposition": f'attachment; filename="{filename}"',
                    "Cache-Control": "no-store",
                },
            )

        @page.route("/review", methods=["GET"])
        async def review(request: Request) -> HTTPResponse:
            if not self.authenticated(request):
                return login_page()
            skipped = request.args.get("skip") or ""
            html = await asyncio.to_thread(
                self.review_page, _reviewer(request), _ids(skipped), skipped
            )
            return response.html(html, headers={"Cache-Control": "no-store"})

        @page.route("/review/<item_id:int>", methods=["POST"])
        async def decide_item(request: Request, item_id: int) -> HTTPResponse:
            if not self.authenticated(request):
                return login_page()
            form = {key: request.form.get(key) for key in request.form or {}}
            reviewer = (form.get("reviewer") or "").strip()
            problem = await asyncio.to_thread(self.decide, item_id, form, reviewer)
            if problem:
                html = await asyncio.to_thread(
                    self.review_page, reviewer, set(), "", problem
                )
                return response.html(html, status=400)
            redirect = response.redirect("/analytics/review", status=303)
            redirect.cookies[REVIEWER_COOKIE] = reviewer
            redirect.cookies[REVIEWER_COOKIE]["path"] = "/analytics"
            redirect.cookies[REVIEWER_COOKIE]["samesite"] = "Strict"
            return redirect

        @page.route("/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            token = (request.form or {}).get("token")
            if not self.sessions.token_matches(token):
                await asyncio.sleep(FAILED_LOGIN_DELAY_S)  # slows guessing
                return login_page("That token is not the analytics token.")
            redirect = response.redirect("/analytics", status=303)
            redirect.cookies[COOKIE] = self.sessions.new()
            cookie = redirect.cookies[COOKIE]
            cookie["httponly"] = True
            cookie["samesite"] = "Strict"
            cookie["path"] = "/analytics"
            cookie["max-age"] = SESSION_HOURS * 3600
            if request.scheme == "https":
                cookie["secure"] = True
            return redirect

        @page.route("/logout", methods=["GET"])
        async def logout(request: Request) -> HTTPResponse:
            redirect = response.redirect("/analytics", status=303)
            redirect.cookies[COOKIE] = ""
            redirect.cookies[COOKIE]["path"] = "/analytics"
            redirect.cookies[COOKIE]["max-age"] = 0
            return redirect

        return page


def _reviewer(request: Request) -> str:
    return (request.cookies.get(REVIEWER_COOKIE) or "")[:100]


def _ids(text: str) -> set[int]:
    return {int(part) for part in text.split(",") if part.strip().isdigit()}


def _example_intents() -> list[str]:
    return [i for i in domain_intents() if i not in NOT_FOR_EXAMPLES]
