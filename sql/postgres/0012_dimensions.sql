-- Footfall schema v12 (PostgreSQL): dimensions. Never edit once released.

-- Per page, dimension (0 browser, 1 os, 2 device, 3 country, 4 referrer),
-- calendar day (in the site's zone when counted) and value ('Firefox',
-- 'DE', 'news.ycombinator.com', ...), how many counted visitors had it.
-- Aggregates only: no row per visitor or request, no address, no user
-- agent. Written in the same transaction as the batch of calls they belong
-- to; a (page, dimension, day) holds at most max_dimension_values values
-- besides 'Other', which takes the rest. path_id always names a paths row,
-- like daily_counts (no foreign key, for the same reason).
CREATE TABLE daily_dimensions (
    path_id   bigint   NOT NULL,
    dimension smallint NOT NULL,
    day       date     NOT NULL,
    value     text     NOT NULL,
    count     bigint   NOT NULL,
    PRIMARY KEY (path_id, dimension, day, value)
);
-- Site-wide ranges of one dimension filter by dimension and day.
CREATE INDEX daily_dimensions_dimension_day ON daily_dimensions (dimension, day, path_id);
