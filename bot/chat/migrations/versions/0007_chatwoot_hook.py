"""What the Chatwoot hook remembers (``bot.channels.chatwoot_store``): the message ids it
has handled, so a replayed event is not answered twice, and the Chatwoot conversations
Lotse handed to Chatwoot's agents, since only those can be given back.

Open tickets of Chatwoot conversations (sessions ``chatwoot-<account>-<conversation>``,
which only the hook made until now) are linked, so a conversation handed over before the
upgrade can still be given back.

Revision ID: 0007
Revises: 0006
"""

import re
import time

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_CHATWOOT_SESSION = re.compile(r"^chatwoot-(\d{1,18})-(\d{1,18})$")


def upgrade() -> None:
    op.create_table(
        "chatwoot_seen",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("account", "message_id", name="uq_chatwoot_seen_message"))
    op.create_table(
        "chatwoot_links",
        sa.Column("account", sa.BigInteger(), primary_key=True),
        sa.Column("conversation", sa.BigInteger(), primary_key=True),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.Float(), nullable=False))
    bind = op.get_bind()
    tickets = bind.execute(sa.text("SELECT id, session_id FROM tickets WHERE status != 'closed' "
                                   "AND session_id LIKE 'chatwoot-%' ORDER BY id")).all()
    now, linked = time.time(), set()
    for ticket_id, session_id in tickets:
        match = _CHATWOOT_SESSION.match(session_id)
        if match and session_id not in linked:
            linked.add(session_id)
            bind.execute(sa.text(
                "INSERT INTO chatwoot_links (account, conversation, session_id, ticket_id, "
                "linked_at) VALUES (:a, :c, :s, :t, :at)"),
                {"a": int(match[1]), "c": int(match[2]), "s": session_id, "t": ticket_id,
                 "at": now})


def downgrade() -> None:
    op.drop_table("chatwoot_links")
    op.drop_table("chatwoot_seen")
