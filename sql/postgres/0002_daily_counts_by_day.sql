-- Ranges over all pages (the dashboard's "last 7 days", /api/counts?days=N)
-- filter daily_counts by day alone; the primary key leads with path_id, so
-- without this index every such query scans the whole table. The count is
-- not included: an indexed count would turn every per-day increment into a
-- non-HOT update of both indexes.
CREATE INDEX daily_counts_day_path_id ON daily_counts (day, path_id);
