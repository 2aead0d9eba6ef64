"""Alerts raised when negative customer messages surge (analytics/alerts.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentiment_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("baseline_share", sa.Float(), nullable=False),
        sa.Column("current_share", sa.Float(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentiment_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_sentiment_alerts_key")),
    )
    op.create_index(
        op.f("ix_sentiment_alerts_raised_at"), "sentiment_alerts", ["raised_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sentiment_alerts_raised_at"), table_name="sentiment_alerts")
    op.drop_table("sentiment_alerts")
