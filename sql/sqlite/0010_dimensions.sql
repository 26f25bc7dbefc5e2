-- Footfall schema v10 (SQLite): dimensions. Never edit once released.

-- Per page, kind of row, calendar day (in the site's zone when counted;
-- day 0 is 1970-01-01) and value, how many counted visitors had it. Kinds:
-- 0 agent, its value the browser, OS and device families together
-- ('Firefox|Linux|desktop', a closed set of combinations), so a counted
-- visitor adds to at most three rows; 1 country ('DE'); 2 referrer host
-- ('news.ycombinator.com'). Aggregates only: no row per visitor or
-- request, no address, no user agent. Summed in memory for about a second
-- and written with a batch of calls; a (page, kind, day) of countries or
-- referrers holds at most max_dimension_values values besides 'Other',
-- which takes the rest. path_id always names a paths row, like
-- daily_counts (no foreign key, for the same reason). The primary key
-- serves every read (one page, or a site's pages one by one).
CREATE TABLE daily_dimensions (
    path_id   INTEGER  NOT NULL,
    dimension INTEGER  NOT NULL,
    day       INTEGER  NOT NULL,
    value     TEXT     NOT NULL,
    count     INTEGER  NOT NULL,
    PRIMARY KEY (path_id, dimension, day, value)
) STRICT, WITHOUT ROWID;
