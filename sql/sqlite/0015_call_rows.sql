-- Footfall schema v15 (SQLite): call_rows, every stored call-history row. Never edit once released.

-- PostgreSQL keeps each page's newest history row in its paths row and
-- shows it with the others in the view call_rows; SQLite keeps every row
-- in call_times. The same view here lets one query read either store.
CREATE VIEW call_rows (path_id, slot, part, calls, times) AS
    SELECT path_id, slot, part, calls, times FROM call_times;
