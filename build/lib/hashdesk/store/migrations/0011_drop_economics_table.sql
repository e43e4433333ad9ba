-- Issue 11: the daily network series is computed as of each question's time from its inputs
-- (hashdesk.economics.hashprice.network_economics_daily through the read layer), so a stored copy
-- built from all rows would answer with look-ahead. The table goes.
DROP TABLE IF EXISTS network_economics_daily;
