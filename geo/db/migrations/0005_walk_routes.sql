-- Walk routes drawn, snapped or planned by planners: a client id makes a retried creation
-- idempotent (the same id and body returns the stored route, another body is a conflict), and
-- the body's digest tells the two apart. Lengths are kept in metres (geodesic) for listings.
ALTER TABLE walk_routes
    ADD COLUMN client_id    uuid UNIQUE,
    ADD COLUMN body_sha256  text,
    ADD COLUMN source       text NOT NULL DEFAULT 'drawn'
                            CHECK (source IN ('drawn', 'snapped', 'planned', 'gpx')),
    ADD COLUMN length_m     double precision CHECK (length_m IS NULL OR length_m >= 0),
    ADD COLUMN plan         jsonb;
CREATE INDEX walk_routes_area_idx ON walk_routes (area_id);

-- Collaboration zones drawn by planners carry a version too (optimistic concurrency).
ALTER TABLE zones ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version > 0);
