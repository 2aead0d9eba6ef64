"""Rasa server plugins that keep conversations safe across restarts and replicas."""
