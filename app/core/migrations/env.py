"""Alembic environment: runs on the connection `app.core.db.migrate` hands over.

Revisions are written out by hand (no autogenerate at run time), so this layer needs no
import of the packages that own the tables; a test compares the migrated schema with the
tables the packages declare.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
context.run_migrations()
