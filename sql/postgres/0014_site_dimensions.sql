-- Footfall schema v14 (PostgreSQL): each site's dimension counts per day. Never edit once released.

-- The sum of daily_dimensions over a site's pages, per kind of row, day and
-- value, so that the site's browsers, countries and referrers read a few
-- rows per day instead of one per page, day and value. Every writer of
-- daily_dimensions keeps it in the same transaction, explicitly
-- (src/store/postgres/site_dimensions.rs): a batch adds the values as it
-- placed them on the pages; removing a page takes its rows away; sweeping
-- a removed page's late rows into another adds them; merging pages of a
-- site leaves it alone. A new country or referrer gets a page row only
-- while its site's day also has room (at most 10 x max_dimension_values
-- values besides 'Other'), so the rows here are exactly the sums of the
-- pages' rows. Rows that fall to 0 are deleted. No triggers (see
-- site_days).
CREATE TABLE site_dimensions (
    site_id   bigint   NOT NULL,
    dimension smallint NOT NULL,
    day       date     NOT NULL,
    value     text     NOT NULL,
    count     bigint   NOT NULL,
    PRIMARY KEY (site_id, dimension, day, value)
) WITH (fillfactor = 80);

-- Exact sums of what is there (a day may hold more values than the site's
-- bound: nothing counted is folded away). Rows of pages without a `paths`
-- row (late rows, until swept) belong to no site, as in site_days.
INSERT INTO site_dimensions (site_id, dimension, day, value, count)
    SELECT p.site_id, d.dimension, d.day, d.value, sum(d.count)
    FROM daily_dimensions d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2, 3, 4;
