"""The bottom layer: settings, database engine and migrations, the error base class."""
