"""Custom Rasa NLU components; importing the package applies ``rasa_patches``."""

import rasa_patches  # noqa: F401  (Rasa's runtime fixes, before any message)
