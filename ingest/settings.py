"""Configuration: ``config.yaml`` turned into a frozen, validated settings tree.

This module owns the configuration contract of pairwatch. ``load_settings`` reads the YAML file
(path from the argument, else ``PAIRWATCH_CONFIG``, else ``config.yaml``), applies environment
overrides named ``PAIRWATCH_<SECTION>__<KEY>`` (values parsed as YAML scalars), and validates the
result with pydantic v2 models that forbid unknown keys. Every failure becomes one
``ConfigError`` whose message names the file, the key, the offending value and what is allowed,
so the command line can print it as a single line and exit with status 2.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from analytics.vocabulary import DirectionFilter, HedgeMethod, RuleKind, Timeframe

ENV_PREFIX = "PAIRWATCH_"
CONFIG_ENV = "PAIRWATCH_CONFIG"
DEFAULT_CONFIG = "config.yaml"
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,20}\Z")
QUALIFIED_SYMBOL = re.compile(r"^(?:(spot|usdm):)?([A-Z0-9]{2,20})\Z")
MARKETS = ("spot", "usdm")
PAIR_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}\Z")
"""Pair and alert-rule names (``\\Z``, not ``$``: a trailing newline is not a name)."""
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
AUTH_ENV_NAME = re.compile(r"^PAIRWATCH_[A-Z0-9_]{1,60}\Z")
MIN_PASSWORD = 8
HOST_NAME = re.compile(r"^(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\Z")
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""``${NAME}`` in a notification URL: the value of environment variable ``NAME``."""
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the dashboard on this machine."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in LOOPBACK_HOSTS


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line fit for a user."""


def _check_symbol(value: str) -> str:
    if not QUALIFIED_SYMBOL.match(value):
        raise ValueError(
            "must be 2-20 upper-case letters or digits, e.g. BTCUSDT, optionally qualified by "
            "market as spot:BTCUSDT or usdm:BTCUSDT"
        )
    return value


def split_symbol(symbol: str, default_market: str) -> tuple[str, str]:
    """``(market, exchange symbol)`` of a configured symbol (unqualified: ``default_market``)."""
    match = QUALIFIED_SYMBOL.match(symbol)
    if match is None:
        raise ValueError(f"{symbol!r} is not a symbol")
    return match.group(1) or default_market, match.group(2)


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"ws", "wss", "http", "https"} or not parts.hostname:
        raise ValueError("must be scheme://host[:port] with scheme ws, wss, http or https")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValueError("must be a base URL without path or query (the paths are appended)")
    return value.rstrip("/")


@functools.cache
def _apprise_schemes() -> frozenset[str]:
    """Every URL scheme the installed apprise can send to: the ``protocols`` and
    ``secure_protocols`` of each usable service in ``Apprise().details()["schemas"]``
    (appriseit.com, library/inspection). Imported here only when a config names a target."""
    import apprise  # noqa: PLC0415 - loads every apprise plugin; configs without targets skip it

    schemas = apprise.Apprise().details()["schemas"]
    return frozenset(
        name.lower()
        for schema in schemas
        for name in (*(schema["protocols"] or ()), *(schema["secure_protocols"] or ()))
    )


def _check_notify_url(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("must not contain control characters")
    scheme, separator, rest = value.partition("://")
    if not separator or not rest or scheme.lower() not in _apprise_schemes():
        raise ValueError(
            "must be an apprise URL such as tgram://${TELEGRAM_TOKEN}/${TELEGRAM_CHAT} or "
            "json://host:port/ (schemes: https://appriseit.com/services/)"
        )
    return value


def expand_env(text: str, environ: Mapping[str, str], where: str) -> str:
    """``text`` with each ``${NAME}`` replaced by environment variable ``NAME``; a variable
    that is unset, empty or holds a control character is a ``ConfigError`` naming it (never
    its value), prefixed by ``where``."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = environ.get(name, "")
        if not found:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        if CONTROL_CHARACTERS.search(found):
            raise ConfigError(f"{where}: environment variable {name} holds a control character")
        return found

    return ENV_REFERENCE.sub(value, text)


