"""Rasa server plugins that keep conversations safe across restarts and replicas."""

import rasa_changes

rasa_changes.apply()  # Rasa imports this package for the stores in endpoints.yml
