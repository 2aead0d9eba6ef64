"""Knowledge-base answers and votes; which model made an article's embedding.

``kb_articles.embedding_model`` lets a process tell stale vectors (made by
another embedding model) from current ones. ``kb_answers`` records every
answer and decline of the knowledge base and the customer's vote on it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles") as batch:
        batch.add_column(
            sa.Column("embedding_model", sa.String(length=200), nullable=True)
        )
    op.create_table(
        "kb_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("article_slug", sa.String(length=100), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_answers")),
    )
    op.create_index(
        op.f("ix_kb_answers_conversation_id"), "kb_answers", ["conversation_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_answers_conversation_id"), table_name="kb_answers")
    op.drop_table("kb_answers")
    with op.batch_alter_table("kb_articles") as batch:
        batch.drop_column("embedding_model")
