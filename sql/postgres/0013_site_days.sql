-- Footfall schema v13 (PostgreSQL): each site's calls per day. Never edit once released.

-- The sum of daily_counts over a site's pages, per day, so that the site's
-- history and the dashboard's period figures read one row per day instead
-- of one per page and day. Kept by statement triggers on daily_counts,
-- so every writer of daily_counts (batches, removing and merging pages,
-- imports, rebuild-daily) keeps it right without knowing of it. Statement
-- triggers, not row triggers: they lock the site's rows once, after all
-- of the statement's daily_counts rows and in key order, so two writers
-- never wait on each other in a cycle.
CREATE TABLE site_days (
    site_id bigint NOT NULL,
    day     date   NOT NULL,
    count   bigint NOT NULL,
    PRIMARY KEY (site_id, day)
);

INSERT INTO site_days (site_id, day, count)
    SELECT p.site_id, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2;

-- Adds what a statement added to daily_counts and takes away what it took.
CREATE FUNCTION site_days_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO site_days (site_id, day, count)
            SELECT p.site_id, n.day, sum(n.count) FROM added n JOIN paths p ON p.id = n.path_id
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (site_id, day) DO UPDATE SET count = site_days.count + excluded.count;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO site_days (site_id, day, count)
            SELECT site_id, day, sum(delta) FROM (
                SELECT p.site_id, n.day, n.count AS delta FROM added n JOIN paths p ON p.id = n.path_id
                UNION ALL
                SELECT p.site_id, o.day, -o.count FROM taken o JOIN paths p ON p.id = o.path_id
            ) c
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (site_id, day) DO UPDATE SET count = site_days.count + excluded.count;
    ELSE
        INSERT INTO site_days (site_id, day, count)
            SELECT p.site_id, o.day, -sum(o.count) FROM taken o JOIN paths p ON p.id = o.path_id
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (site_id, day) DO UPDATE SET count = site_days.count + excluded.count;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER site_days_insert AFTER INSERT ON daily_counts
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION site_days_follow();
CREATE TRIGGER site_days_update AFTER UPDATE ON daily_counts
    REFERENCING OLD TABLE AS taken NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION site_days_follow();
CREATE TRIGGER site_days_delete AFTER DELETE ON daily_counts
    REFERENCING OLD TABLE AS taken FOR EACH STATEMENT EXECUTE FUNCTION site_days_follow();
