"""Errors of the ingest package.

The tree is ``IngestError`` → ``FrameError`` (a payload that is not a usable Binance frame,
defined in ``ingest.binance``), ``LockHeldError`` (another ingestor writes this database),
``LockLostError`` (the lock's PostgreSQL session ended while running) and ``RestError``
(a REST call for backfill or history failed). ``ConfigError`` lives in ``ingest.settings``
and storage problems raise ``ingest.storage.StorageError``; the CLI turns all of them into one
line on stderr and a non-zero exit code (1 for a lost lock, which a restart may cure; 2 for
the others; 3, ``DATABASE_LOST_EXIT``, for a SQLite file removed or replaced while running).
"""

DATABASE_LOST_EXIT = 3
"""Exit status of ``python -m ingest run`` whose SQLite database file was removed or replaced
while it ran (``ingest.storage.DatabaseLostError``). Final for the supervisor, like 2: a restart
would silently start over on a new, empty file."""


class IngestError(Exception):
    """Base of every error raised by the ingest process."""


class LockHeldError(IngestError):
    """Another ingestor already holds this database's single-instance lock."""


class LockLostError(IngestError):
    """The lock was lost while running (its PostgreSQL session ended); a restart may retake it."""


class RestError(IngestError):
    """A REST request failed; ``refused`` when the exchange answered 4xx (not 429/418).

    ``status`` is the HTTP status when there was an answer (None for a network failure).
    """

    def __init__(self, message: str, *, refused: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.refused = refused
        self.status = status
