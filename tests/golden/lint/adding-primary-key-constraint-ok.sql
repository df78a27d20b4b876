SET lock_timeout = '5s';
-- events_id_idx was built by CREATE UNIQUE INDEX CONCURRENTLY before
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_id_idx;
