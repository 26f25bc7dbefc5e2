-- Footfall schema v5 (SQLite): owner controls over pages. Never edit once released.

-- Pages can now be removed and merged away. SQLite gives a new row the
-- largest id plus one, so removing the newest page would hand its id to the
-- next page registered, and a hit still on its way to the removed page
-- would be counted there. AUTOINCREMENT never reuses an id, so the table is
-- rebuilt with it, keeping every id; calls and per-day counts stay keyed by
-- page id.
--
-- `start_count` is a count carried over from another service: shown in the
-- page's total and badge, never in its per-day counts or calls.
CREATE TABLE paths_v4 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id       INTEGER NOT NULL REFERENCES sites (id),
    path          TEXT    NOT NULL,
    total         INTEGER NOT NULL DEFAULT 0,
    start_count   INTEGER NOT NULL DEFAULT 0,
    first_call    INTEGER,
    last_call     INTEGER,
    registered_at INTEGER NOT NULL,
    UNIQUE (site_id, path)
) STRICT;
INSERT INTO paths_v4 (id, site_id, path, total, first_call, last_call, registered_at)
    SELECT id, site_id, path, total, first_call, last_call, registered_at FROM paths;
DROP TABLE paths;
ALTER TABLE paths_v4 RENAME TO paths;
