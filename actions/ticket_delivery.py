"""Pass new tickets to a help desk: POST each one as JSON to $HANDOFF_WEBHOOK_URL.

The ticket row (with its ``pending`` delivery) is committed before anything is
sent, and every attempt is recorded (count, time, last error), so a help desk
that is down never costs a ticket: ``python -m actions.agent retry-deliveries``
sends whatever is still pending. Each request has a bounded timeout and runs on
a worker thread, so the action server keeps serving conversations meanwhile.
The ticket number doubles as ``Idempotency-Key``: a receiver may see a ticket
twice (a retry after a lost reply) and should keep one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import requests

from actions.database import DATABASE_ERRORS
from actions.db.engine import session_scope
from actions.db.models import DeliveryStatus, SupportTicket
from actions.db.repository import get_ticket, record_delivery_attempt
from settings import action_server as settings

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0
# Pauses between the attempts of one background delivery (so 3 attempts).
RETRY_DELAYS_S = (1.0, 5.0)

_in_flight: set[asyncio.Task[bool]] = set()


class DeliveryFailed(Exception):
    """The webhook did not accept the ticket; the message says why, briefly."""


def webhook_url() -> str | None:
    """The configured webhook, or None when tickets stay in the database only."""
    return settings.HANDOFF_WEBHOOK_URL.read()


def ticket_payload(ticket: SupportTicket) -> dict[str, Any]:
    """The JSON a help desk receives: everything an agent needs to pick it up."""
    customer = ticket.customer
    return {
        "ticket": ticket.number,
        "conversation_id": ticket.conversation_id,
        "created_at": ticket.created_at.isoformat(),
        "reason": ticket.reason,
        "customer": (
            None
            if customer is None
            else {"id": customer.id, "name": customer.name, "email": customer.email}
        ),
        "sentiment_trail": ticket.sentiment_trail,
        "transcript": ticket.transcript,
    }


def post_ticket(url: str, payload: dict[str, Any], timeout: float) -> None:
    """POST ``payload``; any answer but 2xx, or no answer, raises DeliveryFailed."""
    try:
        response = requests.post(
            url,
            json=payload,
            headers={"Idempotency-Key": payload["ticket"]},
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise DeliveryFailed(type(error).__name__) from error
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code}")


def attempt_delivery(number: str, url: str, timeout: float = TIMEOUT_S) -> bool:
    """One attempt for ticket ``number``, recorded; True once it is delivered.

    Blocking. No transaction stays open while the request is on the wire.
    """
    with session_scope() as session:
        ticket = get_ticket(session, number)
        if ticket is None or ticket.delivery is None:
            return False
        if ticket.delivery.status is DeliveryStatus.DELIVERED:
            return True
        payload = ticket_payload(ticket)
    error = None
    try:
        post_ticket(url, payload, timeout)
    except DeliveryFailed as failure:
        error = str(failure)
        logger.warning("ticket %s: webhook delivery failed (%s)", number, error)
    with session_scope() as session:
        record_delivery_attempt(session, number, error)
    return error is None


async def deliver(
    number: str, url: str, retry_delays: Sequence[float] = RETRY_DELAYS_S
) -> bool:
    """Try to deliver ticket ``number``, retrying after each of ``retry_delays``."""
    for delay in (0.0, *retry_delays):
        await asyncio.sleep(delay)
        try:
            if await asyncio.to_thread(attempt_delivery, number, url):
                return True
        except DATABASE_ERRORS as error:
            # The ticket stays pending; retry-deliveries picks it up later.
            logger.warning(
                "ticket %s: database unreachable (%s)",
                number,
                type(error.orig).__name__,
            )
            return False
    return False


def deliver_in_background(number: str, url: str) -> None:
    """Start :func:`deliver` without making the customer wait for it.

    The task is referenced until it ends, so it cannot be garbage-collected
    half-way through.
    """
    task = asyncio.get_running_loop().create_task(deliver(number, url))
    _in_flight.add(task)
    task.add_done_callback(_in_flight.discard)
