SET lock_timeout = '5s';
REFRESH MATERIALIZED VIEW daily_totals;
