-- Footfall schema v11 (SQLite): each site's calls per day, and per-day counts
-- by day. Never edit once released.

-- The sum of daily_counts over a site's pages, per day, so that the site's
-- history and the dashboard's period figures read one row per day instead
-- of one per page and day. Every writer of daily_counts keeps it in the
-- same transaction, explicitly (src/store/sqlite/site_days.rs), as on
-- PostgreSQL; no triggers. A row may fall to 0 (its pages removed); reads
-- skip those.
CREATE TABLE site_days (
    site_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (site_id, day)
) STRICT, WITHOUT ROWID;

INSERT INTO site_days (site_id, day, count)
    SELECT p.site_id, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2;

-- The dashboard's page list sums every page's per-day counts over a period
-- (a week by default): by day, these are one contiguous range of this
-- index, which holds the count too, so the table is not read. Without it,
-- the primary key (path_id, day) takes a seek per page of the site.
-- PostgreSQL has had its (day, path_id) index since v2.
CREATE INDEX daily_counts_day_path_id ON daily_counts (day, path_id, count);

-- Adds one in every owner change that moves or removes per-day counts
-- (removing, merging, sweeping pages, imports, rebuild-daily): with the
-- site's calls on some days (site_days), it tells a reader whether the
-- per-page counts of those days can have changed since it last read them.
ALTER TABLE sites ADD COLUMN days_changed INTEGER NOT NULL DEFAULT 0;
