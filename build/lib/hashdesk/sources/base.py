"""The small interface every live source implements, plus the HTTP plumbing they share.

A chain source yields :class:`BlockRecord` rows; a price source yields daily bars as a frame.
Every request goes through :class:`HttpClient`: per-request timeouts, retries with exponential
backoff on timeouts, transport errors and 5xx, ``429 Too Many Requests`` honoured through its
``Retry-After`` header, and a client-side rate limit. Credentials never reach a log or an error
message: URLs are masked with :func:`mask_url`, secrets are wrapped in :class:`Secret`, and a
config file holding them must not be readable by group or others (:func:`load_source_config`).

References
----------
.. [1] RFC 9110 §10.2.3 (``Retry-After``: delay-seconds or an HTTP-date).
.. [2] RFC 6585 §4 (``429 Too Many Requests``).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import yaml
from platformdirs import user_config_dir

log = logging.getLogger("hashdesk.sources")

#: Environment variable naming the sources config file (YAML).
CONFIG_ENV = "HASHDESK_SOURCES_CONFIG"
#: Query parameters whose values are masked in logged URLs.
_SECRET_PARAMS = {"token", "access_token", "apikey", "api_key", "key", "password", "secret"}
#: HTTP statuses that are retried (with backoff) rather than raised at once.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(RuntimeError):
    """A live source failed (after retries) or answered something unusable."""


class NotFoundError(SourceError):
    """The source has no such object (HTTP 404, unknown height or hash)."""


class MalformedResponseError(SourceError):
    """A response body does not have the documented shape (bad JSON, missing field, bad hex)."""


class RateLimitedError(SourceError):
    """The provider asked us to wait longer than we are willing to (``Retry-After``)."""


class ConfigError(SourceError):
    """A sources config file is unsafe (permissions) or invalid."""


class Secret(str):
    """A string that prints as ``***`` (tokens, passwords), so it never leaks into logs."""

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    @property
    def value(self) -> str:
        """The secret itself (use only where it is sent)."""
        return str.__str__(self)


def mask_url(url: str) -> str:
    """Return ``url`` with any password and secret-looking query values replaced by ``***``.

    Examples
    --------
    >>> mask_url("http://alice:hunter2@node:8332/?token=abc&x=1")
    'http://alice:***@node:8332/?token=%2A%2A%2A&x=1'
    """
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = [
            (k, "***" if k.lower() in _SECRET_PARAMS else v)
            for k, v in parse_qsl(query, keep_blank_values=True)
        ]
        query = urlencode(pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# ---------------------------------------------------------------------------------------------
# records and interfaces


@dataclass(frozen=True)
class BlockRecord:
    """One block as a chain source reports it, header fields already decoded.

    Attributes
    ----------
    height : int
        Block height.
    hash : str
        Block hash [display hex].
    prev_hash : str
        Parent's hash [display hex] (all zeros for genesis).
    merkle_root : str
        Merkle root [display hex].
    version : int
        Header version (signed 32-bit).
    time : int
        Header timestamp [unix s].
    bits : int
        Compact target.
    nonce : int
        Header nonce.
    header_hex : str
        The 80 serialised header bytes [hex]; ``hash`` is their double SHA-256.
    fees_sats : int or None
        Total fees of the block, excluding the subsidy [sats], when the source has them.
    tx_count : int or None
        Transactions in the block (coinbase included), when the source has them.
    """

    height: int
    hash: str
    prev_hash: str
    merkle_root: str
    version: int
    time: int
    bits: int
    nonce: int
    header_hex: str
    fees_sats: int | None = None
    tx_count: int | None = None


@runtime_checkable
class ChainSource(Protocol):
    """A provider of per-block data (esplora/mempool REST, Bitcoin Core RPC).

    ``name`` is the provenance label (stored as ``blocks.source`` = ``'sync:<name>'``) and
    ``url`` the masked endpoint (safe to log).
    """

    name: str
    url: str

    def tip_height(self) -> int:
        """Height of the source's best chain tip."""
        ...

    def block_hash(self, height: int) -> str:
        """Hash of the block at ``height`` on the source's best chain [display hex]."""
        ...

    def blocks(self, start: int, stop: int) -> list[BlockRecord]:
        """Blocks ``start..stop`` inclusive, ascending, each with its raw header."""
        ...


@runtime_checkable
class PriceSource(Protocol):
    """A provider of daily bars; ``name`` is stored in ``prices_daily.source``."""

    name: str

    def daily(self, ticker: str, start: Any, end: Any) -> Any:
        """Daily bars for ``ticker`` from ``start`` to ``end`` (dates, inclusive) as a frame."""
        ...


