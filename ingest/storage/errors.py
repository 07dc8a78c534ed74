"""Errors raised by the storage layer.

The tree is ``StorageError`` → ``SchemaVersionError``, ``NotInitialisedError`` and
``DatabaseLostError``; callers catch ``StorageError`` to report a database problem to the user
without a traceback.
"""


class StorageError(Exception):
    """The database cannot be used as asked."""


class SchemaVersionError(StorageError):
    """The database was written by a newer pairwatch schema than this code knows."""


class NotInitialisedError(StorageError):
    """A reader opened a database whose schema the ingestor has not created (or migrated) yet."""


class DatabaseLostError(StorageError):
    """The SQLite file a process opened was removed or replaced while it ran (see ``identity``)."""
