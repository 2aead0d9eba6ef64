"""Rasa server plugins that keep conversations safe across restarts and replicas."""

import rasa_changes
from settings import rasa_server

rasa_changes.apply()  # Rasa imports this package for the stores in endpoints.yml
rasa_server.check_at_start_up()  # a bad value stops the server, named
