-- Footfall schema v11 (PostgreSQL): the outbox of events for webhooks and
-- the feed. Never edit once released.

-- One row per event, written in the transaction of the change that caused
-- it. `data` is a JSON object of the site's own data (paths, links,
-- counts); never anything about a visitor. `once` makes an event that must
-- exist at most once (a day's summary) unique. Pruned after 30 days.
CREATE TABLE events (
    id      bigserial   PRIMARY KEY,
    site_id bigint      NOT NULL,
    kind    text        NOT NULL,
    at      timestamptz NOT NULL DEFAULT now(),
    data    text        NOT NULL,
    once    text        UNIQUE
);
CREATE INDEX events_site_id_id ON events (site_id, id);
CREATE INDEX events_at ON events (at);
-- Per webhook receiver (a digest of site and URL), the last event sent or given up.
CREATE TABLE webhook_cursors (
    receiver   text   PRIMARY KEY,
    last_event bigint NOT NULL
);
-- Deliveries given up after 24 hours of retries, with the last error.
CREATE TABLE webhook_failures (
    id        bigserial   PRIMARY KEY,
    receiver  text        NOT NULL,
    event_id  bigint      NOT NULL,
    error     text        NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
-- A link's clicks already carried by a link_clicked event, and when.
ALTER TABLE links ADD COLUMN reported_total bigint NOT NULL DEFAULT 0;
ALTER TABLE links ADD COLUMN reported_at timestamptz;
-- The links with clicks not yet reported, found without reading the others.
CREATE INDEX links_unreported ON links (id) WHERE total > reported_total;
