-- A change counter per area for the situation's deviation list (issue 18 item 4): a client that
-- polls `GET /api/v1/deviations` every 15 s sends the ETag it holds, and the server answers 304
-- from these few rows instead of building the list again.
--
-- Every change of a deviation bumps the version of its area (of both areas when a report moves):
-- statement-level triggers, so one INSERT of 100,000 rows is one bump per area, not 100,000.
-- Versions come from one sequence, so they only grow, also across areas: the largest version of
-- a set of areas changes whenever anything in one of them changes (deletes too). Reports without
-- an area count under area_id 0. A change of a category's name or colour (both in every
-- Feature) or of an area's slug (in every Feature of it) bumps the versions it touches.

CREATE SEQUENCE deviation_version_seq;

CREATE TABLE deviation_versions (
    area_id  bigint PRIMARY KEY,
    version  bigint NOT NULL
);

INSERT INTO deviation_versions (area_id, version)
SELECT DISTINCT coalesce(area_id, 0), nextval('deviation_version_seq') FROM deviations;

CREATE FUNCTION nv_bump_deviation_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Sorted, so that two transactions bumping the same areas lock them in the same order.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO deviation_versions (area_id, version)
        SELECT a, nextval('deviation_version_seq')
        FROM (SELECT DISTINCT coalesce(area_id, 0) AS a FROM new_rows ORDER BY 1) s
        ON CONFLICT (area_id) DO UPDATE SET version = excluded.version;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO deviation_versions (area_id, version)
        SELECT a, nextval('deviation_version_seq')
        FROM (SELECT coalesce(area_id, 0) AS a FROM new_rows
              UNION SELECT coalesce(area_id, 0) FROM old_rows ORDER BY 1) s
        ON CONFLICT (area_id) DO UPDATE SET version = excluded.version;
    ELSE
        INSERT INTO deviation_versions (area_id, version)
        SELECT a, nextval('deviation_version_seq')
        FROM (SELECT DISTINCT coalesce(area_id, 0) AS a FROM old_rows ORDER BY 1) s
        ON CONFLICT (area_id) DO UPDATE SET version = excluded.version;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER deviations_version_insert AFTER INSERT ON deviations
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nv_bump_deviation_versions();
CREATE TRIGGER deviations_version_update AFTER UPDATE ON deviations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nv_bump_deviation_versions();
CREATE TRIGGER deviations_version_delete AFTER DELETE ON deviations
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION nv_bump_deviation_versions();

CREATE FUNCTION nv_bump_all_deviation_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deviation_versions SET version = nextval('deviation_version_seq');
    RETURN NULL;
END
$$;

CREATE TRIGGER deviation_categories_version AFTER UPDATE ON deviation_categories
    FOR EACH STATEMENT EXECUTE FUNCTION nv_bump_all_deviation_versions();

CREATE FUNCTION nv_bump_area_deviation_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.slug IS DISTINCT FROM OLD.slug THEN
        INSERT INTO deviation_versions (area_id, version)
        VALUES (NEW.id, nextval('deviation_version_seq'))
        ON CONFLICT (area_id) DO UPDATE SET version = excluded.version;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER areas_deviation_version AFTER UPDATE ON areas
    FOR EACH ROW EXECUTE FUNCTION nv_bump_area_deviation_version();