Symbol = Annotated[str, AfterValidator(_check_symbol)]
BaseUrl = Annotated[str, AfterValidator(_check_base_url)]
NotifyUrl = Annotated[str, AfterValidator(_check_notify_url)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


VENUE_URLS: dict[str, tuple[str, str]] = {
    "spot": ("wss://stream.binance.com:9443", "https://api.binance.com"),
    "usdm": ("wss://fstream.binance.com", "https://fapi.binance.com"),
}
"""Default (websocket, REST) bases per market: Binance spot and USD-M futures hosts."""


class FeedSettings(_Section):
    """Where trades come from; the hosts default to the market's Binance hosts."""

    ws_url: BaseUrl = VENUE_URLS["spot"][0]
    rest_url: BaseUrl = VENUE_URLS["spot"][1]
    market: Literal["spot", "usdm"] = "spot"
    stream: Literal["trade", "aggTrade"] = "trade"
    silence_s: float = Field(default=30.0, gt=0, le=3600)
    max_connection_s: float = Field(default=23.5 * 3600, gt=0, le=24 * 3600)
    backfill: bool = True

    @model_validator(mode="before")
    @classmethod
    def _market_hosts(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("market") in VENUE_URLS:
            ws, rest = VENUE_URLS[data["market"]]
            data = {"ws_url": ws, "rest_url": rest, **data}
        return data

    @model_validator(mode="after")
    def _venue_rules(self) -> FeedSettings:
        if self.market == "usdm" and self.stream == "trade":
            raise ValueError(
                "feed.stream = 'trade' with feed.market = 'usdm': Binance USD-M publishes "
                "aggTrade only on its routed /market stream (and its historicalTrades needs an "
                "API key); set feed.stream: aggTrade"
            )
        other = "spot" if self.market == "usdm" else "usdm"
        for key, url in (("ws_url", self.ws_url), ("rest_url", self.rest_url)):
            if urlsplit(url).hostname in {urlsplit(u).hostname for u in VENUE_URLS[other]}:
                raise ValueError(
                    f"feed.{key} = {url!r} is a Binance {other} host but feed.market is "
                    f"{self.market!r}; remove feed.{key} to use the {self.market} default"
                )
        return self

    @property
    def simulated(self) -> bool:
        """Binance never answers on loopback: a loopback feed is the built-in simulator."""
        return urlsplit(self.ws_url).hostname in LOOPBACK_HOSTS

    def for_market(self, market: str) -> FeedSettings:
        """These settings for ``market``: the configured ones for ``feed.market``; for the other
        market its Binance hosts (the same loopback simulator when simulated) and its stream
        kind (USD-M: aggTrade, the only kind it publishes; spot: trade, exact ids)."""
        if market == self.market:
            return self
        ws, rest = (self.ws_url, self.rest_url) if self.simulated else VENUE_URLS[market]
        stream = "aggTrade" if market == "usdm" else "trade"
        return self.model_copy(
            update={"market": market, "ws_url": ws, "rest_url": rest, "stream": stream}
        )


class StorageSettings(_Section):
    """Where trades are kept."""

    url: str = "sqlite:///data/pairwatch.db"
    retention_days: float = Field(default=7.0, gt=0)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value


class IngestSettings(_Section):
    """Writer batching and queue bounds."""

    batch_max: int = Field(default=5000, ge=1, le=50_000)
    flush_ms: int = Field(default=100, ge=5, le=1000)
    queue_max: int = Field(default=200_000, ge=1000, le=5_000_000)


class HistorySettings(_Section):
    """Exchange candles loaded before the first trade, so charts are full at once (0: off)."""

    one_second_hours: float = Field(default=2.0, ge=0, le=48)
    one_minute_days: float = Field(default=7.0, ge=0, le=366)


class PairSettings(_Section):
    """One configured pair: spread = base - beta * hedge."""

    name: str
    base: Symbol
    hedge: Symbol
    hedge_method: HedgeMethod | None = None
    window: int | None = Field(default=None, ge=10, le=100_000)
    z_window: int | None = Field(default=None, ge=5, le=100_000)

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not PAIR_NAME_PATTERN.match(value):
            raise ValueError("must be 1-40 letters, digits, '-' or '_'")
        return value

    @model_validator(mode="after")
    def _distinct_legs(self) -> PairSettings:
        if self.base == self.hedge:
            raise ValueError(f"base and hedge are both {self.base}; a pair needs two symbols")
        return self


class AnalyticsSettings(_Section):
    """Defaults for the analytics shown on every page."""

    timeframe: Timeframe = "1s"
    hedge_method: HedgeMethod = "ols"
    window: int = Field(default=300, ge=10, le=100_000)
    z_window: int = Field(default=60, ge=5, le=100_000)
    corr_window: int = Field(default=60, ge=5, le=100_000)
    max_stale_bars: int = Field(default=5, ge=0, le=3600)
    log_prices: bool = False


class ScreenerSettings(_Section):
    """The screener the ingestor keeps ready: every pair of ``symbols`` at these timeframes."""

    enabled: bool = True
    timeframes: tuple[Timeframe, ...] = ("1m", "5m")
    window: int = Field(default=1440, ge=20, le=20_000)


class AlertRuleSettings(_Section):
    """One alert rule. ``kind: z`` (default): fire when |z| crosses entry_z, re-arm below
    exit_z, ``window`` being the z window. ``kind: relationship``: fire BROKEN when the
    Engle-Granger p over ``window`` bars stays above ``max_p`` for ``persist`` evaluations,
    RESTORED when it is back at or below for as many."""

    name: str = "z"
    pair: str
    kind: RuleKind = "z"
    entry_z: float = Field(default=2.0, gt=0, le=20)
    exit_z: float = Field(default=0.5, ge=0, le=20)
    cooldown_s: float = Field(default=60.0, ge=0, le=86_400)
    direction: DirectionFilter = "both"
    timeframe: Timeframe = "1s"
    window: int = Field(default=60, ge=5, le=100_000)
    max_p: float = Field(default=0.05, gt=0, lt=1)
    persist: int = Field(default=3, ge=1, le=10_000)

    @field_validator("name")
    @classmethod
    def _rule_name(cls, value: str) -> str:
        if not PAIR_NAME_PATTERN.match(value):
            raise ValueError("must be 1-40 letters, digits, '-' or '_'")
        return value

    @model_validator(mode="after")
    def _hysteresis(self) -> AlertRuleSettings:
        if self.kind == "z" and self.exit_z >= self.entry_z:
            raise ValueError(f"exit_z {self.exit_z} must be below entry_z {self.entry_z}")
        if self.kind == "relationship" and self.window < 20:
            raise ValueError(f"a relationship rule needs window >= 20 bars, got {self.window}")
        return self

    def rule_fields(self) -> dict[str, Any]:
        """The fields of ``analytics.AlertRule`` (which names the timeframe ``tf``)."""
        names = ("name", "pair", "entry_z", "exit_z", "cooldown_s", "direction", "window")
        return {name: getattr(self, name) for name in names} | {"tf": self.timeframe}

    def relationship_fields(self) -> dict[str, Any]:
        """The fields of ``analytics.relationship.RelationshipRule``."""
        names = ("name", "pair", "max_p", "persist", "cooldown_s", "window")
        return {name: getattr(self, name) for name in names} | {"tf": self.timeframe}


class AlertSettings(_Section):
    """Server-side alert rules, their optional webhook and their apprise targets (``notify``:
    URLs whose tokens are best named as ``${ENV_VARIABLE}``)."""

    rules: tuple[AlertRuleSettings, ...] = ()
    webhook_url: str | None = None
    webhook_timeout_s: float = Field(default=3.0, gt=0, le=60)
    notify: tuple[NotifyUrl, ...] = ()
    notify_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials (user:password@); use a token path")
        if CONTROL_CHARACTERS.search(value):
            raise ValueError("must not contain control characters")
        try:
            link_local = ipaddress.ip_address(parts.hostname).is_link_local
        except ValueError:
            link_local = False
        if link_local:  # 169.254.169.254 is the cloud metadata service
            raise ValueError("must not point at a link-local address such as 169.254.169.254")
        return value


class AuthSettings(_Section):
    """HTTP basic auth; the credentials come from the environment only, from variables named
    ``PAIRWATCH_…`` (so a setting can never hand out ``HOME`` or ``PATH`` as a password)."""

    enabled: bool = False
    username_env: str = "PAIRWATCH_AUTH_USERNAME"
    password_env: str = "PAIRWATCH_AUTH_PASSWORD"  # noqa: S105 - the name of a variable

    @field_validator("username_env", "password_env")
    @classmethod
    def _ours(cls, value: str) -> str:
        if not AUTH_ENV_NAME.match(value):
            raise ValueError("must name an environment variable PAIRWATCH_<NAME> (A-Z, 0-9, _)")
        return value

    def credentials(self, environ: Mapping[str, str]) -> tuple[str, str]:
        """The username and password from ``environ``; ``ConfigError`` when auth cannot work:
        a variable unset or blank, or a password shorter than ``MIN_PASSWORD`` characters."""
        values = {name: environ.get(name, "") for name in (self.username_env, self.password_env)}
        missing = [name for name, value in values.items() if not value.strip()]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise ConfigError(
                f"dashboard.auth.enabled is true but {' and '.join(missing)} {verb} not set "
                "(or blank) in the environment"
            )
        password = values[self.password_env]
        if len(password) < MIN_PASSWORD:
            raise ConfigError(
                f"{self.password_env} is {len(password)} characters; use at least {MIN_PASSWORD}"
            )
        return values[self.username_env], password


class DashboardSettings(_Section):
    """The web server and what the pages show by default."""

    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    workers: int = Field(default=2, ge=1, le=32)
    refresh_ms: int = Field(default=1000, ge=250, le=10_000)
    timezone: str = "Asia/Kolkata"
    max_points: int = Field(default=2000, ge=100, le=20_000)
    auth: AuthSettings = AuthSettings()

    @field_validator("host")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            if not HOST_NAME.match(value):
                raise ValueError("must be an IP address or a host name, e.g. 127.0.0.1") from None
        return value

    @model_validator(mode="after")
    def _exposed_only_with_auth(self) -> DashboardSettings:
        if not self.auth.enabled and not _is_loopback(self.host):
            raise ValueError(
                f"host {self.host} serves the dashboard beyond this machine with auth off; "
                "set dashboard.auth.enabled: true (credentials from the environment, "
                f"{self.auth.username_env} and {self.auth.password_env}) or bind 127.0.0.1"
            )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Asia/Kolkata or UTC") from exc
        return value


class Settings(_Section):
    """The whole configuration."""

    feed: FeedSettings = FeedSettings()
    storage: StorageSettings = StorageSettings()
    ingest: IngestSettings = IngestSettings()
    history: HistorySettings = HistorySettings()
    symbols: tuple[Symbol, ...] = ()
    pairs: tuple[PairSettings, ...] = Field(min_length=1)
    analytics: AnalyticsSettings = AnalyticsSettings()
    screener: ScreenerSettings = ScreenerSettings()
    alerts: AlertSettings = AlertSettings()
    dashboard: DashboardSettings = DashboardSettings()

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        self._canonical_symbols()
        names = [pair.name for pair in self.pairs]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"pair names must be unique; repeated: {', '.join(duplicated)}")
        legs = {leg for pair in self.pairs for leg in (pair.base, pair.hedge)}
        if self.symbols:
            missing = sorted(legs - set(self.symbols))
            if missing:
                raise ValueError(f"symbols must include every pair leg; missing: {missing}")
        else:
            ordered = [leg for pair in self.pairs for leg in (pair.base, pair.hedge)]
            object.__setattr__(self, "symbols", tuple(dict.fromkeys(ordered)))
        for rule in self.alerts.rules:
            if rule.pair not in names:
                raise ValueError(f"alert rule {rule.name!r} names unknown pair {rule.pair!r}")
        return self

    def symbol_key(self, text: str) -> str:
        """The stored key of a symbol as a user may write it: ``spot:btcusdt`` → ``BTCUSDT``
        (with ``feed.market: spot``), ``USDM:btcusdt`` → ``usdm:BTCUSDT``."""
        market, _, name = text.rpartition(":")
        market = market.lower() or self.feed.market
        return name.upper() if market == self.feed.market else f"{market}:{name.upper()}"

    def _canonical_symbols(self) -> None:
        """Drop a market qualifier that names ``feed.market``: ``spot:BTCUSDT`` is BTCUSDT."""
        key = self.symbol_key
        object.__setattr__(self, "symbols", tuple(dict.fromkeys(map(key, self.symbols))))
        pairs = tuple(
            pair.model_copy(update={"base": key(pair.base), "hedge": key(pair.hedge)})
            for pair in self.pairs
        )
        for pair in pairs:
            if pair.base == pair.hedge:
                raise ValueError(f"pair {pair.name!r}: base and hedge are the same symbol")
        object.__setattr__(self, "pairs", pairs)

    def markets(self) -> dict[str, tuple[str, ...]]:
        """Configured symbols by market, ``feed.market`` first (markets without one left out)."""
        by_market: dict[str, list[str]] = {}
        for symbol in self.symbols:
            by_market.setdefault(split_symbol(symbol, self.feed.market)[0], []).append(symbol)
        order = sorted(by_market, key=lambda m: m != self.feed.market)
        return {market: tuple(by_market[market]) for market in order}

    def pair(self, name: str) -> PairSettings:
        """Return the configured pair called ``name`` (KeyError when absent)."""
        for pair in self.pairs:
            if pair.name == name:
                return pair
        raise KeyError(name)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Nest ``PAIRWATCH_A__B=value`` variables into ``{"a": {"b": value}}``."""
    tree: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: conflicts with another PAIRWATCH_ variable")
        try:
            node[path[-1]] = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            node[path[-1]] = raw
    return tree


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _lookup(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _describe(exc: ValidationError, path: Path, data: dict[str, Any]) -> str:
    first = exc.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = _location(loc)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling; see the README configuration reference)"
        return f"{path}: {key}: {message}"
    if first["type"] == "missing":
        return f"{path}: {key}: required key is missing"
    value = _lookup(data, loc)
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{path}: {key} = {value!r}: {message}{suffix}"


def load_settings(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read, merge with environment overrides and validate the configuration file."""
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{config_path}: YAML syntax error{where}: {problem}") from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{config_path}: top level must be a mapping of sections")
    data = _merge(loaded, _env_overrides(env))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_path, data)) from None
    for index, url in enumerate(settings.alerts.notify):  # a missing token fails now, not later
        expand_env(url, env, f"{config_path}: alerts.notify[{index}]")
    return settings
