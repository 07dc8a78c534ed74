"""Errors of the ingest package.

The tree is ``IngestError`` → ``FrameError`` (a payload that is not a usable Binance frame,
defined in ``ingest.binance``), ``LockHeldError`` (another ingestor writes this database) and
``BackfillError`` (REST could not serve a gap). ``ConfigError`` lives in ``ingest.settings``
and storage problems raise ``ingest.storage.StorageError``; the CLI turns all of them into one
line on stderr and a non-zero exit code.
"""


class IngestError(Exception):
    """Base of every error raised by the ingest process."""


class LockHeldError(IngestError):
    """Another ingestor already holds this database's single-instance lock."""


class BackfillError(IngestError):
    """A REST backfill request failed; ``refused`` when the exchange answered 4xx (not 429/418)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused
