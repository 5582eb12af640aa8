-- The walkable street network imported from OpenStreetMap (routes/store.py, DESIGN.md decision 7).
-- Nodes are OSM nodes where walkable ways meet or end; edges are the pieces of ways between them,
-- undirected (a walker may go both ways along a one-way street), identified by (osm_way_id, seq):
-- the way they come from and their order along it. Lengths are geodesic metres (WGS 84 ellipsoid).

CREATE TABLE street_nodes (
    id    bigint PRIMARY KEY,  -- the OSM node id
    geom  geometry(Point, 4326) NOT NULL CHECK (nv_lonlat_ok(geom))
);
CREATE INDEX street_nodes_geom_idx ON street_nodes USING gist (geom);

CREATE TABLE street_edges (
    id          bigserial PRIMARY KEY,
    osm_way_id  bigint NOT NULL,
    seq         integer NOT NULL CHECK (seq >= 0),
    source      bigint NOT NULL REFERENCES street_nodes (id),
    target      bigint NOT NULL REFERENCES street_nodes (id),
    highway     text NOT NULL CHECK (highway ~ '^[a-z_]+$'),
    name        text CHECK (name IS NULL OR btrim(name) <> ''),
    length_m    double precision NOT NULL CHECK (length_m > 0 AND length_m < 1e6),
    geom        geometry(LineString, 4326) NOT NULL
                CHECK (nv_lonlat_ok(geom) AND ST_NPoints(geom) >= 2),
    UNIQUE (osm_way_id, seq)
);
CREATE INDEX street_edges_geom_idx ON street_edges USING gist (geom);
CREATE INDEX street_edges_source_idx ON street_edges (source);
CREATE INDEX street_edges_target_idx ON street_edges (target);

-- One row per import that changed something or brought a new file: max(id) is the "import
-- generation" that in-memory graphs are cached under. Re-importing an identical file into an
-- identical network writes no row at all.
CREATE TABLE network_imports (
    id               bigserial PRIMARY KEY,
    file_name        text NOT NULL CHECK (btrim(file_name) <> ''),
    sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    area_id          bigint REFERENCES areas (id),
    imported_at      timestamptz NOT NULL DEFAULT now(),
    ways_walkable    integer NOT NULL CHECK (ways_walkable >= 0),
    nodes_added      integer NOT NULL CHECK (nodes_added >= 0),
    nodes_updated    integer NOT NULL CHECK (nodes_updated >= 0),
    edges_added      integer NOT NULL CHECK (edges_added >= 0),
    edges_updated    integer NOT NULL CHECK (edges_updated >= 0),
    edges_unchanged  integer NOT NULL CHECK (edges_unchanged >= 0),
    edges_removed    integer NOT NULL CHECK (edges_removed >= 0)
);
CREATE INDEX network_imports_sha256_idx ON network_imports (sha256);
