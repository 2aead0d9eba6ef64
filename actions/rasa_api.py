"""Give a paused conversation back to the assistant through Rasa's HTTP API.

Appending a ``resume`` event with ``POST /conversations/{id}/tracker/events``
works with any tracker store (the default one lives in the Rasa process's
memory, out of reach of other processes) and takes Rasa's lock on the
conversation, so it cannot race a message being handled. The Rasa server must
run with ``--enable-api``; with ``--auth-token`` set, pass the same token in
$RASA_API_TOKEN.
"""

from __future__ import annotations

from urllib.parse import quote

import requests

from settings import action_server as settings

TIMEOUT_S = 10.0


class RasaApiError(Exception):
    """Rasa could not be reached or refused the request; the message says which."""


def rasa_url() -> str:
    """Base URL of the Rasa server (settings.action_server.RASA_URL)."""
    return settings.RASA_URL.read()


def resume_conversation(conversation_id: str, timeout: float = TIMEOUT_S) -> None:
    """Append ``{"event": "resume"}`` to the conversation's tracker."""
    url = f"{rasa_url()}/conversations/{quote(conversation_id, safe='')}/tracker/events"
    params = {"include_events": "NONE"}
    token = settings.RASA_API_TOKEN.read()
    if token:
        params["token"] = token
    try:
        response = requests.post(
            url, json=[{"event": "resume"}], params=params, timeout=timeout
        )
    except requests.RequestException as error:
        raise RasaApiError(
            f"cannot reach {rasa_url()} ({type(error).__name__})"
        ) from error
    if not response.ok:
        raise RasaApiError(
            f"{rasa_url()} answered HTTP {response.status_code}: {response.text[:200]}"
        )
