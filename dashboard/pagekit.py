"""Glue every page uses: the view from the URL, the refresh inputs and the URL writer.

Owns the page-side half of "the URL is the view": ``current_view`` parses the query leniently
(bad values fall back to defaults), ``REFRESH_INPUTS`` is the trigger set of every data callback
(the shared Interval, the refresh-now button, the URL) plus the session id for the no-overlap
guard, and ``register_url_writer`` adds one callback per page that writes its controls into the
query, so a copied URL reopens the same view; ``register_subtitle`` keeps a page's subtitle
(which names the pair) in step with that query. ``shared_render`` makes every tab showing the
same view share one computation per second (see ``dashboard.memo``), after taking a heavy slot
when the render's estimated work is heavy (see ``dashboard.budget`` and ``dashboard.limiter``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from dash import Input, Output, State, callback, no_update
from dash._no_update import NoUpdate

from dashboard.budget import Work, pair_work
from dashboard.context import services
from dashboard.ids import SHELL
from dashboard.params import LOOKBACK_MINUTES, View, merge_query, parse_view, query_values
from dashboard.timefmt import display_zone

T = TypeVar("T")

REFRESH_INPUTS = (
    Input(SHELL.tick, "n_intervals"),
    Input(SHELL.refresh_now, "n_clicks"),
    Input(SHELL.url, "search"),
    State(SHELL.session, "data"),
)


def current_view(search: str | Mapping[str, str] | None) -> View:
    """The view of a URL query string (or of layout keyword arguments)."""
    query = search if isinstance(search, Mapping) else query_values(search)
    return parse_view(services().settings, query)


def zone_of(view: View) -> str:
    return display_zone(services().settings.dashboard.timezone, view.utc)


def max_points() -> int:
    return services().settings.dashboard.max_points


def as_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def lookback_minutes(index: Any) -> str:
    position = int(index) if isinstance(index, int | float) else 0
    return str(LOOKBACK_MINUTES[min(max(position, 0), len(LOOKBACK_MINUTES) - 1)])


def register_subtitle(component_id: str, text: Callable[[View], str]) -> Callable:
    """Keep a page subtitle that names the pair in step with the URL (the layout only sees
    the query the page was opened with; the shared pair and timeframe change afterwards)."""

    def retitle(search: str | None) -> str:
        return text(current_view(search))

    return callback(
        Output(component_id, "children"),
        Input(SHELL.url, "search"),
        prevent_initial_call=True,
    )(retitle)


def register_url_writer(fields: Mapping[str, tuple[str, Callable[[Any], str]]]) -> Callable:
    """Register ``{query key: (control id, value → text)}`` as one URL-writing callback."""
    keys = tuple(fields)

    def write(*args: Any) -> str | NoUpdate:
        *values, search = args
        updates = {
            key: fields[key][1](v) for key, v in zip(keys, values, strict=True) if v is not None
        }
        updated = merge_query(search, updates)
        return updated if updated != search else no_update

    return callback(
        Output(SHELL.url, "search", allow_duplicate=True),
        *(Input(component_id, "value") for component_id, _ in fields.values()),
        State(SHELL.url, "search"),
        prevent_initial_call=True,
    )(write)


def view_work(view: View, *_: Any) -> Work:
    """The work of rendering a pair view, the render's first argument (the usual case)."""
    return pair_work(view)


def shared_render(
    render: Callable[..., T], work: Callable[..., Work] = view_work
) -> Callable[..., T]:
    """Share a page's ``render`` result between requests for the same view and data; when
    ``work(*args)`` is heavy, hold a heavy slot first (``BusyError`` when none is free)."""
    name = f"{render.__module__}.{render.__qualname__}"

    @functools.wraps(render)
    def shared(*args: Any) -> T:
        service = services()
        service.limiter.admit(work(*args).heavy)
        return service.shared(name, args, lambda: render(*args))

    return shared
