-- Footfall schema v7 (PostgreSQL): retention of raw calls. Never edit once released.

-- With `retention.calls_days`, raw calls older than that are deleted (per-day
-- counts and totals are kept). This one row says before when calls may be
-- missing, so history can say so and rebuild-daily can refuse to recompute
-- days from calls that are gone.
CREATE TABLE calls_pruned (
    id     int PRIMARY KEY CHECK (id = 1),
    before timestamptz NOT NULL
);
