-- hashdesk schema v1: planned for the whole product. Times are UTC; epoch seconds unless DATE.
-- Consensus values: bits as BIGINT (uint32), targets/chainwork as hex VARCHAR (exact), sats BIGINT.

CREATE TABLE loads (
    load_id      BIGINT PRIMARY KEY,
    kind         VARCHAR NOT NULL,          -- 'bundle', 'sync:esplora', 'sync:bitcoind', 'sync:prices', ...
    source       VARCHAR NOT NULL,          -- dataset name, e.g. 'btc_block_times.csv'
    path         VARCHAR,                   -- file path or URL (no credentials)
    sha256       VARCHAR,                   -- checksum of the file / response
    rows_read    BIGINT NOT NULL,
    rows_added   BIGINT NOT NULL,
    loaded_at    BIGINT NOT NULL            -- unix s
);

-- Per-block data. Sources fill what they have; a row may lack hash (timestamps-only files).
CREATE TABLE blocks (
    height       INTEGER PRIMARY KEY,
    hash         VARCHAR,                   -- display hex
    prev_hash    VARCHAR,
    merkle_root  VARCHAR,
    version      BIGINT,
    time         BIGINT NOT NULL,           -- header time, unix s (NOT monotonic)
    bits         BIGINT,                    -- compact target (uint32)
    nonce        BIGINT,
    chainwork_hex VARCHAR,                  -- cumulative work (exact), when known
    fees_sats    BIGINT,                    -- total fees excl. subsidy, when known
    tx_count     INTEGER,
    header_hex   VARCHAR,                   -- raw 80 bytes, when known
    source       VARCHAR NOT NULL,
    load_id      BIGINT
);

-- One row per difficulty epoch (2016 blocks).
CREATE TABLE epochs (
    epoch              INTEGER PRIMARY KEY,
    first_height       INTEGER NOT NULL,
    last_height        INTEGER NOT NULL,
    bits               BIGINT NOT NULL,     -- compact target in force for the epoch
    target_hex         VARCHAR NOT NULL,    -- 64-hex exact target
    difficulty         DOUBLE NOT NULL,     -- as getdifficulty reports (derived from bits)
    start_time         BIGINT,              -- header time of first_height, unix s, when known
    last_block_hash    VARCHAR,             -- hash of last_height (Electrum), when known
    source             VARCHAR NOT NULL,
    load_id            BIGINT
);

-- mempool.space difficulty adjustments (only epochs where difficulty changed).
CREATE TABLE difficulty_adjustments (
    height           INTEGER PRIMARY KEY,
    time             BIGINT NOT NULL,
    difficulty       DOUBLE NOT NULL,
    adjustment_ratio DOUBLE,
    source           VARCHAR NOT NULL,
    load_id          BIGINT
);

-- Daily network series (Coin Metrics community fields; sync may add more sources).
CREATE TABLE network_daily (
    date             DATE NOT NULL,
    source           VARCHAR NOT NULL,
    blk_cnt          INTEGER,
    fee_tot_btc      DOUBLE,
    iss_tot_btc      DOUBLE,
    price_usd        DOUBLE,                -- Coin Metrics: 00:00 UTC next-day fixing
    hashrate_ehs     DOUBLE,                -- converted from TH/s
    tx_cnt           BIGINT,
    sply_cur_btc     DOUBLE,
    load_id          BIGINT,
    PRIMARY KEY (date, source)
);

-- Daily hashrate estimates by provider (mempool.space avg hashrate, ...).
CREATE TABLE hashrate_daily (
    date             DATE NOT NULL,
    source           VARCHAR NOT NULL,
    hashrate_ehs     DOUBLE NOT NULL,
    load_id          BIGINT,
    PRIMARY KEY (date, source)
);

-- Daily prices by ticker and source. BTC is ticker 'BTC-USD'.
CREATE TABLE prices_daily (
    ticker           VARCHAR NOT NULL,
    date             DATE NOT NULL,         -- trading date (New York for equities, UTC for BTC)
    source           VARCHAR NOT NULL,      -- 'alpaca_iex', 'yfinance', 'blockchaincom_mkpru', 'coinmetrics', ...
    open             DOUBLE,
    high             DOUBLE,
    low              DOUBLE,
    close            DOUBLE NOT NULL,
    adj_close        DOUBLE,
    volume           DOUBLE,
    volume_kind      VARCHAR,               -- 'consolidated', 'iex_only', NULL when unknown
    load_id          BIGINT,
    PRIMARY KEY (ticker, date, source)
);

-- Which entity a ticker's history belongs to (SPAC / pre-merger periods).
CREATE TABLE ticker_history (
    ticker           VARCHAR NOT NULL,
    valid_from       DATE,
    valid_to         DATE,                  -- inclusive; NULL = open
    entity           VARCHAR NOT NULL,
    is_operating_miner BOOLEAN NOT NULL,    -- false for SPAC / pre-merger shells
    note             VARCHAR,
    PRIMARY KEY (ticker, entity)
);

-- Miners' reported monthly production (one row per ticker, month, source_url, hashrate_kind).
CREATE TABLE miner_production (
    ticker             VARCHAR NOT NULL,
    month              VARCHAR NOT NULL,    -- 'YYYY-MM' calendar month
    btc_mined          DOUBLE,
    hashrate_ehs       DOUBLE,
    hashrate_kind      VARCHAR NOT NULL,    -- energized|deployed|operational|average_operating|installed|unknown|''
    btc_held           DOUBLE,
    demand_response_usd DOUBLE,
    source_url         VARCHAR NOT NULL,
    source_rank        INTEGER NOT NULL,    -- 1 company-primary, 2 later-release column, 3 secondary
    is_conflict        BOOLEAN NOT NULL,
    note               VARCHAR,
    load_id            BIGINT,
    PRIMARY KEY (ticker, month, source_url, hashrate_kind)
);

-- ASIC catalogue (bundle tables plus user additions).
CREATE TABLE asic_models (
    model                VARCHAR PRIMARY KEY,
    manufacturer         VARCHAR,
    hashrate_th          DOUBLE NOT NULL,
    power_w              DOUBLE NOT NULL,
    efficiency_j_per_th  DOUBLE NOT NULL,
    released             VARCHAR,           -- 'YYYY-MM' when known
    source               VARCHAR NOT NULL,
    load_id              BIGINT
);

-- Public AI/HPC hosting deals (reference ranges).
CREATE TABLE hpc_deals (
    operator                 VARCHAR NOT NULL,
    tenant                   VARCHAR NOT NULL,
    total_contract_usd       DOUBLE,
    term_years               DOUBLE,
    critical_it_mw           DOUBLE,
    annual_revenue_usd       DOUBLE,
    implied_usd_per_kw_month DOUBLE,
    capex_usd_per_mw_low     DOUBLE,
    capex_usd_per_mw_high    DOUBLE,
    noi_margin               DOUBLE,
    source_url               VARCHAR NOT NULL,
    note                     VARCHAR,
    load_id                  BIGINT,
    PRIMARY KEY (operator, tenant)
);

-- Operational log (sync events, reorgs, rollbacks).
CREATE TABLE event_log (
    at_unix    BIGINT NOT NULL,               -- unix s
    kind       VARCHAR NOT NULL,              -- 'sync', 'reorg', 'rollback', ...
    message    VARCHAR NOT NULL
);
