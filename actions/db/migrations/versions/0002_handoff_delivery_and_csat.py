"""Webhook delivery state of hand-off tickets, and customer satisfaction ratings.

Two new tables, so existing tables are left untouched (no SQLite batch rebuild).
Written with plain SQLAlchemy types like 0001; constraint names follow the
naming convention in actions/db/models.py.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered')",
            name=op.f("ck_ticket_deliveries_delivery_status"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_ticket_deliveries_ticket_id_support_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_deliveries")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_deliveries_ticket_id")),
    )
    op.create_table(
        "csat_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=100), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rating BETWEEN 1 AND 5", name=op.f("ck_csat_ratings_rating_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_ratings")),
    )
    op.create_index(
        op.f("ix_csat_ratings_conversation_id"), "csat_ratings", ["conversation_id"]
    )


def downgrade() -> None:
    op.drop_table("csat_ratings")
    op.drop_table("ticket_deliveries")
