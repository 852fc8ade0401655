"""The store. ``describe_database_error(err)`` turns a database error into a sentence for an
API answer (the API's error middleware looks it up here); ``Store.describe_error`` also names
the database file."""

from trainer_runtime.store.health import describe_database_error

__all__ = ["describe_database_error"]
