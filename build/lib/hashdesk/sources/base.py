"""The small interface every live source implements, plus the HTTP plumbing they share.

A chain source yields :class:`BlockRecord` rows; a price source yields daily bars as a frame.
Every request goes through :class:`HttpClient`: a total deadline per attempt (connect, send and
every read of headers and body together; a server that trickles bytes cannot stretch it), a cap
on the body size per endpoint (the body is streamed and the request abandoned as soon as the cap
is passed), retries with exponential backoff on timeouts, transport errors and 5xx,
``429 Too Many Requests`` honoured through its ``Retry-After`` header, and a client-side rate
limit. Credentials never reach a log or an error message: URLs are masked with :func:`mask_url`,
secrets are wrapped in :class:`Secret`, and a config file holding them must not be readable by
group or others (:func:`load_source_config`).

References
----------
.. [1] RFC 9110 §10.2.3 (``Retry-After``: delay-seconds or an HTTP-date).
.. [2] RFC 6585 §4 (``429 Too Many Requests``).
"""

from __future__ import annotations

import contextvars
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpcore
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
#: Default cap on a response body when the caller names none [bytes] (16 MiB).
DEFAULT_MAX_BODY_BYTES = 16 * 2**20
#: Bytes of an error (4xx/5xx) body read for its message; the rest is never read [bytes].
ERROR_BODY_BYTES = 4096
#: Largest body of a redirect (3xx) response that is followed (httpx reads it whole) [bytes].
REDIRECT_BODY_BYTES = 64 * 1024


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


class DeadlineExceededError(SourceError):
    """A server kept sending but did not finish its response within the request deadline.

    Not retried: the server is alive but too slow (or trickling on purpose), and a retry would
    cost the same again. A server that sends nothing at all raises an ordinary timeout, which is
    retried.
    """


class BodyTooLargeError(SourceError):
    """A response body is larger than the cap of its endpoint (checked while streaming)."""


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
        Total deadline of one attempt [s]: connecting, sending and every read of the headers and
        the body together. Each socket operation waits at most the time left, so one attempt
        never lasts longer, however slowly the server trickles its bytes (DNS resolution, done
        by the operating system before connecting, is the one step it cannot interrupt).
    max_body_bytes : int
        Body cap for requests whose caller names none [bytes].
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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 300.0
    rate_limit_per_s: float | None = None

    def backoff(self, attempt: int) -> float:
        """Delay before retry number ``attempt + 1`` [s]: ``min(backoff_s·2^attempt, max)``."""
        return min(self.backoff_s * (2.0**attempt), self.max_backoff_s)


# ---------------------------------------------------------------------------------------------
# deadlines: every socket operation of an attempt waits at most the time left


