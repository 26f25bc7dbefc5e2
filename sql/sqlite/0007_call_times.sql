-- Footfall schema v7 (SQLite): compact call history. Never edit once released.

-- Raw calls, packed: one row holds calls of one page in one 15-minute slot
-- (UTC, `slot` = microseconds since 1970 / 900,000,000), up to about 512
-- bytes of them; a busy slot has several rows (`part` 0, 1, …). `times` is
-- the calls' microseconds from the slot's start as varints, in runs that
-- are sorted within themselves (src/store/packed.rs says exactly how);
-- `calls` is how many it holds, so per-slot counts never read `times`.
-- WITHOUT ROWID: a page's rows sit together in key order, with no second
-- index. No visitor data of any kind; path_id always names a paths row.
--
-- The old table `calls` is emptied into this one by Footfall at start, a
-- chunk per transaction, and then dropped (store/sqlite/convert.rs).
CREATE TABLE call_times (
    path_id INTEGER NOT NULL,
    slot    INTEGER NOT NULL,
    part    INTEGER NOT NULL,
    calls   INTEGER NOT NULL,
    times   BLOB    NOT NULL,
    PRIMARY KEY (path_id, slot, part)
) STRICT, WITHOUT ROWID;
