-- Footfall schema v13 (SQLite): call history in the order it is written. Never edit once released.

-- call_times was a WITHOUT ROWID table, its rows in (path_id, slot, part)
-- order: a page's open row sat at the end of that page's history. Once
-- histories outgrew a database page, every page a batch counted was a
-- database page of its own to change and to log in the WAL (about 36 per
-- batch of 32 new visitors at a million calls, against about 16 on a fresh
-- file), and new visitors fell round by round as the file grew. As a rowid
-- table its rows sit in the order they were made, so the open rows of every
-- page are among the newest rows: a batch changes the few database pages
-- at the table's end, however long the histories are. The primary key stays
-- a unique index (path_id, slot, part), which every read and every append
-- uses; only a new row adds an entry to it, since an append to an open row
-- changes no key. Existing rows are copied over in their old order (page,
-- then slot), so a page's history stays together, as its reads expect;
-- the rows made from now on go at the end.
CREATE TABLE call_times_in_write_order (
    path_id INTEGER NOT NULL,
    slot    INTEGER NOT NULL,
    part    INTEGER NOT NULL,
    calls   INTEGER NOT NULL,
    times   BLOB    NOT NULL,
    PRIMARY KEY (path_id, slot, part)
) STRICT;

INSERT INTO call_times_in_write_order (path_id, slot, part, calls, times)
    SELECT path_id, slot, part, calls, times FROM call_times ORDER BY path_id, slot, part;
DROP TABLE call_times;
ALTER TABLE call_times_in_write_order RENAME TO call_times;
