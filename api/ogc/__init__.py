"""OGC API – Features (Part 1 Core, GeoJSON; Part 2 CRS by reference) at ``/ogc``.

- `api.ogc.catalogue`: the collection catalogue, one table of collection descriptors (as
  tipg's catalogue), each reading its Features through the store functions the rest of the API
  uses (`geo.db.areas`, `geo.db.deviations`, `api.meeting`, `geo.analysis`…);
- `api.ogc.crs`: the coordinate reference systems offered and the transformation of Features;
- `api.ogc.query`: the query parameters of ``/items`` (``bbox``, ``bbox-crs``, ``crs``,
  ``datetime``, ``limit``, ``offset``, ``f``), unknown ones refused with a 400;
- `api.ogc.documents`: the landing page, conformance, collection and items documents with
  their links.

The router is `api.routers.ogc`; the vector tiles of the same collections `api.routers.tiles`.
"""
