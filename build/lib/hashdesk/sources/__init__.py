"""Live data sources behind one small interface: esplora/mempool REST, Bitcoin Core RPC, prices.

:func:`chain_source` and :func:`price_source_for` build configured sources from CLI options,
environment variables (``HASHDESK_<SOURCE>_<KEY>``) and the private sources config file.
"""

from __future__ import annotations

from hashdesk.sources.base import (
    BlockRecord,
    BodyTooLargeError,
    ChainSource,
    ConfigError,
    DeadlineExceededError,
    HttpClient,
    MalformedResponseError,
    NotFoundError,
    PriceSource,
    RateLimitedError,
    RetryPolicy,
    Secret,
    SourceError,
    load_source_config,
    mask_url,
    source_setting,
)
from hashdesk.sources.bitcoind import DEFAULT_URL as BITCOIND_URL
from hashdesk.sources.bitcoind import BitcoindSource, bitcoind_auth
from hashdesk.sources.esplora import DEFAULT_URLS, EsploraSource
from hashdesk.sources.prices import (
    COINBASE_URL,
    YAHOO_URL,
    CoinbaseCandlesSource,
    YahooChartSource,
)

#: Chain source kinds accepted by :func:`chain_source` (and ``hashdesk sync --chain``).
CHAIN_KINDS = ("esplora", "mempool", "bitcoind")


def chain_source(
    kind: str,
    url: str | None = None,
    policy: RetryPolicy | None = None,
    config: dict | None = None,
    cookie: str | None = None,
) -> ChainSource:
    """Build a chain source of ``kind`` (``esplora``, ``mempool`` or ``bitcoind``).

    The URL comes from ``url``, else ``HASHDESK_<KIND>_URL``, else the config file, else the
    public default (blockstream.info / mempool.space / 127.0.0.1:8332). An esplora/mempool
    ``token`` is sent as ``Authorization: Bearer``; bitcoind uses its cookie or user/password.
    """
    config = load_source_config() if config is None else config
    if kind in ("esplora", "mempool"):
        base = url or source_setting(config, kind, "url", DEFAULT_URLS[kind])
        token = source_setting(config, kind, "token")
        headers = {"Authorization": f"Bearer {token.value}"} if token else None
        return EsploraSource(HttpClient(base, policy, headers=headers), flavor=kind)
    if kind == "bitcoind":
        base = url or source_setting(config, kind, "url", BITCOIND_URL)
        auth = bitcoind_auth(
            source_setting(config, kind, "user"),
            source_setting(config, kind, "password"),
            cookie or source_setting(config, kind, "cookie"),
        )
        return BitcoindSource(HttpClient(base, policy, auth=auth))
    raise ValueError(f"unknown chain source {kind!r}; choose one of {CHAIN_KINDS}")


def price_source_for(policy: RetryPolicy | None = None):
    """A function mapping a ticker to its price source: ``*-USD`` → Coinbase, else Yahoo."""
    yahoo = YahooChartSource(HttpClient(YAHOO_URL, policy))
    coinbase = CoinbaseCandlesSource(HttpClient(COINBASE_URL, policy))
    return lambda ticker: coinbase if ticker.upper().endswith("-USD") else yahoo


__all__ = [
    "CHAIN_KINDS",
    "BitcoindSource",
    "BlockRecord",
    "BodyTooLargeError",
    "ChainSource",
    "CoinbaseCandlesSource",
    "ConfigError",
    "DeadlineExceededError",
    "EsploraSource",
    "HttpClient",
    "MalformedResponseError",
    "NotFoundError",
    "PriceSource",
    "RateLimitedError",
    "RetryPolicy",
    "Secret",
    "SourceError",
    "YahooChartSource",
    "chain_source",
    "load_source_config",
    "mask_url",
    "price_source_for",
]
