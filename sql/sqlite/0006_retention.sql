-- Footfall schema v6 (SQLite): retention of raw calls. Never edit once released.

-- With `retention.calls_days`, raw calls older than that are deleted (per-day
-- counts and totals are kept). This one row says before when calls may be
-- missing, so history can say so and rebuild-daily can refuse to recompute
-- days from calls that are gone. Microseconds since the Unix epoch.
CREATE TABLE calls_pruned (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    before INTEGER NOT NULL
) STRICT;
