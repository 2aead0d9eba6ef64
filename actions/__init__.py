"""Custom actions of the customer-service assistant (served by ``rasa run actions``).

One module per job: ``order_form``/``orders`` (order tasks), ``account_form``/
``accounts`` (account tasks), ``verification`` (checks and the 3-strikes lock shared
by both forms), ``detours`` (FAQ, small talk), ``empathy`` (each message: an
acknowledgement when upset, and noticing when a person is needed), ``escalation``
(when and why a person is needed), ``handoff`` (tickets for people, and the pause
while they have the conversation), ``ticket_delivery`` (tickets to a help desk's
webhook), ``satisfaction`` (1-5 ratings), ``formatting`` and ``privacy`` (text for
customers and agents), ``database`` (sessions and the outage apology). SQL lives in
``actions.db``. Agents use ``python -m actions.agent`` (``agent``, ``rasa_api``).
"""

from metrics import actions as metrics_actions
from settings import action_server

# A value the action server cannot use stops it here, naming the variable.
action_server.check_at_start_up()

# /metrics and timed action calls on rasa-sdk's server (metrics/actions.py).
metrics_actions.serve_on_the_action_server()
