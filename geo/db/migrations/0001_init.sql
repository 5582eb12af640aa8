-- nattvandring schema, version 1. Never edit this file once applied: add a new migration.
-- Every geometry is WGS 84 (SRID 4326, lon/lat); metric work transforms to the area's metric_srid.

CREATE EXTENSION IF NOT EXISTS postgis;

-- A stored geometry must be non-empty, valid, SRID 4326 and inside the lon/lat range. PostGIS
-- itself accepts latitude 100 in a geometry (and a geography cast wraps it silently), so the range
-- is checked here, for rows that bypass the API too.
CREATE FUNCTION nv_lonlat_ok(g geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_SRID(g) = 4326
       AND NOT ST_IsEmpty(g)
       AND ST_IsValid(g)
       AND ST_XMin(g) >= -180 AND ST_XMax(g) <= 180
       AND ST_YMin(g) >= -90 AND ST_YMax(g) <= 90
$$;

CREATE TABLE organisations (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
    kind        text NOT NULL CHECK (kind IN ('district', 'club', 'police', 'property_owner', 'other')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id               bigserial PRIMARY KEY,
    email            text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    password_hash    text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'planner', 'walker', 'partner')),
    organisation_id  bigint NOT NULL REFERENCES organisations (id),
    disabled         boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE areas (
    id           bigserial PRIMARY KEY,
    slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name         text NOT NULL CHECK (btrim(name) <> ''),
    kind         text NOT NULL DEFAULT 'stadsdel',
    metric_srid  integer NOT NULL DEFAULT 3006 CHECK (metric_srid > 0),
    source       text NOT NULL DEFAULT '',
    geom         geometry(MultiPolygon, 4326) NOT NULL CHECK (nv_lonlat_ok(geom)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX areas_geom_idx ON areas USING gist (geom);

CREATE TABLE zones (
    id            bigserial PRIMARY KEY,
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name          text NOT NULL CHECK (btrim(name) <> ''),
    area_id       bigint REFERENCES areas (id),
    description   text NOT NULL DEFAULT '',
    illustrative  boolean NOT NULL DEFAULT false,
    geom          geometry(MultiPolygon, 4326) NOT NULL CHECK (nv_lonlat_ok(geom)),
    created_by    bigint REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX zones_geom_idx ON zones USING gist (geom);

CREATE TABLE places (
    id          bigserial PRIMARY KEY,
    source_key  text NOT NULL UNIQUE,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    kind        text NOT NULL CHECK (kind IN ('station', 'stop', 'school', 'playground', 'library',
                                              'shop', 'food', 'sport', 'health', 'meeting_point',
                                              'other')),
    area_id     bigint REFERENCES areas (id),
    attributes  jsonb NOT NULL DEFAULT '{}'::jsonb,
    source      text NOT NULL DEFAULT '',
    geom        geometry(Point, 4326) NOT NULL CHECK (nv_lonlat_ok(geom))
);
CREATE INDEX places_geom_idx ON places USING gist (geom);

CREATE TABLE deviation_categories (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]*$'),
    name_sv     text NOT NULL CHECK (btrim(name_sv) <> ''),
    colour      text NOT NULL CHECK (colour ~ '^#[0-9a-f]{6}$'),
    weight      double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight <= 10),
    sort_order  integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE agreements (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    kind              text NOT NULL CHECK (kind IN ('agreement', 'iop')),
    starts_on         date NOT NULL,
    ends_on           date NOT NULL,
    rate_sek          integer NOT NULL CHECK (rate_sek >= 0),
    walkers_per_walk  integer NOT NULL DEFAULT 6 CHECK (walkers_per_walk > 0),
    extends_id        bigint REFERENCES agreements (id),
    notes             text NOT NULL DEFAULT '',
    CHECK (ends_on >= starts_on)
);

CREATE TABLE agreement_parties (
    agreement_id     bigint NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    organisation_id  bigint NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (agreement_id, organisation_id)
);

CREATE TABLE walk_routes (
    id          bigserial PRIMARY KEY,
    area_id     bigint REFERENCES areas (id),
    name        text NOT NULL CHECK (btrim(name) <> ''),
    notes       text NOT NULL DEFAULT '',
    version     integer NOT NULL DEFAULT 1 CHECK (version > 0),
    geom        geometry(LineString, 4326) NOT NULL
                CHECK (nv_lonlat_ok(geom) AND ST_NPoints(geom) >= 2),
    created_by  bigint REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX walk_routes_geom_idx ON walk_routes USING gist (geom);

-- A walk is keyed by a client UUID like a deviation, so a retried report is stored once.
CREATE TABLE walks (
    id               uuid PRIMARY KEY,
    agreement_id     bigint REFERENCES agreements (id),
    organisation_id  bigint NOT NULL REFERENCES organisations (id),
    route_id         bigint REFERENCES walk_routes (id),
    area_id          bigint REFERENCES areas (id),
    planned_start    timestamptz NOT NULL,
    planned_end      timestamptz,
    started_at       timestamptz,
    ended_at         timestamptz,
    walkers          integer CHECK (walkers BETWEEN 0 AND 100),
    status           text NOT NULL DEFAULT 'planned'
                     CHECK (status IN ('planned', 'completed', 'approved', 'cancelled')),
    track            geometry(MultiLineString, 4326) CHECK (track IS NULL OR nv_lonlat_ok(track)),
    approved_by      bigint REFERENCES users (id),
    approved_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (planned_end IS NULL OR planned_end > planned_start),
    CHECK (ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX walks_planned_start_idx ON walks (planned_start);
CREATE INDEX walks_track_idx ON walks USING gist (track);

-- Deviations are keyed by the UUID the reporting client made (idempotent retries).
CREATE TABLE deviations (
    id               uuid PRIMARY KEY,
    category         text NOT NULL REFERENCES deviation_categories (code),
    observed_at      timestamptz NOT NULL,
    reported_at      timestamptz NOT NULL DEFAULT now(),
    severity         smallint NOT NULL CHECK (severity BETWEEN 1 AND 3),
    description      text CHECK (char_length(description) <= 2000),
    accuracy_m       double precision CHECK (accuracy_m >= 0 AND accuracy_m <= 100000),
    status           text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'confirmed', 'dismissed')),
    reporter_id      bigint REFERENCES users (id),
    organisation_id  bigint REFERENCES organisations (id),
    walk_id          uuid REFERENCES walks (id),
    area_id          bigint REFERENCES areas (id),
    synthetic        boolean NOT NULL DEFAULT false,
    body_sha256      text,
    geom             geometry(Point, 4326) NOT NULL CHECK (nv_lonlat_ok(geom))
);
CREATE INDEX deviations_geom_idx ON deviations USING gist (geom);
CREATE INDEX deviations_observed_at_idx ON deviations (observed_at);
CREATE INDEX deviations_area_observed_idx ON deviations (area_id, observed_at);

CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    user_id  bigint REFERENCES users (id),
    action   text NOT NULL,
    subject  text NOT NULL DEFAULT '',
    details  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
