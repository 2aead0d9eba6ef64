"""Custom actions of the customer-service assistant (served by ``rasa run actions``).

One module per job: ``order_form``/``orders`` (order tasks), ``account_form``/
``accounts`` (account tasks), ``verification`` (checks and the 3-strikes lock shared
by both forms), ``detours`` (FAQ, small talk, fallback), ``handoff`` (tickets for
people), ``formatting`` and ``privacy`` (text for customers and agents),
``database`` (sessions and the outage apology). SQL lives in ``actions.db``.
"""
