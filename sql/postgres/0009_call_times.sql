-- Footfall schema v9 (PostgreSQL): compact call history. Never edit once released.

-- Raw calls, packed: one row holds calls of one page in one 15-minute slot
-- (UTC, `slot` = seconds since 1970 / 900), up to about 512 bytes of them;
-- a busy slot has several rows (`part` 0, 1, …). `times` is the calls'
-- microseconds from the slot's start as varints, in runs that are sorted
-- within themselves (src/store/packed.rs says exactly how); `calls` is how
-- many it holds, so per-slot counts never read `times`. A row costs about
-- 60 bytes with its index entry, spread over up to a few hundred calls,
-- where `calls` cost about 100 bytes per call. No visitor data of any kind;
-- path_id always names a paths row, without a foreign key (its check would
-- cost every batch).
--
-- The old table `calls` is emptied into this one by Footfall at start, a
-- chunk per transaction, and then dropped (store/postgres/convert.rs).
CREATE TABLE call_times (
    path_id bigint NOT NULL,
    slot    bigint NOT NULL,
    part    int    NOT NULL,
    calls   int    NOT NULL,
    times   bytea  NOT NULL,
    PRIMARY KEY (path_id, slot, part)
);
