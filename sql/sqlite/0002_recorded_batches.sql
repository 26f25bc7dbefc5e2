-- Footfall schema v2 (SQLite). Never edit once released: add a new file.

-- The id of each batch of calls, written in the batch's own transaction, so
-- that a commit whose answer came too late can be settled: committing the
-- batch again under the same id either succeeds (the first attempt did not
-- commit) or fails on this key (it did). Footfall deletes the id of a batch
-- whose commit it saw confirmed with its next batch.
CREATE TABLE recorded_batches (
    id INTEGER PRIMARY KEY
) STRICT;
