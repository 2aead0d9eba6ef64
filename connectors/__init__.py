"""Rasa input channels of this project (referenced from credentials.yml)."""

import rasa_changes
from settings import rasa_server

rasa_changes.apply()  # Rasa imports this package for the channels it serves
rasa_server.check_at_start_up()  # a bad value stops the server, named