@dataclass
class _Budget:
    """Deadline of one request attempt [monotonic s] and the bytes received so far."""

    deadline: float
    received: int = 0

    def left(self, timeout: float | None, exc: type[Exception]) -> float:
        """``min(timeout, time left)``; raise ``exc`` (an httpcore timeout) when none is left."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise exc("request deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "hashdesk_http_budget", default=None
)


@contextmanager
def _deadline(seconds: float) -> Iterator[_Budget]:
    """Run the enclosed request under a total deadline of ``seconds`` [s]."""
    budget = _Budget(time.monotonic() + seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes never wait past the current request deadline."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = _BUDGET.get()
        if budget is not None:
            timeout = budget.left(timeout, httpcore.ReadTimeout)
        data = self._inner.read(max_bytes, timeout)
        if budget is not None:
            budget.received += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget = _BUDGET.get()
        if budget is not None:
            timeout = budget.left(timeout, httpcore.WriteTimeout)
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        budget = _BUDGET.get()
        if budget is not None:
            timeout = budget.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every connect, read and write clipped to the deadline."""

    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        budget = _BUDGET.get()
        if budget is not None:
            timeout = budget.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address,
                                                       socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        budget = _BUDGET.get()
        if budget is not None:
            timeout = budget.left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _CappedStream(httpx.SyncByteStream):
    """A response body stream that raises :class:`BodyTooLargeError` past ``cap`` bytes."""

    def __init__(self, inner: httpx.SyncByteStream, cap: int, shown: str):
        self._inner, self._cap, self._shown = inner, cap, shown

    def __iter__(self) -> Iterator[bytes]:
        n = 0
        for chunk in self._inner:
            n += len(chunk)
            if n > self._cap:
                raise BodyTooLargeError(f"{self._shown}: redirect body exceeds {self._cap:,} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


def _cap_redirect_body(response: httpx.Response) -> None:
    """Response hook: httpx reads a redirect's body whole before following it; cap that body."""
    if response.has_redirect_location:
        response.stream = _CappedStream(response.stream, REDIRECT_BODY_BYTES,
                                        mask_url(str(response.url)))


def _install_deadlines(client: httpx.Client) -> None:
    """Put :class:`_DeadlineBackend` under every transport of ``client`` (direct and proxies).

    httpx 0.28 builds its httpcore pool itself and takes no network backend, so the pool's
    backend is wrapped after construction; a missing attribute (another httpx/httpcore) fails
    here, loudly, rather than leaving requests without a deadline.
    """
    transports = [client._transport, *client._mounts.values()]  # noqa: SLF001
    for transport in transports:
        if transport is None:
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            raise RuntimeError(
                f"cannot install request deadlines on {type(transport).__name__}: httpx/httpcore "
                "internals changed (pinned httpx 0.28, httpcore 1.0)"
            )
        if not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # noqa: SLF001


class HttpClient:
    """An ``httpx.Client`` with deadlines, body caps, retries, ``Retry-After`` and a rate limit.

    Parameters
    ----------
    base_url : str
        Prefix of every request path (may carry credentials; never logged unmasked).
    policy : RetryPolicy, optional
        Deadline, default body cap, retries and rate limit.
    auth : tuple of (str, str), optional
        HTTP basic credentials.
    headers : dict, optional
        Extra headers (e.g. ``Authorization: Bearer …``; never logged).
    sleep, clock : callable, optional
        Injected for tests (``time.sleep`` and ``time.monotonic`` by default); they drive the
        backoff and the rate limit. The deadline always runs on the real monotonic clock.
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
            event_hooks={"response": [_cap_redirect_body]},
        )
        _install_deadlines(self._client)

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

    def request(
        self, method: str, path: str = "", *, max_bytes: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request with retries; return the successful (2xx) response, body read.

        Parameters
        ----------
        method, path : str
            HTTP method and path below ``base_url``.
        max_bytes : int, optional
            Largest body accepted [bytes]; default ``policy.max_body_bytes``. A larger declared
            ``Content-Length`` is refused before reading; otherwise the body is streamed and the
            request abandoned as soon as the cap is passed (memory stays near the cap).
        **kwargs
            Passed to ``httpx.Client.build_request`` (``params``, ``json``, …).

        Raises
        ------
        NotFoundError
            On HTTP 404.
        RateLimitedError
            When ``Retry-After`` exceeds ``policy.max_retry_after_s``.
        BodyTooLargeError
            When the body passes ``max_bytes`` (not retried).
        DeadlineExceededError
            When the server sent bytes but did not finish within ``policy.timeout_s`` (not
            retried).
        SourceError
            On other 4xx, or when retries are exhausted (message names the masked URL).
        """
        url = self.base_url + path
        shown = mask_url(url)
        cap = self.policy.max_body_bytes if max_bytes is None else int(max_bytes)
        last_problem = "no attempt made"
        for attempt in range(self.policy.max_retries + 1):
            self._throttle()
            self.requests_sent += 1
            with _deadline(self.policy.timeout_s) as budget:
                try:
                    resp = self._fetch(method, url, shown, cap, **kwargs)
                except httpx.TimeoutException as exc:
                    if budget.received:  # alive but too slow: a retry would cost the same again
                        raise DeadlineExceededError(
                            f"{method} {shown}: no complete response within the "
                            f"{self.policy.timeout_s:g} s deadline ({budget.received:,} bytes "
                            "received); the server is too slow or trickling its answer"
                        ) from exc
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

    def _fetch(self, method: str, url: str, shown: str, cap: int, **kwargs: Any) -> httpx.Response:
        """One attempt: stream the body up to ``cap`` bytes; return a response holding it."""
        req = self._client.build_request(method, url, **kwargs)
        resp = self._client.send(req, stream=True)
        try:
            limit = cap if resp.status_code < 400 else min(cap, ERROR_BODY_BYTES)
            declared = resp.headers.get("Content-Length", "")
            if resp.status_code < 400 and declared.isdigit() and int(declared) > cap:
                raise BodyTooLargeError(
                    f"{shown}: body of {int(declared):,} bytes declared, over this endpoint's cap "
                    f"of {cap:,} bytes; refused without reading it"
                )
            chunks, n = [], 0
            for chunk in resp.iter_bytes():
                n += len(chunk)
                if n > limit:
                    if resp.status_code >= 400:  # enough of an error body for its message
                        chunks.append(chunk[: max(0, limit - (n - len(chunk)))])
                        break
                    raise BodyTooLargeError(
                        f"{shown}: body exceeds this endpoint's cap of {cap:,} bytes; stopped "
                        f"reading after {n:,} bytes"
                    )
                chunks.append(chunk)
        finally:
            resp.close()
        skip = {"content-encoding", "content-length", "transfer-encoding"}
        headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in skip]
        return httpx.Response(resp.status_code, headers=headers, content=b"".join(chunks),
                              request=req)

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

    def get_text(self, path: str, *, max_bytes: int | None = None, **kwargs: Any) -> str:
        """GET ``path`` and return the stripped body text (body capped at ``max_bytes``)."""
        return self.request("GET", path, max_bytes=max_bytes, **kwargs).text.strip()

    def get_json(self, path: str, *, max_bytes: int | None = None, **kwargs: Any) -> Any:
        """GET ``path`` and decode JSON, raising :class:`MalformedResponseError` if it is not."""
        resp = self.request("GET", path, max_bytes=max_bytes, **kwargs)
        return decode_json(resp, mask_url(self.base_url + path))


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


