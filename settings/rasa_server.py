"""The Rasa server's settings: what the project's code in it reads, and what Rasa
itself expands in endpoints.yml and credentials.yml (listed so that one page
names every variable of the server; tests/settings/ checks the list is whole).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from settings import (
    SettingError,
    Variable,
    check,
    one_of,
    optional_database_url,
    optional_text,
)

TRACKER_DATABASE_URL = Variable(
    "TRACKER_DATABASE_URL",
    "",
    "where conversations are stored (stores/tracker_store.py), a SQLAlchemy URL; "
    "unset: DATABASE_URL when that names a server database, else var/conversations.db",
    optional_database_url,
)
DATABASE_URL = Variable(
    "DATABASE_URL",
    "",
    "the shop's database; conversations go there too when it is a server database",
    optional_database_url,
)
RASA_API_TOKEN = Variable(
    "RASA_API_TOKEN",
    "",
    "token of Rasa's HTTP API; unset: the API is off (scripts/serve.sh, the "
    "cluster, the container image)",
    optional_text,
)

NLU_INFERENCE = Variable(
    "NLU_INFERENCE",
    "",
    "how the NLU encoders answer, in place of the trained model's "
    "inference_precision and with no retraining: onnx-int8, onnx-int8-checked, "
    "auto, float32, bfloat16 or int8 (components/intent_sentiment_classifier.py); "
    "unset: as config.yml says",
    one_of("", "onnx-int8", "onnx-int8-checked", "auto", "float32", "bfloat16", "int8"),
)

# Read by the project's own code in the Rasa server.
VARIABLES = (TRACKER_DATABASE_URL, DATABASE_URL, RASA_API_TOKEN, NLU_INFERENCE)


# The tracker store (stores/tracker_store.py) and the tools that read its
# database (python -m analytics) share this rule; it lives here, not in
# stores/, so that the tools need not import Rasa.
DEFAULT_TRACKER_SQLITE_FILE = (
    Path(__file__).resolve().parents[1] / "var" / "conversations.db"
)


def tracker_database_url(environ: Mapping[str, str] | None = None) -> str:
    """Where conversations live when endpoints.yml names no ``url``."""
    own = TRACKER_DATABASE_URL.read(environ)
    if own:
        return own
    shared = DATABASE_URL.read(environ)
    if shared and make_url(shared).get_backend_name() != "sqlite":
        return shared
    DEFAULT_TRACKER_SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_TRACKER_SQLITE_FILE}"


# Expanded by Rasa from ${NAME} in endpoints.yml, cluster/endpoints.yml and
# credentials.yml (scripts/credentials.py leaves out a connector whose are unset).
EXPANDED_BY_RASA = {
    "ACTION_ENDPOINT_URL": "the action server's webhook (cluster: through nginx)",
    "REDIS_URL": "Redis for conversation locks and socket.io rooms across replicas",
    "RABBITMQ_HOST": "RabbitMQ host of the event stream",
    "RABBITMQ_PORT": "RabbitMQ port",
    "RABBITMQ_USERNAME": "RabbitMQ user",
    "RABBITMQ_PASSWORD": "RabbitMQ password",
    "RABBITMQ_QUEUE": "the queue every conversation event goes to",
    "CHAT_JWT_SECRET": "website channels take a message only with a JWT signed "
    "with this secret whose sub is the conversation id",
    "CALLBACK_URL": "where the callback channel posts the bot's replies",
    "ANALYTICS_TOKEN": "signs in to the analytics page at /analytics "
    "(connectors/analytics_page.py); unset: the page is off",
    "FACEBOOK_VERIFY_TOKEN": "Facebook Messenger connector",
    "FACEBOOK_APP_SECRET": "Facebook Messenger connector",
    "FACEBOOK_PAGE_ACCESS_TOKEN": "Facebook Messenger connector",
    "SLACK_TOKEN": "Slack connector",
    "SLACK_SIGNING_SECRET": "Slack connector",
    "TELEGRAM_TOKEN": "Telegram connector",
    "TELEGRAM_BOT_USERNAME": "Telegram connector",
    "TELEGRAM_WEBHOOK_URL": "Telegram connector",
    "TWILIO_ACCOUNT_SID": "Twilio (SMS) connector",
    "TWILIO_AUTH_TOKEN": "Twilio (SMS) connector",
    "TWILIO_NUMBER": "Twilio (SMS) connector",
}


def check_at_start_up(environ: Mapping[str, str] | None = None) -> None:
    """Stop the Rasa server, naming each variable whose value cannot be used."""
    try:
        check(VARIABLES, environ)
    except SettingError as error:
        raise SystemExit(f"Rasa server settings: {error}") from None
