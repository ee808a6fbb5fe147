"""Alembic's environment: migrations run on the connection ``bot.chat.migrations`` hands in."""

from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None,
                  render_as_batch=True)  # SQLite changes columns by copying the table
with context.begin_transaction():
    context.run_migrations()
