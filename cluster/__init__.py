"""The assistant as several Rasa replicas behind nginx, on one machine."""
