"""A client's history under its own role.

Before this revision the OpenAI route stored a client's assistant turns as ``bot`` with
the answer ``{"kind": "client_history"}``, which every view then showed as Lotse's words;
they become ``client_history`` (``bot.chat.roles``).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MARKER = '{"kind": "client_history"}'  # exactly as json.dumps wrote it


def upgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE messages SET role = 'client_history', answer = '{}' "
                                  "WHERE role = 'bot' AND answer = :marker"), {"marker": _MARKER})


def downgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE messages SET role = 'bot', answer = :marker "
                                  "WHERE role = 'client_history'"), {"marker": _MARKER})
