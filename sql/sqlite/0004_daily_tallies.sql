-- Footfall schema v4 (SQLite): honest counts. Never edit once released.

-- Per page and calendar day (in the site's zone when counted; day 0 is
-- 1970-01-01), the views that are not visitors: proxied views (GitHub's
-- Camo, mail image proxies), counted at most once per page per
-- proxied_min_interval_seconds, and hits filtered out, by reason.
-- Aggregates only: no row per request, nothing about any client. Written in
-- the same transaction as a batch of calls; path_id always names a paths
-- row, like daily_counts. There are no raw rows behind these counts, so
-- `rebuild-daily` leaves them in the days they were counted in.
CREATE TABLE daily_tallies (
    path_id       INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    proxied       INTEGER NOT NULL DEFAULT 0,
    bot           INTEGER NOT NULL DEFAULT 0,
    prefetch      INTEGER NOT NULL DEFAULT 0,
    ignored       INTEGER NOT NULL DEFAULT 0,
    foreign_embed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (path_id, day)
) STRICT, WITHOUT ROWID;
