-- Footfall schema v11 (SQLite): each site's calls per day. Never edit once released.

-- The sum of daily_counts over a site's pages, per day, so that the site's
-- history and the dashboard's period figures read one row per day instead
-- of one per page and day. Kept by triggers on daily_counts, so every
-- writer of daily_counts (batches, removing and merging pages, imports,
-- rebuild-daily) keeps it right without knowing of it. SQLite has one
-- writer at a time, so row triggers cannot deadlock.
CREATE TABLE site_days (
    site_id INTEGER NOT NULL,
    day     INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (site_id, day)
) STRICT, WITHOUT ROWID;

INSERT INTO site_days (site_id, day, count)
    SELECT p.site_id, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2;

CREATE TRIGGER site_days_insert AFTER INSERT ON daily_counts BEGIN
    INSERT INTO site_days (site_id, day, count)
        SELECT site_id, NEW.day, NEW.count FROM paths WHERE id = NEW.path_id
        ON CONFLICT (site_id, day) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER site_days_update AFTER UPDATE ON daily_counts BEGIN
    INSERT INTO site_days (site_id, day, count)
        SELECT site_id, OLD.day, -OLD.count FROM paths WHERE id = OLD.path_id
        ON CONFLICT (site_id, day) DO UPDATE SET count = count + excluded.count;
    INSERT INTO site_days (site_id, day, count)
        SELECT site_id, NEW.day, NEW.count FROM paths WHERE id = NEW.path_id
        ON CONFLICT (site_id, day) DO UPDATE SET count = count + excluded.count;
END;

CREATE TRIGGER site_days_delete AFTER DELETE ON daily_counts BEGIN
    INSERT INTO site_days (site_id, day, count)
        SELECT site_id, OLD.day, -OLD.count FROM paths WHERE id = OLD.path_id
        ON CONFLICT (site_id, day) DO UPDATE SET count = count + excluded.count;
END;
