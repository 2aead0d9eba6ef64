"""The shop's rules for returns and refunds, in one place.

The data layer (``actions.db.repository``) applies them; it does not decide them.
The return window is set per deployment (``RETURN_WINDOW_DAYS``, see
``settings.action_server``); responses quote it, so what the assistant says and
what it does never disagree.
"""

from __future__ import annotations

from datetime import date, timedelta

from settings import action_server as settings

# Refunds are promised this many weekdays after the return is opened.
REFUND_BUSINESS_DAYS = 5


def return_window_days() -> int:
    """Days after delivery within which an order may be returned."""
    return settings.RETURN_WINDOW_DAYS.read()


def add_business_days(start: date, days: int) -> date:
    """``start`` plus ``days`` weekdays (refund promises skip weekends)."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current
