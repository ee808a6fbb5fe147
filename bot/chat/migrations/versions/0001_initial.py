"""The state tables as they were before migrations: sessions, messages and their
originals, feedback, tickets with contacts and read marks, events, FAQ proposals, staff
logins and login attempts.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SID = 64  # SESSION_ID_MAX when this revision was written


def _session_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE")


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(SID), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False))
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(SID), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        _session_fk())
    _index("messages", "session_id")
    op.create_table(
        "raw_texts",
        sa.Column("message_id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(SID), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"))
    _index("raw_texts", "session_id")
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(SID), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        _session_fk())
    _index("feedback", "session_id")
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(SID), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        _session_fk())
    _index("tickets", "session_id")
    op.create_table(
        "ticket_contacts",
        sa.Column("ticket_id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.String(SID), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("consented_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"))
    _index("ticket_contacts", "session_id")
    op.create_table(
        "ticket_reads",
        sa.Column("ticket_id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], ondelete="CASCADE"))
    op.create_table(
        "session_secrets",
        sa.Column("session_id", sa.String(SID), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        _session_fk())
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(SID), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False))
    _index("events", "created_at", "kind", "session_id")
    op.create_table(
        "faq_proposals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False))
    op.create_table(
        "staff_logins",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False))
    _index("staff_logins", "expires")
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False))
    _index("login_attempts", "at", "client", "name")


def downgrade() -> None:
    for table in ("login_attempts", "staff_logins", "faq_proposals", "events",
                  "session_secrets", "ticket_reads", "ticket_contacts", "tickets", "feedback",
                  "raw_texts", "messages", "sessions"):
        op.drop_table(table)
