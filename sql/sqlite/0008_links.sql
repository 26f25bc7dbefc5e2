-- Footfall schema v8 (SQLite): clicks of signed /go/ links. Never edit once released.

-- A link is named by `link`, a digest of its signed payload (32 hex
-- digits), so one link minted twice is one row; the row appears with its
-- first click. Only the name and the destination's host are kept, never
-- anything about who clicked. Times in microseconds since 1970, as calls.
CREATE TABLE links (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id     INTEGER NOT NULL,
    link        TEXT    NOT NULL,
    name        TEXT,
    host        TEXT    NOT NULL,
    total       INTEGER NOT NULL DEFAULT 0,
    first_click INTEGER,
    last_click  INTEGER,
    UNIQUE (site_id, link)
) STRICT;
-- Clicks per link and calendar day (days since 1970 in the site's zone).
CREATE TABLE link_daily (
    link_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (link_id, day)
) STRICT;
