"""SQL data layer of the assistant.

engine: which database and how to open sessions; models: the tables;
repository: the queries actions call; security: passcode hashing;
migrate: Alembic upgrades; seed: demo data. CLI: ``python -m actions.db``.
"""
