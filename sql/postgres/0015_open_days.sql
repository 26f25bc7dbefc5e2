-- Footfall schema v15 (PostgreSQL): each page's open day in its own row. Never edit once released.

-- A counted call wrote three rows: the page's total (paths), its call
-- history and its per-day count (daily_counts). The page's latest day now
-- counts in its paths row (open_day, open_count), next to the total the
-- same update writes, so a hit on a page's current day writes two rows. A
-- batch that reaches a later day moves the day it closes into
-- daily_counts (rolled_day, rolled_count: what that update moved out,
-- read in its RETURNING and meaningless after it). Days up to
-- closed_through are in daily_counts only: hits of those days go there.
-- A page with no open day has open_day '-infinity' and open_count 0.
-- Readers see both through the view day_counts; daily_counts never holds
-- a page's open day (src/store/postgres/open_days.rs says how every
-- writer keeps that).
ALTER TABLE paths
    ADD COLUMN open_day       date   NOT NULL DEFAULT '-infinity',
    ADD COLUMN open_count     bigint NOT NULL DEFAULT 0,
    ADD COLUMN closed_through date   NOT NULL DEFAULT '-infinity',
    ADD COLUMN rolled_day     date,
    ADD COLUMN rolled_count   bigint;

-- A period's open days (the dashboard's reads). A batch changes open_day
-- once a day per page, so its other updates of the row stay HOT.
CREATE INDEX paths_open_day ON paths (open_day);

-- Every per-page per-day count: the closed days and each page's open day.
CREATE VIEW day_counts (path_id, day, count) AS
    SELECT path_id, day, count FROM daily_counts
    UNION ALL
    SELECT id, open_day, open_count FROM paths WHERE open_count > 0;

-- Existing pages have every day in daily_counts: hits of their latest day
-- still go there, the next day opens in the row.
UPDATE paths SET closed_through = d.day
    FROM (SELECT path_id, max(day) AS day FROM daily_counts GROUP BY path_id) AS d
    WHERE paths.id = d.path_id;
