-- Footfall schema v5 (PostgreSQL): honest counts. Never edit once released.

-- Per page and calendar day (in the site's zone when counted), the views
-- that are not visitors: proxied views (GitHub's Camo, mail image proxies),
-- counted at most once per page per proxied_min_interval_seconds, and hits
-- filtered out, by reason. Aggregates only: no row per request, nothing
-- about any client. Written in the same transaction as a batch of calls;
-- path_id always names a paths row, like daily_counts (no foreign key, for
-- the same reason). There are no raw rows behind these counts, so
-- `rebuild-daily` leaves them in the days they were counted in.
CREATE TABLE daily_tallies (
    path_id       bigint NOT NULL,
    day           date   NOT NULL,
    proxied       bigint NOT NULL DEFAULT 0,
    bot           bigint NOT NULL DEFAULT 0,
    prefetch      bigint NOT NULL DEFAULT 0,
    ignored       bigint NOT NULL DEFAULT 0,
    foreign_embed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (path_id, day)
);
-- Ranges over all pages of a site (GET /api/filtered) filter by day alone,
-- as for daily_counts.
CREATE INDEX daily_tallies_day_path_id ON daily_tallies (day, path_id);
