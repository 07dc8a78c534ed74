"""Errors raised by the dashboard package.

Every failure the dashboard reports to a user is a :class:`DashboardError`, so the API and the
pages can catch one type and show its one-line message:

* DashboardError
  + QueryError          a query parameter (URL or API) is missing, malformed or out of range
  + BusyError           every heavy slot of the worker is taken (HTTP 429, ``Retry-After``)
"""

from __future__ import annotations


class DashboardError(Exception):
    """Base class for every error raised by ``dashboard``."""


class QueryError(DashboardError):
    """A request parameter is invalid; ``parameter`` names it for the HTTP 400 body."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


class BusyError(DashboardError):
    """Every heavy slot of the worker is taken: the request is refused, not queued."""
