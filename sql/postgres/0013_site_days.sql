-- Footfall schema v13 (PostgreSQL): each site's calls per day. Never edit once released.

-- The sum of daily_counts over a site's pages, per day, so that the site's
-- history and the dashboard's period figures read one row per day instead
-- of one per page and day. Every writer of daily_counts keeps it in the
-- same transaction, explicitly (src/store/postgres/site_days.rs): a batch
-- adds what it counted in one grouped statement, the owner's rare changes
-- (removing, sweeping pages, imports, rebuild-daily) add or take what they
-- moved. No triggers: on the batch path they cost a quarter more
-- PostgreSQL CPU per new visitor. A row may fall to 0 (its pages removed);
-- reads skip those.
CREATE TABLE site_days (
    site_id bigint NOT NULL,
    day     date   NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (site_id, day)
);

INSERT INTO site_days (site_id, day, count)
    SELECT p.site_id, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2;

-- Adds one in every owner change that moves or removes per-day counts
-- (removing, merging, sweeping pages, imports, rebuild-daily): with the
-- site's calls on some days (site_days), it tells a reader whether the
-- per-page counts of those days can have changed since it last read them.
ALTER TABLE sites ADD COLUMN days_changed bigint NOT NULL DEFAULT 0;
