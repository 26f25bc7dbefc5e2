-- Footfall schema v10 (SQLite): dimensions. Never edit once released.

-- Per page, dimension (0 browser, 1 os, 2 device, 3 country, 4 referrer),
-- calendar day (in the site's zone when counted; day 0 is
-- 1970-01-01) and value ('Firefox',
-- 'DE', 'news.ycombinator.com', ...), how many counted visitors had it.
-- Aggregates only: no row per visitor or request, no address, no user
-- agent. Written in the same transaction as the batch of calls they belong
-- to; a (page, dimension, day) holds at most max_dimension_values values
-- besides 'Other', which takes the rest. path_id always names a paths row,
-- like daily_counts (no foreign key, for the same reason).
CREATE TABLE daily_dimensions (
    path_id   INTEGER  NOT NULL,
    dimension INTEGER  NOT NULL,
    day       INTEGER  NOT NULL,
    value     TEXT     NOT NULL,
    count     INTEGER  NOT NULL,
    PRIMARY KEY (path_id, dimension, day, value)
) STRICT, WITHOUT ROWID;
-- Site-wide ranges of one dimension filter by dimension and day.
CREATE INDEX daily_dimensions_dimension_day ON daily_dimensions (dimension, day, path_id);