#: Most sats that can ever exist (21 million BTC) [sats]: a bound on any block's fees.
MAX_MONEY_SATS = 21_000_000 * 100_000_000
#: More transactions than fit in a block of 4,000,000 weight units (≥ 240 WU each would give
#: 16,667); any count at or above this is not a real block's [count].
MAX_BLOCK_TX_COUNT = 100_000


def check_block_extras(fees_sats: int | None, tx_count: int | None, where: str) -> None:
    """Check a block's fees and transaction count when given (raise :class:`MalformedResponseError`).

    Parameters
    ----------
    fees_sats : int or None
        Total fees of the block [sats]: must satisfy ``0 <= fees_sats <= 21·10^6·10^8``.
    tx_count : int or None
        Transactions in the block: ``1 <= tx_count < 100,000`` (the coinbase at least; a block
        of 4,000,000 weight units holds fewer).
    where : str
        Masked URL for the message.

    References
    ----------
    .. [1] Bitcoin Core ``src/consensus/amount.h`` (``MAX_MONEY``) and ``src/consensus/consensus.h``
       (``MAX_BLOCK_WEIGHT``).
    """
    if fees_sats is not None and not 0 <= fees_sats <= MAX_MONEY_SATS:
        raise MalformedResponseError(f"{where}: fees {fees_sats} sats outside 0..{MAX_MONEY_SATS}")
    if tx_count is not None and not 1 <= tx_count < MAX_BLOCK_TX_COUNT:
        raise MalformedResponseError(f"{where}: tx_count {tx_count} outside 1..{MAX_BLOCK_TX_COUNT - 1}")


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
