-- Footfall schema v14 (SQLite): day_counts, every per-page per-day count. Never edit once released.

-- PostgreSQL keeps each page's open day in its paths row and shows it with
-- the closed days in the view day_counts; SQLite keeps every day in
-- daily_counts. The same view here lets one query read either store.
CREATE VIEW day_counts (path_id, day, count) AS SELECT path_id, day, count FROM daily_counts;
