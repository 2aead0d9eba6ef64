"""The action server's figures: actions run, errors, answers, handoffs.

``serve_on`` adds ``GET /metrics`` and the timing of every ``/webhook`` call to
rasa-sdk's Sanic app; the actions record what only they know (an answer from
the help center or not, why a person was called, a database they could not
reach). Labels hold names from the domain and the code only.
"""

from __future__ import annotations

import time

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

import metrics
from metrics import LATENCY_BUCKETS, Counter, Histogram

RASA_SDK_APP = "rasa_sdk"  # the name rasa_sdk.endpoint.create_app gives its app
OUTCOMES = {200: "ok", 400: "rejected", 404: "unknown_action"}

ACTION_RUNS = Counter(
    "assistant_action_runs",
    "Custom action calls, by action and outcome: ok, rejected (a form's "
    "validation), unknown_action, or error (the action raised).",
    ["action", "outcome"],
)
ACTION_SECONDS = Histogram(
    "assistant_action_seconds",
    "Time the action server takes to answer one action call, by action.",
    ["action"],
    buckets=LATENCY_BUCKETS,
)
DATABASE_ERRORS = Counter(
    "assistant_action_database_errors",
    "Action calls that could not reach the database (the customer got an "
    "apology); the action is named in the action server's log.",
)
KNOWLEDGE_BASE_QUESTIONS = Counter(
    "assistant_kb_questions",
    "Questions put to the help center, by outcome: answered, alternatives "
    "(two articles offered) or declined.",
    ["outcome"],
)
HANDOFFS = Counter(
    "assistant_handoffs",
    "Conversations handed to a person (a ticket opened), by trigger.",
    ["trigger"],
)
for _outcome in ("answered", "alternatives", "declined"):
    KNOWLEDGE_BASE_QUESTIONS.labels(_outcome)  # shown as 0 until the first one


def _action_name(request: Request) -> str:
    try:
        name = (request.json or {}).get("next_action")
    except Exception:  # a compressed or broken body: rasa-sdk answers it
        name = None
    return name if isinstance(name, str) and name else "unknown"


def serve_on(app: Sanic) -> None:
    """``/metrics`` on rasa-sdk's app, and every action call timed and counted."""

    @app.get("/metrics")
    async def scrape(_request: Request) -> HTTPResponse:
        return response.raw(
            metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE}
        )

    @app.middleware("request")
    async def start_clock(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @app.middleware("response")
    async def record(request: Request, reply: HTTPResponse) -> None:
        if request.path != "/webhook" or not hasattr(request.ctx, "started"):
            return
        action = _action_name(request)
        ACTION_SECONDS.labels(action).observe(time.perf_counter() - request.ctx.started)
        ACTION_RUNS.labels(action, OUTCOMES.get(reply.status, "error")).inc()


def serve_on_the_action_server() -> None:
    """``serve_on`` rasa-sdk's app, when this process is the action server.

    rasa-sdk makes its app and then imports the actions package, which calls
    this; anywhere else (tests, command-line tools) there is no app to serve on.
    """
    try:
        app = Sanic.get_app(RASA_SDK_APP)
    except Exception:  # SanicException: no such app in this process
        return
    serve_on(app)
