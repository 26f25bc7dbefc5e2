-- Footfall schema v3 (PostgreSQL). Never edit once released: add a new file.

-- The id of each batch of calls, written in the batch's own transaction, so
-- that a commit whose answer was lost (a deadline passed, the connection
-- broke) can be settled: committing the batch again under the same id
-- either succeeds (the first attempt did not commit, and now never can) or
-- fails on this key (it did). Footfall deletes the id of a batch whose
-- commit it saw confirmed with its next batch; the ids of batches settled
-- this way are kept, since their first attempt may still be on its way.
CREATE TABLE recorded_batches (
    id bigint PRIMARY KEY
);
