-- Footfall schema v8 (PostgreSQL): shared dedup for replicas. Never edit once released.

-- With `dedup: shared`, replicas on one database agree on a visitor's first
-- hit per page per window. Each (site, window) has a random nonce, made by
-- the first replica to reach the window and read by the others; the window
-- key is derived from it and a secret that only the replicas hold (never
-- stored here). The row and its digests are deleted when the window ends,
-- after which nobody, not even with the secret, can link a digest to anyone.
CREATE TABLE dedup_windows (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id   bigint      NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL,
    nonce     bytea       NOT NULL,
    UNIQUE (site_id, starts_at)
);

-- 64-bit keyed digests of (visitor, page), one partition per window, so a
-- window's digests go with one DROP TABLE. The partitions are UNLOGGED
-- (created with each window): no WAL, not replicated, emptied by a crash —
-- which re-counts each visitor at most once in that window.
CREATE TABLE dedup_digests (
    window_id bigint NOT NULL,
    digest    bigint NOT NULL,
    PRIMARY KEY (window_id, digest)
) PARTITION BY LIST (window_id);
