"""Background jobs: rows in the database, run by an in-process runner by default."""
