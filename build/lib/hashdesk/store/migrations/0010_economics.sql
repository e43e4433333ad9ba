-- Issue 3 (miner economics): the daily network economics table, rebuilt from network_daily and
-- epochs by hashdesk.economics.tables.rebuild_network_economics. Units are in the column names.
-- NULL means the input was missing that day; `missing` names the input(s) (comma-separated).

CREATE TABLE network_economics_daily (
    date                      DATE PRIMARY KEY,
    source                    VARCHAR NOT NULL,   -- network_daily source, e.g. 'coinmetrics'
    blocks                    INTEGER,
    subsidy_btc_per_block     DOUBLE,             -- iss_tot_btc / blk_cnt (realised)
    fees_btc_total            DOUBLE,
    fees_btc_per_block        DOUBLE,
    revenue_btc_per_block     DOUBLE,             -- subsidy + fees per block
    price_usd                 DOUBLE,             -- USD/BTC, Coin Metrics 00:00 UTC next-day fixing
    epoch_first               INTEGER,            -- epoch of the day's first block
    epoch_last                INTEGER,            -- epoch of the day's last block
    blocks_epoch_first        INTEGER,            -- blocks of the day mined in epoch_first
    bits_last                 BIGINT,             -- compact target in force at the day's end
    difficulty                DOUBLE,             -- block-weighted mean difficulty
    difficulty_last           DOUBLE,             -- difficulty of epoch_last
    work_per_block            DOUBLE,             -- block-weighted mean exact work [hashes]
    height_last               INTEGER,            -- height of the day's last block (Coin Metrics attribution)
    hashrate_ehs              DOUBLE,             -- Coin Metrics HashRate [EH/s]
    hashrate_mempool_ehs      DOUBLE,             -- mempool.space estimate [EH/s]
    hashprice_btc_per_ph_day  DOUBLE,
    hashprice_usd_per_ph_day  DOUBLE,
    hashprice_btc_per_th_day  DOUBLE,
    hashprice_usd_per_th_day  DOUBLE,
    missing                   VARCHAR NOT NULL,   -- '' when complete
    built_at                  BIGINT NOT NULL     -- unix s
);
