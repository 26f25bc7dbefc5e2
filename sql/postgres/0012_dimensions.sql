-- Footfall schema v12 (PostgreSQL): dimensions. Never edit once released.

-- Per page, kind of row, calendar day (in the site's zone when counted) and
-- value, how many counted visitors had it. Kinds: 0 agent, its value the
-- browser, OS and device families together ('Firefox|Linux|desktop', a
-- closed set of combinations), so a counted visitor adds to at most three
-- rows; 1 country ('DE'); 2 referrer host ('news.ycombinator.com').
-- Aggregates only: no row per visitor or request, no address, no user
-- agent. Summed in memory for about a second and written with a batch of
-- calls; a (page, kind, day) of countries or referrers holds at most
-- max_dimension_values values besides 'Other', which takes the rest.
-- path_id always names a paths row, like daily_counts (no foreign key, for
-- the same reason). The primary key serves every read (one page, or a
-- site's pages one by one); no second index, so a new row costs one index
-- entry, and room left in each page lets most count updates stay on it.
CREATE TABLE daily_dimensions (
    path_id   bigint   NOT NULL,
    dimension smallint NOT NULL,
    day       date     NOT NULL,
    value     text     NOT NULL,
    count     bigint   NOT NULL,
    PRIMARY KEY (path_id, dimension, day, value)
) WITH (fillfactor = 80);
