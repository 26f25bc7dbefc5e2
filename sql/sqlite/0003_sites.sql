-- Footfall schema v3 (SQLite): several sites per Footfall. Never edit once released.

-- A site is named by its slug from the config; its id is what pages keep.
CREATE TABLE sites (
    id   INTEGER PRIMARY KEY,
    slug TEXT    NOT NULL UNIQUE
) STRICT;

-- Every page stored before sites existed belongs to the one site of a
-- single-site config, `default` (`footfall sites rename` gives it a new slug).
INSERT INTO sites (slug) VALUES ('default');

-- A page is (site, path): `/` on two sites is two pages. SQLite cannot drop
-- a column's UNIQUE, so the table is rebuilt with the same ids; calls and
-- per-day counts stay keyed by page id.
CREATE TABLE paths_with_sites (
    id            INTEGER PRIMARY KEY,
    site_id       INTEGER NOT NULL REFERENCES sites (id),
    path          TEXT    NOT NULL,
    total         INTEGER NOT NULL DEFAULT 0,
    first_call    INTEGER,
    last_call     INTEGER,
    registered_at INTEGER NOT NULL,
    UNIQUE (site_id, path)
) STRICT;
INSERT INTO paths_with_sites (id, site_id, path, total, first_call, last_call, registered_at)
    SELECT id, (SELECT id FROM sites WHERE slug = 'default'), path, total, first_call, last_call, registered_at
    FROM paths;
DROP TABLE paths;
ALTER TABLE paths_with_sites RENAME TO paths;
