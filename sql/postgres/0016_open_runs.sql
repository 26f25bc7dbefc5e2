-- Footfall schema v16 (PostgreSQL): each page's open run of call times in its own row. Never edit once released.

-- A counted call still wrote two rows: its page's row (total, open day)
-- and its call history (an upsert into call_times, a third to half of a
-- new visitor's PostgreSQL time). The page's newest history row now lives
-- in its paths row (open_slot, open_calls, open_times: a call_times row of
-- slot open_slot without a part number), which the batch's update writes
-- anyway. When a batch's calls no longer fit it (another slot, or past
-- call_times' row size) the update moves it out: rolled_slot,
-- rolled_calls and rolled_times hold what it moved, read in its RETURNING
-- and written to call_times by the same statement; meaningless after it.
-- A page with no open run has open_calls 0. Readers see both through the
-- view call_rows, where an open run is its slot's last part (the largest
-- int); src/store/postgres/open_runs.rs says how every writer keeps them.
-- open_times is the row's last column: a batch puts its calls in front of
-- it, so an update's WAL record leaves the old times out (an unchanged tail).
ALTER TABLE paths
    ADD COLUMN rolled_slot  bigint,
    ADD COLUMN rolled_calls int,
    ADD COLUMN rolled_times bytea,
    ADD COLUMN open_slot    bigint NOT NULL DEFAULT 0,
    ADD COLUMN open_calls   int    NOT NULL DEFAULT 0,
    ADD COLUMN open_times   bytea  NOT NULL DEFAULT '';

-- Every stored call time: call_times and each page's open run.
CREATE VIEW call_rows (path_id, slot, part, calls, times) AS
    SELECT path_id, slot, part, calls, times FROM call_times
    UNION ALL
    SELECT id, open_slot, 2147483647, open_calls, open_times FROM paths WHERE open_calls > 0;
