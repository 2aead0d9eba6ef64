"""The review queue: messages to review, decisions, scanned stretches (learning/).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("top_intents", sa.JSON(), nullable=False),
        sa.Column("previous_bot_message", sa.Text(), nullable=True),
        sa.Column("conversation_id", sa.String(length=100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_review_items_fingerprint")),
    )
    op.create_index(
        op.f("ix_review_items_occurred_at"), "review_items", ["occurred_at"]
    )
    op.create_index(op.f("ix_review_items_group_id"), "review_items", ["group_id"])
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("article_slug", sa.String(length=100), nullable=True),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "verdict IN ('accepted', 'corrected', 'out_of_scope', 'kb_example', "
            "'new_intent')",
            name=op.f("ck_review_decisions_verdict_known"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_review_decisions_item_id_review_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decisions")),
        sa.UniqueConstraint("item_id", name=op.f("uq_review_decisions_item_id")),
    )
    op.create_table(
        "review_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scanned_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scanned_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items_added", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_scans")),
    )
    op.create_index(op.f("ix_review_scans_scanned_to"), "review_scans", ["scanned_to"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_scans_scanned_to"), table_name="review_scans")
    op.drop_table("review_scans")
    op.drop_table("review_decisions")
    op.drop_index(op.f("ix_review_items_group_id"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_occurred_at"), table_name="review_items")
    op.drop_table("review_items")