# ---------------------------------------------------------------------------------------------
# HTTP


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a ``Retry-After`` header: delay-seconds or an HTTP-date [s].

    Parameters
    ----------
    value : str or None
        Header value.
    now : datetime, optional
        Current UTC time for the HTTP-date form (defaults to now).

    Returns
    -------
    float or None
        Seconds to wait (>= 0), or None when absent/unparseable.

    References
    ----------
    .. [1] RFC 9110 §10.2.3.

    Examples
    --------
    >>> retry_after_seconds("7")
    7.0
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    10.0
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try.

    Attributes
    ----------
    timeout_s : float
        Per-request timeout (connect, read, write, pool) [s].
    max_retries : int
        Retries after the first attempt (so ``max_retries + 1`` attempts at most).
    backoff_s : float
        First backoff delay; attempt ``k`` (0-based) waits ``backoff_s * 2**k`` [s].
    max_backoff_s : float
        Cap on a single backoff delay [s].
    max_retry_after_s : float
        Longest ``Retry-After`` we agree to wait; longer raises :class:`RateLimitedError` [s].
    rate_limit_per_s : float or None
        Client-side cap on requests per second (None = unlimited) [1/s].
    """

    timeout_s: float = 15.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 300.0
    rate_limit_per_s: float | None = None

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt + 1`` [s]: ``min(backoff_s·2^attempt, max)``."""
        return min(self.backoff_s * (2.0**attempt), self.max_backoff_s)


class HttpClient:
    """An ``httpx.Client`` with timeouts, retries, backoff, ``Retry-After`` and a rate limit.

    Parameters
    ----------
    base_url : str
        Prefix of every request path (may carry credentials; never logged unmasked).
    policy : RetryPolicy, optional
        Timeouts, retries and rate limit.
    auth : tuple of (str, str), optional
        HTTP basic credentials.
    headers : dict, optional
        Extra headers (e.g. ``Authorization: Bearer …``; never logged).
    sleep, clock : callable, optional
        Injected for tests (``time.sleep`` and ``time.monotonic`` by default).
    """

    def __init__(
        self,
        base_url: str,
        policy: RetryPolicy | None = None,
        *,
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.base_url = base_url.rstrip("/")
        self.masked_url = mask_url(self.base_url)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._last_request: float | None = None
        self.requests_sent = 0
        hdrs = {"User-Agent": "hashdesk/0.1 (+https://github.com/hashdesk)", **(headers or {})}
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout_s),
            auth=auth,
            headers=hdrs,
            follow_redirects=True,
        )

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _throttle(self) -> None:
        rate = self.policy.rate_limit_per_s
        now = self._clock()
        if rate and self._last_request is not None:
            wait = 1.0 / rate - (now - self._last_request)
            if wait > 0:
                self._sleep(wait)
                now += wait
        self._last_request = now

    def request(self, method: str, path: str = "", **kwargs: Any) -> httpx.Response:
        """Send one request with retries; return the successful (2xx) response.

        Raises
        ------
        NotFoundError
            On HTTP 404.
        RateLimitedError
            When ``Retry-After`` exceeds ``policy.max_retry_after_s``.
        SourceError
            On other 4xx, or when retries are exhausted (message names the masked URL).
        """
        url = self.base_url + path
        shown = mask_url(url)
        last_problem = "no attempt made"
        for attempt in range(self.policy.max_retries + 1):
            self._throttle()
            self.requests_sent += 1
            try:
                resp = self._client.request(method, url, **kwargs)
            except httpx.TimeoutException as exc:
                last_problem = f"timeout after {self.policy.timeout_s:g} s ({type(exc).__name__})"
                delay = self.policy.backoff(attempt)
            except httpx.TransportError as exc:
                last_problem = f"transport error ({type(exc).__name__})"
                delay = self.policy.backoff(attempt)
            else:
                if resp.status_code < 400 or not self._retryable(resp):
                    return self._check(resp, shown)
                last_problem = f"HTTP {resp.status_code}"
                delay = self.policy.backoff(attempt)
                if resp.status_code == 429:
                    ra = retry_after_seconds(resp.headers.get("Retry-After"))
                    if ra is not None:
                        if ra > self.policy.max_retry_after_s:
                            raise RateLimitedError(
                                f"{shown}: provider asks to retry after {ra:g} s "
                                f"(> {self.policy.max_retry_after_s:g} s allowed); try later"
                            )
                        delay = max(delay, ra)
            if attempt < self.policy.max_retries:
                log.warning("%s %s: %s; retry %d in %.2f s", method, shown, last_problem,
                            attempt + 1, delay)
                self._sleep(delay)
        raise SourceError(
            f"{method} {shown} failed after {self.policy.max_retries + 1} attempts: {last_problem}"
        )

    @staticmethod
    def _retryable(resp: httpx.Response) -> bool:
        return resp.status_code in RETRY_STATUSES

    @staticmethod
    def _check(resp: httpx.Response, shown: str) -> httpx.Response:
        if resp.status_code == 404:
            raise NotFoundError(f"{shown}: HTTP 404 {resp.text[:200]!r}")
        if resp.status_code >= 400:
            raise SourceError(f"{shown}: HTTP {resp.status_code} {resp.text[:200]!r}")
        return resp

    def get_text(self, path: str, **kwargs: Any) -> str:
        """GET ``path`` and return the stripped body text."""
        return self.request("GET", path, **kwargs).text.strip()

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and decode JSON, raising :class:`MalformedResponseError` if it is not."""
        return decode_json(self.request("GET", path, **kwargs), mask_url(self.base_url + path))


def decode_json(resp: httpx.Response, shown: str) -> Any:
    """Decode a response body as JSON or raise :class:`MalformedResponseError`."""
    try:
        return resp.json()
    except ValueError as exc:
        raise MalformedResponseError(f"{shown}: body is not JSON ({resp.text[:80]!r})") from exc


# ---------------------------------------------------------------------------------------------
# parsing helpers shared by sources


def require(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return ``obj[key]`` checked to be of ``kind``, else raise :class:`MalformedResponseError`."""
    if not isinstance(obj, dict) or key not in obj:
        raise MalformedResponseError(f"{where}: missing field '{key}'")
    val = obj[key]
    if isinstance(val, bool) or not isinstance(val, kind):
        raise MalformedResponseError(
            f"{where}: field '{key}' should be {getattr(kind, '__name__', kind)}, got {val!r}"
        )
    return val


