"""Custom Rasa NLU components and dialogue policies (referenced from config.yml)."""

import rasa_changes

rasa_changes.apply()  # Rasa imports this package when it loads the model
