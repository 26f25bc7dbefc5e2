-- Footfall schema v6 (PostgreSQL): owner controls over pages. Never edit once released.

-- Pages can now be removed and merged away; their identity ids are never
-- reused, so a hit still on its way to a removed page cannot land on another.
--
-- `start_count` is a count carried over from another service: shown in the
-- page's total and badge, never in its per-day counts or calls.
ALTER TABLE paths ADD COLUMN start_count bigint NOT NULL DEFAULT 0;
