"""Regenerate the recorded responses in this folder from the reference bundle (run by hand).

Header fields (version, prev hash, merkle root, time, bits, nonce, hash) are the REAL mainnet
values of block 820,512 from btc_retarget_headers_bitcoinj.csv; MARA bars are the bundle's Yahoo
rows; BTC closes are Coin Metrics' price_usd. Fields the bundle does not hold (tx_count, size,
weight, fees, candle open/high/low/volume) are illustrative values in the documented shapes.
"""

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared" / "data"

hdr = next(r for r in csv.DictReader(open(DATA / "btc_retarget_headers_bitcoinj.csv"))
           if r["height"] == "820512")
block = {
    "id": hdr["block_hash"], "height": 820512, "version": int(hdr["version"]),
    "timestamp": int(hdr["time"]), "tx_count": 3218, "size": 1588823, "weight": 3993332,
    "merkle_root": hdr["merkle_root"], "previousblockhash": hdr["prev_hash"],
    "mediantime": 1702177960, "nonce": int(hdr["nonce"]), "bits": int(hdr["bits_hex"], 16),
    "difficulty": float(hdr["difficulty"]),
}
(HERE / "esplora_blocks_820512.json").write_text(json.dumps([block], indent=1))
mempool = dict(block, extras={"totalFees": 54_123_456, "reward": 679_123_456, "medianFee": 60,
                              "feeRange": [30, 40, 60, 120, 500], "avgFeeRate": 95})
(HERE / "mempool_v1_blocks_820512.json").write_text(json.dumps([mempool], indent=1))
(HERE / "bitcoind_header_820512.json").write_text(json.dumps(
    {"hash": hdr["block_hash"], "header_hex": hdr["header_hex"],
     "getblockstats": {"totalfee": 54_123_456, "txs": 3218, "height": 820512}}, indent=1))

rows = [r for r in csv.DictReader(open(DATA / "stocks/yfinance_dieperdev/MARA.csv"))][-3:]
ts = [int(datetime.fromisoformat(r["Date"] + "T14:30:00+00:00").timestamp()) for r in rows]
q = {k: [float(r[c]) for r in rows] for k, c in
     (("open", "Open"), ("high", "High"), ("low", "Low"), ("close", "Close"))}
q["volume"] = [int(r["Volume"]) for r in rows]
# a halted session is reported with nulls: append one at the next weekday
ts.append(ts[-1] + 3 * 86_400)
for k in q:
    q[k].append(None)
adj = [float(r["Adj Close"]) for r in rows] + [None]
chart = {"chart": {"result": [{
    "meta": {"currency": "USD", "symbol": "MARA", "exchangeName": "NCM", "instrumentType": "EQUITY",
             "gmtoffset": -18000, "timezone": "EST", "exchangeTimezoneName": "America/New_York",
             "dataGranularity": "1d"},
    "timestamp": ts, "indicators": {"quote": [q], "adjclose": [{"adjclose": adj}]}}], "error": None}}
(HERE / "yahoo_chart_MARA.json").write_text(json.dumps(chart, indent=1))

cm = [r for r in csv.DictReader(open(DATA / "btc_network_daily_coinmetrics.csv"))][-5:]
candles = []
for r in reversed(cm):  # newest first, as Coinbase sends them
    t = int(datetime.fromisoformat(r["date"]).replace(tzinfo=UTC).timestamp())
    c = round(float(r["price_usd"]), 2)
    candles.append([t, round(c * 0.98, 2), round(c * 1.015, 2), round(c * 0.995, 2), c, 8123.4567])
(HERE / "coinbase_candles_BTC-USD.json").write_text(json.dumps(candles, indent=1))
