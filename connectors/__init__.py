"""Rasa input channels of this project (referenced from credentials.yml)."""
