-- Issue 12 (coverage universe): dated, sourced company facts, loaded from the package's
-- src/hashdesk/facts/*.csv (and users' files in the same format) by hashdesk.store.facts.
-- Units are in the column names. Every row carries the date it became public (public_date:
-- filing or press-release date, not the period end) and its source address.
--
-- Versioning: the load key of every table is its natural key plus row_sha256 (a digest of
-- the row's CSV values). Re-loading the same row adds nothing; a corrected or overriding row
-- (same natural key, other values) is added as a new version. Readers take, per natural key,
-- the row with the highest load_id among rows with public_date <= the as-of date.
--   companies             natural key (ticker)
--   company_capital       natural key (ticker, as_of, source_url)
--   company_fleet         natural key (ticker, as_of, source_url)
--   company_sites         natural key (ticker, site_id, as_of, source_url)
--   company_hpc_contracts natural key (ticker, contract_id)
-- origin is 'shipped' for the package's files, else the path of the user's file.

CREATE TABLE companies (
    ticker                 VARCHAR NOT NULL,
    name                   VARCHAR NOT NULL,
    exchange               VARCHAR,
    fiscal_year_end        VARCHAR,            -- 'MM-DD'
    pool_fee               DOUBLE,             -- fraction of revenue, NULL if not public
    pool_payout            VARCHAR,            -- fpps|pps|own, NULL if not public
    public_date            DATE NOT NULL,
    source_url             VARCHAR NOT NULL,
    note                   VARCHAR,
    origin                 VARCHAR NOT NULL,
    row_sha256             VARCHAR NOT NULL,
    load_id                BIGINT
);

CREATE TABLE company_capital (
    ticker                 VARCHAR NOT NULL,
    as_of                  DATE NOT NULL,      -- period end / date the figure refers to
    shares_outstanding     BIGINT,             -- common shares [count]
    cash_usd               DOUBLE,             -- cash and equivalents [USD]
    debt_usd               DOUBLE,             -- total debt incl. convertibles [USD]; principal
                                               -- where stated, else carrying (see note)
    btc_held               DOUBLE,             -- [BTC]
    public_date            DATE NOT NULL,
    source_url             VARCHAR NOT NULL,
    note                   VARCHAR,
    origin                 VARCHAR NOT NULL,
    row_sha256             VARCHAR NOT NULL,
    load_id                BIGINT
);

CREATE TABLE company_fleet (
    ticker                 VARCHAR NOT NULL,
    as_of                  DATE NOT NULL,
    deployed_ehs           DOUBLE,             -- deployed / energized self-mining capacity [EH/s]
    operating_ehs          DOUBLE,             -- average operating (realised) hashrate [EH/s]
    efficiency_j_per_th    DOUBLE,             -- fleet efficiency [J/TH]
    public_date            DATE NOT NULL,
    source_url             VARCHAR NOT NULL,
    note                   VARCHAR,
    origin                 VARCHAR NOT NULL,
    row_sha256             VARCHAR NOT NULL,
    load_id                BIGINT
);

CREATE TABLE company_sites (
    ticker                 VARCHAR NOT NULL,
    site_id                VARCHAR NOT NULL,   -- slug, unique per ticker
    name                   VARCHAR NOT NULL,
    city                   VARCHAR,
    state                  VARCHAR,
    country                VARCHAR,
    gross_mw               DOUBLE,             -- gross (utility) capacity [MW]
    critical_it_mw         DOUBLE,             -- critical IT capacity [MW]
    energized_mw           DOUBLE,             -- energized capacity [MW]
    power_price_usd_per_kwh DOUBLE,            -- [USD/kWh]
    contract_type          VARCHAR NOT NULL,   -- fixed|indexed|ppa|owned|hosting|unknown
    curtailment_programme  VARCHAR,            -- e.g. 'ERCOT ERS', NULL if none known
    use                    VARCHAR NOT NULL,   -- mining|hpc|mixed
    as_of                  DATE NOT NULL,
    public_date            DATE NOT NULL,
    source_url             VARCHAR NOT NULL,
    note                   VARCHAR,
    origin                 VARCHAR NOT NULL,
    row_sha256             VARCHAR NOT NULL,
    load_id                BIGINT
);

CREATE TABLE company_hpc_contracts (
    ticker                 VARCHAR NOT NULL,   -- the operator (landlord)
    contract_id            VARCHAR NOT NULL,   -- slug, unique per ticker
    tenant                 VARCHAR NOT NULL,
    site_id                VARCHAR,
    critical_it_mw         DOUBLE,             -- [MW]
    total_value_usd        DOUBLE,             -- contracted revenue over the initial term [USD]
    term_years             DOUBLE,             -- initial term [years]
    start_date             DATE,
    announced              DATE NOT NULL,      -- date the deal became public
    public_date            DATE NOT NULL,      -- = announced
    tenant_funds_capex     VARCHAR NOT NULL,   -- yes|no|partial|unknown
    tenant_capex_usd_per_mw DOUBLE,            -- tenant-funded capex [USD/MW]
    renewal_options        VARCHAR,            -- e.g. '2x5y' (count x years)
    phases                 VARCHAR,            -- 'YYYY-MM:MW;...' cumulative critical-IT MW in service
    source_url             VARCHAR NOT NULL,
    note                   VARCHAR,
    origin                 VARCHAR NOT NULL,
    row_sha256             VARCHAR NOT NULL,
    load_id                BIGINT
);
