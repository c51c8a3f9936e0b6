"""Meetings kept in the database: a transcript and its summary, named by id."""