def parse_hex(value: Any, n_bytes: int, where: str) -> str:
    """Check a lowercase/uppercase hex string of exactly ``n_bytes`` bytes; return it lowercased."""
    if not isinstance(value, str):
        raise MalformedResponseError(f"{where}: expected hex string, got {value!r}")
    v = value.strip().lower()
    if len(v) != 2 * n_bytes or any(c not in "0123456789abcdef" for c in v):
        raise MalformedResponseError(f"{where}: expected {n_bytes} bytes of hex, got {value[:80]!r}")
    return v


def parse_int_text(text: str, where: str) -> int:
    """Parse a plain-text integer body (e.g. esplora's ``/blocks/tip/height``)."""
    t = text.strip()
    if not t.isdigit():
        raise MalformedResponseError(f"{where}: expected an integer body, got {t[:80]!r}")
    return int(t)


# ---------------------------------------------------------------------------------------------
# credentials


def default_config_path() -> Path:
    """``$HASHDESK_SOURCES_CONFIG`` or ``<XDG config dir>/hashdesk/sources.yaml``."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir("hashdesk", appauthor=False)) / "sources.yaml"


def check_private_file(path: Path) -> None:
    """Refuse a secrets file that group or others may read or write (must be 0600 or stricter).

    Raises
    ------
    ConfigError
        Naming the file and its mode, with the ``chmod`` that fixes it.
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} has permissions {mode:04o}; it holds credentials and must be private "
            f"(run: chmod 600 {path})"
        )


def load_source_config(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Read the optional sources config (YAML), refusing it unless its mode is 0600 or stricter.

    The file maps a source (``esplora``, ``mempool``, ``bitcoind``) to its settings::

        bitcoind: {url: "http://127.0.0.1:8332", user: alice, password: "…"}
        esplora:  {url: "https://blockstream.info/api", token: "…"}

    Secret values (``password``, ``token``) come back wrapped in :class:`Secret`.

    Returns
    -------
    dict
        Empty when the file does not exist.
    """
    p = path or default_config_path()
    if not p.exists():
        return {}
    check_private_file(p)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"{p}: expected a mapping of source name to settings")
    return {
        name: {k: Secret(v) if k in ("password", "token") and v is not None else v
               for k, v in settings.items()}
        for name, settings in data.items()
    }


def source_setting(
    config: dict[str, dict[str, Any]], source: str, key: str, default: Any = None
) -> Any:
    """A setting from ``HASHDESK_<SOURCE>_<KEY>`` (wins) or the config file, else ``default``.

    Secrets read from the environment are wrapped in :class:`Secret` too.
    """
    env = os.environ.get(f"HASHDESK_{source.upper()}_{key.upper()}")
    if env is not None:
        return Secret(env) if key in ("password", "token") else env
    return config.get(source, {}).get(key, default)


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)
