-- Footfall schema v10 (PostgreSQL): clicks of signed /go/ links. Never edit once released.

-- A link is named by `link`, a digest of its signed payload (32 hex
-- digits), so one link minted twice is one row; the row appears with its
-- first click. Only the name and the destination's host are kept, never
-- anything about who clicked. `site_id` has no foreign key, like
-- `daily_counts`: rows go with their site's data.
CREATE TABLE links (
    id          bigserial PRIMARY KEY,
    site_id     bigint      NOT NULL,
    link        text        NOT NULL,
    name        text,
    host        text        NOT NULL,
    total       bigint      NOT NULL DEFAULT 0,
    first_click timestamptz,
    last_click  timestamptz,
    UNIQUE (site_id, link)
);
-- Clicks per link and calendar day (in the site's zone when counted).
CREATE TABLE link_daily (
    link_id bigint NOT NULL,
    day     date   NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (link_id, day)
);
