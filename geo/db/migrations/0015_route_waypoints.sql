-- Walk routes by waypoints (issue 15, "Routes and zones"): a route snapped to the streets keeps
-- the points the planner drew, in order, beside the street geometry made from them. The page
-- edits such a route by these few points and snaps again, not by the street line's many
-- vertices. NULL for a route stored as drawn (its line is its own waypoints) and for routes
-- snapped before this migration.
ALTER TABLE walk_routes
    ADD COLUMN waypoints geometry(LineString, 4326)
        CHECK (waypoints IS NULL OR (nv_lonlat_ok(waypoints) AND ST_NPoints(waypoints) >= 2));
