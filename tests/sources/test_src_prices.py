"""Price clients on recorded responses (Yahoo chart v8, Coinbase candles) and incremental sync."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest
import respx

from hashdesk.sources.base import MalformedResponseError
from hashdesk.sources.prices import (
    COINBASE_URL,
    YAHOO_URL,
    CoinbaseCandlesSource,
    YahooChartSource,
    last_complete_day,
    parse_yahoo_chart,
)
from hashdesk.store import Store
from hashdesk.store.ingest import IngestError
from hashdesk.store.pricesync import sync_prices


def test_src_yahoo_chart_parse_real_mara_bars(recorded):
    df = parse_yahoo_chart(recorded("yahoo_chart_MARA.json"), "MARA", date(2024, 1, 1),
                           date(2024, 12, 31), "fixture")
    # the bundle's Yahoo rows for 2024-03-06..08; the null (halted) session is dropped, not filled
    assert [str(d) for d in df.date] == ["2024-03-06", "2024-03-07", "2024-03-08"]
    assert df.close.tolist() == [22.620001, 21.799999, 23.48]
    assert df.volume.tolist() == [66880700, 58499200, 94062000]
    assert set(df.source) == {"yahoo_chart"} and set(df.volume_kind) == {"consolidated"}


def test_src_yahoo_error_body_is_malformed():
    body = {"chart": {"result": None, "error": {"code": "Not Found", "description": "delisted"}}}
    with pytest.raises(MalformedResponseError, match="yahoo error"):
        parse_yahoo_chart(body, "XXXX", date(2024, 1, 1), date(2024, 2, 1), "fixture")
    with pytest.raises(MalformedResponseError, match="chart-v8"):
        parse_yahoo_chart({"chart": {}}, "XXXX", date(2024, 1, 1), date(2024, 2, 1), "fixture")


def test_src_coinbase_pages_of_300_and_utc_dates(recorded, make_client):
    with respx.mock(base_url=COINBASE_URL) as r:
        route = r.get("/products/BTC-USD/candles").mock(
            return_value=httpx.Response(200, json=recorded("coinbase_candles_BTC-USD.json")))
        df = CoinbaseCandlesSource(make_client(COINBASE_URL)).daily("BTC-USD", date(2025, 1, 1),
                                                                    date(2025, 12, 29))
    assert route.call_count == 2  # 363 days → 300 + 63
    assert route.calls[1].request.url.params["start"] == "2025-10-28T00:00:00Z"
    assert [str(d) for d in df.date] == [f"2025-12-{d}" for d in range(25, 30)]
    # candle D closes at 00:00 UTC D+1: the same fixing as Coin Metrics' price_usd for D
    assert df.close.iloc[-1] == 87133.51


def _sync(path, tickers, now, recorded, make_client, candles=None):
    with respx.mock(assert_all_called=False) as r:
        r.get(url__startswith=f"{YAHOO_URL}/v8/finance/chart/MARA").mock(
            return_value=httpx.Response(200, json=recorded("yahoo_chart_MARA.json")))
        r.get(url__startswith=f"{COINBASE_URL}/products/BTC-USD/candles").mock(
            return_value=httpx.Response(200, headers={"Content-Type": "application/json"},
                                        content=json.dumps(candles or recorded("coinbase_candles_BTC-USD.json"))))
        yahoo = YahooChartSource(make_client(YAHOO_URL))
        cb = CoinbaseCandlesSource(make_client(COINBASE_URL))
        with Store(path) as store:
            return sync_prices(store, tickers, lambda t: cb if t == "BTC-USD" else yahoo, now=now)


def rows(path):
    with Store(path, read_only=True) as s:
        return s.con.execute("SELECT ticker, date, source, close FROM prices_daily ORDER BY ticker, date"
                             ).fetchall()


def test_src_price_sync_incremental_and_excludes_todays_bar(store_path, recorded, make_client):
    now = datetime(2025, 12, 29, 10, 0, tzinfo=UTC)  # 2025-12-29's candle is still forming
    with Store(store_path) as s:  # BTC history from another source fixes where coinbase starts
        s.con.execute("INSERT INTO prices_daily (ticker, date, source, close) VALUES "
                      "('BTC-USD', DATE '2025-12-20', 'coinmetrics', 1.0)").fetchall()
    res = _sync(store_path, ["BTC-USD", "MARA"], now, recorded, make_client)
    assert [(r.ticker, r.source, str(r.start), str(r.end), r.rows_added) for r in res] == [
        ("BTC-USD", "coinbase", "2025-12-20", "2025-12-28", 4),
        ("MARA", "yahoo_chart", "2020-01-01", "2025-12-28", 3),
    ]
    got = rows(store_path)
    assert ("BTC-USD", date(2025, 12, 28), "coinbase", 87747.65) in got
    assert not any(r[1] == date(2025, 12, 29) for r in got)
    res = _sync(store_path, ["BTC-USD", "MARA"], datetime(2025, 12, 30, 1, tzinfo=UTC), recorded,
                make_client)
    assert [(str(r.start), r.rows_added) for r in res] == [("2025-12-29", 1), ("2024-03-09", 0)]
    with Store(store_path, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM loads WHERE kind = 'sync:prices'") >= 3
        assert s.scalar("SELECT count(*) FROM event_log WHERE message LIKE '%coinbase:BTC-USD%'") == 2


def test_src_price_sync_rejects_bad_bars_and_writes_nothing(store_path, recorded, make_client):
    now = datetime(2025, 12, 30, 1, tzinfo=UTC)
    bad = recorded("coinbase_candles_BTC-USD.json")
    bad[0][1] = bad[0][4] * 2  # low above close
    with pytest.raises(IngestError, match="low"):
        _sync(store_path, ["BTC-USD"], now, recorded, make_client, candles=bad)
    with pytest.raises(MalformedResponseError, match="candle 0"):
        _sync(store_path, ["BTC-USD"], now, recorded, make_client, candles=[["x", 1, 2, 3, 4, 5]])
    assert rows(store_path) == []


def test_src_last_complete_day_by_calendar():
    now = datetime(2026, 1, 6, 3, 0, tzinfo=UTC)  # 22:00 on Jan 5 in New York
    assert last_complete_day("BTC-USD", now) == date(2026, 1, 5)
    assert last_complete_day("MARA", now) == date(2026, 1, 4)


@pytest.mark.remote
def test_src_remote_coinbase_and_yahoo_shapes(make_client):
    """Hits the real APIs (skipped by default): the recorded shapes still hold."""
    d0, d1 = date(2024, 3, 4), date(2024, 3, 8)
    cb = CoinbaseCandlesSource(make_client(COINBASE_URL)).daily("BTC-USD", d0, d1)
    assert len(cb) == 5 and (cb.close > 1000).all()
    y = YahooChartSource(make_client(YAHOO_URL)).daily("MARA", d0, d1)
    assert len(y) == 5


def test_src_cli_price_sync_table(store_path, recorded):
    from typer.testing import CliRunner

    from hashdesk.cli import app

    with respx.mock(assert_all_called=False) as r:
        route = r.get(url__startswith=f"{COINBASE_URL}/products/BTC-USD/candles").mock(
            return_value=httpx.Response(200, json=recorded("coinbase_candles_BTC-USD.json")))
        res = CliRunner().invoke(app, ["--db", str(store_path), "sync", "--chain", "none", "--prices",
                                       "--tickers", "BTC-USD"])
    assert res.exit_code == 0, res.output
    assert "price sync" in res.output and "coinbase" in res.output
    assert route.call_count >= 2  # from 2020-01-01 in pages of 300 days
    assert len(rows(store_path)) == 5


@pytest.mark.parametrize("close, match", [
    (float("inf"), "price must be finite, > 0 and < 1e\\+07 USD, got inf"),
    (float("nan"), "got nan"),
    (1e300, "got 1e\\+300"),
    (2e7, "got 20000000.0"),
])
def test_src_price_sync_refuses_non_finite_and_absurd_prices(close, match, store_path, recorded,
                                                             make_client):
    candles = recorded("coinbase_candles_BTC-USD.json")
    candles[1][4] = close  # JSON Infinity / NaN literals and huge numbers reach the parser
    with pytest.raises(IngestError, match=match) as exc:
        _sync(store_path, ["BTC-USD"], datetime(2025, 12, 30, 1, tzinfo=UTC), recorded, make_client,
              candles=candles)
    assert exc.value.field == "close"
    assert rows(store_path) == []


def test_src_price_sync_refuses_an_absurd_equity_volume(store_path, recorded, make_client):
    from hashdesk.store.pricesync import validate_prices

    df = parse_yahoo_chart(recorded("yahoo_chart_MARA.json"), "MARA", date(2024, 1, 1),
                           date(2024, 12, 31), "fixture")
    df["volume"] = df["volume"].astype(float)
    df.loc[1, "volume"] = 1e30
    with pytest.raises(IngestError, match=r"yahoo_chart:MARA, row 2, field 'volume'.*got 1e\+30"):
        validate_prices(df, "yahoo_chart:MARA", "MARA")
    df.loc[1, "volume"] = 5.0
    df.loc[2, "close"] = 2e6  # a share above 1 million USD
    with pytest.raises(IngestError, match=r"row 3, field 'close'.*< 1e\+06 USD"):
        validate_prices(df, "yahoo_chart:MARA", "MARA")
