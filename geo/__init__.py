"""Geometry, CRS, the PostGIS store, heat maps and statistics.

Depends on no other package of ours.
"""
