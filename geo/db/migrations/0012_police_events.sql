-- Police event notices (polisen.se/api/events, issue 17): public context for the meetings, never
-- reports. The feed's GPS is the municipality's centre, not the place of the event, so a notice
-- is placed only by the place names in its text and at the level the text supports: a district
-- (its polygon), a named place or a junction (a generalised circle around it), a street (a band
-- along it); a notice that names none is unplaced (level and geometry both NULL), never guessed.
-- Keyed by the feed's id: importing the same notices again stores each once.
CREATE TABLE police_events (
    id              bigint PRIMARY KEY CHECK (id > 0),
    occurred_at     timestamptz NOT NULL,
    event_type      text NOT NULL CHECK (btrim(event_type) <> '' AND char_length(event_type) <= 100),
    name            text NOT NULL CHECK (char_length(name) <= 300),
    summary         text NOT NULL DEFAULT '' CHECK (char_length(summary) <= 2000),
    url             text NOT NULL CHECK (url ~ '^https://polisen\.se/'),
    location_name   text NOT NULL DEFAULT '' CHECK (char_length(location_name) <= 100),
    location_gps    text NOT NULL DEFAULT '' CHECK (char_length(location_gps) <= 60),
    body_text       text NOT NULL DEFAULT '' CHECK (char_length(body_text) <= 20000),
    level           text CHECK (level IN ('district', 'place', 'junction', 'street')),
    place_label     text CHECK (place_label IS NULL OR char_length(place_label) <= 200),
    districts       text[] NOT NULL DEFAULT '{}',
    unplaced_reason text CHECK (unplaced_reason IS NULL OR char_length(unplaced_reason) <= 200),
    geom            geometry(MultiPolygon, 4326) CHECK (geom IS NULL OR nv_lonlat_ok(geom)),
    source          text NOT NULL DEFAULT 'feed' CHECK (source IN ('feed', 'archive')),
    content_sha256  text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    imported_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- A level exactly when there is a geometry, and a reason exactly when there is none.
    CHECK ((level IS NULL) = (geom IS NULL)),
    CHECK ((geom IS NULL) = (unplaced_reason IS NOT NULL))
);
CREATE INDEX police_events_geom_idx ON police_events USING gist (geom);
CREATE INDEX police_events_time_idx ON police_events (occurred_at);
