-- Footfall schema v9 (SQLite): the outbox of events for webhooks and the
-- feed. Never edit once released.

-- One row per event, written in the transaction of the change that caused
-- it. `data` is a JSON object of the site's own data (paths, links,
-- counts); never anything about a visitor. `once` makes an event that must
-- exist at most once (a day's summary) unique. Pruned after 30 days.
-- Times in microseconds since 1970.
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    data    TEXT    NOT NULL,
    once    TEXT    UNIQUE
) STRICT;
CREATE INDEX events_site_id_id ON events (site_id, id);
CREATE INDEX events_at ON events (at);
-- Per webhook receiver (a digest of site and URL), the last event sent or given up.
CREATE TABLE webhook_cursors (
    receiver   TEXT    PRIMARY KEY,
    last_event INTEGER NOT NULL
) STRICT;
-- Deliveries given up after 24 hours of retries, with the last error.
CREATE TABLE webhook_failures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    receiver  TEXT    NOT NULL,
    event_id  INTEGER NOT NULL,
    error     TEXT    NOT NULL,
    failed_at INTEGER NOT NULL
) STRICT;
-- A link's clicks already carried by a link_clicked event, and when.
ALTER TABLE links ADD COLUMN reported_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN reported_at INTEGER;
-- The links with clicks not yet reported, found without reading the others.
CREATE INDEX links_unreported ON links (id) WHERE total > reported_total;
