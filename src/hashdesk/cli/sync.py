"""``hashdesk sync``: bring blocks and prices up to date from live sources.

The store is not held open while sync waits on the network: it is opened read-only for what
sync must read, and for writing only while a validated batch is committed, so ``serve``,
``info`` and ``network`` can open it between batches.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from hashdesk.cli._common import OutputFormat, console, emit, fail


class Network(StrEnum):
    """Consensus rules for ``--network``."""

    main = "main"
    regtest = "regtest"


class ChainKind(StrEnum):
    """Chain source for ``--chain``."""

    esplora = "esplora"
    mempool = "mempool"
    bitcoind = "bitcoind"
    none = "none"


def _bar():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]sync[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    )


def sync(
    ctx: typer.Context,
    chain: ChainKind = typer.Option(ChainKind.esplora, "--chain",
                                    help="Chain source; 'none' skips blocks."),
    url: str = typer.Option(None, "--url", help="Source base URL (esplora API root or RPC URL) "
                            "\\[default: $HASHDESK_<CHAIN>_URL, config file, public default]."),
    cookie: str = typer.Option(None, "--cookie", help="bitcoind cookie file (mode 0600)."),
    network: Network = typer.Option(Network.main, "--network",
                                    help="Consensus rules the blocks are checked against "
                                    "(regtest: a local test node)."),
    prices: bool = typer.Option(False, "--prices", help="Also sync daily prices."),
    tickers: str = typer.Option(None, "--tickers",
                                help="Comma-separated tickers \\[default: every stored ticker]."),
    from_height: int = typer.Option(None, "--from-height", min=0,
                                    help="(Re)sync from this height \\[default: stored tip + 1]."),
    to_height: int = typer.Option(None, "--to-height", min=0, help="Stop at this height."),
    trust_anchor: bool = typer.Option(False, "--trust-anchor",
                                      help="Accept the source's header below the start height "
                                      "when the store has none (PoW checked, ancestry not)."),
    batch_size: int = typer.Option(144, "--batch-size", min=1, help="Blocks per committed batch."),
    rate_limit: float = typer.Option(None, "--rate-limit", min=0.01,
                                     help="Max requests per second \\[1/s]."),
    timeout: float = typer.Option(15.0, "--timeout", min=0.1,
                                  help="Total deadline per request: connect, send and read the whole "
                                  "body \\[s]."),
    retries: int = typer.Option(4, "--retries", min=0, help="Retries per request (exp. backoff)."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format"),
) -> None:
    """Sync per-block rows (validated, reorg-safe, resumable) and optionally daily prices."""
    import logging

    from hashdesk.config import default_db_path
    from hashdesk.sources import RetryPolicy, SourceError
    from hashdesk.store.chainsync import (
        ChainValidationError,
        ReorgRejectedError,
        StoreAccess,
        SyncError,
    )
    from hashdesk.store.db import StoreError
    from hashdesk.store.ingest import IngestError

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    policy = RetryPolicy(timeout_s=timeout, max_retries=retries, rate_limit_per_s=rate_limit)
    db = (ctx.obj or {}).get("db") if ctx is not None else None
    access = StoreAccess(Path(db) if db else default_db_path())
    out: dict = {"store": str(access.path)}
    try:
        with access.write():  # create and migrate the store once, then let it go
            pass
        _run(access, out, chain, url, cookie, prices, tickers, from_height, to_height, trust_anchor,
             batch_size, policy, network.value)
    except ReorgRejectedError as exc:
        fail(f"source refused: {exc}")
    except StoreError as exc:
        fail(str(exc))
    except (SourceError, SyncError, ChainValidationError, IngestError) as exc:
        fail(f"{type(exc).__name__}: {exc} (batches committed before this stay in the store)")
    if fmt == OutputFormat.json:
        emit(out, fmt)
        return
    if "chain" in out:
        emit(out["chain"], fmt, title="chain sync")
    if "prices" in out:
        emit(out["prices"], fmt, title="price sync")


def _run(access, out, chain, url, cookie, prices, tickers, from_height, to_height, trust_anchor,
         batch_size, policy, network="main") -> None:
    """Run the chain and price syncs on ``access`` (a StoreAccess), filling ``out``."""
    from hashdesk.sources import chain_source, price_source_for
    from hashdesk.store.chainsync import NETWORKS, sync_chain

    if chain != ChainKind.none:
        src = chain_source(chain.value, url, policy, cookie=cookie)
        with _bar() as bar:
            task = bar.add_task(f"blocks from {src.url}", total=None)
            rep = sync_chain(
                access, src, params=NETWORKS[network], from_height=from_height, to_height=to_height,
                batch_size=batch_size, trust_anchor=trust_anchor,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        out["chain"] = {
            "source": rep.source, "url": rep.url, "from_height": rep.start_height,
            "to_height": rep.target_height, "blocks_written": rep.blocks_written,
            "reorgs": len(rep.reorgs), "anchor": rep.anchor,
        }
    if prices:
        from hashdesk.store.pricesync import sync_prices

        names = [t.strip() for t in tickers.split(",") if t.strip()] if tickers else []
        if not tickers:
            from hashdesk.data import Reader
            from hashdesk.data.markets import known_tickers

            with access.read() as store:
                names = known_tickers(Reader(store.con))
        if not names:
            fail("no tickers stored; pass --tickers BTC-USD,MARA,…")
        source_for = price_source_for(policy)
        with _bar() as bar:
            task = bar.add_task("prices", total=len(names))
            res = sync_prices(access, names, source_for,
                              progress=lambda t: bar.update(task, advance=1, description=t))
        out["prices"] = [r.__dict__ for r in res]


def register(app: typer.Typer) -> None:
    """Add ``sync``."""
    app.command()(sync)
