"""Rasa input channels of this project (referenced from credentials.yml)."""

import rasa_changes

rasa_changes.apply()  # Rasa imports this package for the channels it serves
