-- Footfall schema v1 (SQLite). Never edit once released: add a new file.
-- Timestamps are microseconds since the Unix epoch (UTC); days are numbered
-- from 1970-01-01 (day 0) in the configured time zone.

-- One row per page the tracked site confirmed, with its running total, so
-- counts cost O(paths), never O(calls).
CREATE TABLE paths (
    id            INTEGER PRIMARY KEY,
    path          TEXT    NOT NULL UNIQUE,
    total         INTEGER NOT NULL DEFAULT 0,
    first_call    INTEGER,
    last_call     INTEGER,
    registered_at INTEGER NOT NULL
) STRICT;

-- One row per counted call: the raw history. No visitor data of any kind.
-- path_id always names a paths row (paths are never deleted, and only ids
-- of registered paths are written); no foreign key, because its per-row
-- check would be a large part of the cost of recording a call.
CREATE TABLE calls (
    path_id   INTEGER NOT NULL,
    called_at INTEGER NOT NULL
) STRICT;
CREATE INDEX calls_path_id_called_at ON calls (path_id, called_at);

-- Calls per page per calendar day in the configured time zone.
CREATE TABLE daily_counts (
    path_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (path_id, day)
) STRICT, WITHOUT ROWID;
