"""Agent command line: ``python -m actions.agent {list,release,retry-deliveries}``.

list: open tickets with reason, customer, sentiment trail and transcript.
release TICKET: give the conversation back to the assistant (Rasa's HTTP API,
see actions.rasa_api) and mark its tickets released, in that order: if Rasa
cannot be reached the ticket stays open, and running release again is safe.
retry-deliveries: one more webhook attempt for every ticket still pending.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import textwrap

from sqlalchemy.exc import DBAPIError

from actions.db.engine import database_url, safe_url, session_scope
from actions.db.models import DeliveryStatus, SupportTicket, TicketStatus
from actions.db.repository import (
    get_ticket,
    open_tickets,
    pending_deliveries,
    release_conversation,
)
from actions.rasa_api import RasaApiError, resume_conversation
from actions.ticket_delivery import attempt_delivery, webhook_url
from settings.action_server import HANDOFF_WEBHOOK_URL

INDENT = "    "


def _delivery(ticket: SupportTicket) -> str:
    delivery = ticket.delivery
    if delivery is None:
        return "not sent (no webhook configured)"
    if delivery.status is DeliveryStatus.DELIVERED:
        return f"delivered after {delivery.attempts} attempt(s)"
    failure = f", last error: {delivery.last_error}" if delivery.last_error else ""
    return f"pending after {delivery.attempts} attempt(s){failure}"


def describe(ticket: SupportTicket) -> str:
    """Everything an agent needs about one ticket, as plain text."""
    customer = ticket.customer
    who = (
        f"{customer.name} <{customer.email}> (customer {customer.id})"
        if customer is not None
        else "not verified"
    )
    trail = ", ".join(
        f"{step['turn']}: {step['label']} ({step['confidence']:.2f})"
        for step in ticket.sentiment_trail
    )
    opened = ticket.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"{ticket.number}  opened {opened}  conversation {ticket.conversation_id}",
            f"  reason:    {ticket.reason}",
            f"  customer:  {who}",
            f"  sentiment: {trail or 'none recorded'}",
            f"  webhook:   {_delivery(ticket)}",
            "  transcript:",
            textwrap.indent(ticket.transcript or "(empty)", INDENT),
        ]
    )


def _list() -> int:
    with session_scope() as session:
        tickets = open_tickets(session)
        text = "\n\n".join(describe(ticket) for ticket in tickets)
    print(text or "No open tickets.")
    return 0


def _release(number: str, agent: str) -> int:
    with session_scope() as session:
        ticket = get_ticket(session, number)
        if ticket is None:
            print(f"error: no ticket {number}", file=sys.stderr)
            return 2
        conversation_id, status = ticket.conversation_id, ticket.status
    if status is TicketStatus.RELEASED:
        print(f"{number} was already released.")
        return 0
    try:
        resume_conversation(conversation_id)
    except RasaApiError as error:
        print(
            f"error: {number} stays open, the conversation is still paused: {error}",
            file=sys.stderr,
        )
        return 1
    with session_scope() as session:
        release_conversation(session, number, agent)
    print(f"Released {number}: the assistant answers conversation {conversation_id}.")
    return 0


def _retry_deliveries() -> int:
    url = webhook_url()
    if url is None:
        print(f"error: {HANDOFF_WEBHOOK_URL.name} is not set", file=sys.stderr)
        return 2
    with session_scope() as session:
        numbers = pending_deliveries(session)
    failed = [number for number in numbers if not attempt_delivery(number, url)]
    print(f"{len(numbers) - len(failed)} delivered, {len(failed)} still pending.")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; database problems end in a one-line error."""
    parser = argparse.ArgumentParser(
        prog="python -m actions.agent",
        description="Hand-over tickets for agents, in $DATABASE_URL.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="show open tickets with their transcripts")
    release = commands.add_parser(
        "release", help="give a ticket's conversation back to the assistant"
    )
    release.add_argument("ticket", help="ticket number, e.g. TCK-7KQ2MX")
    release.add_argument(
        "--agent", default=getpass.getuser(), help="who releases it (audit log)"
    )
    commands.add_parser(
        "retry-deliveries",
        help=f"re-send pending tickets to ${HANDOFF_WEBHOOK_URL.name}",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        if args.command == "release":
            return _release(args.ticket.strip().upper(), args.agent)
        return _retry_deliveries()
    except DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        print(f"error: database {safe_url(database_url())}: {reason}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
