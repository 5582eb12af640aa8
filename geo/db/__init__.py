"""PostGIS access: every module here takes a connection."""
