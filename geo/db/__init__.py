"""All PostGIS access: the connection pool, the migrations, the embedded server, and one module
per family of tables (areas/zones/places, deviations, categories, walk routes, walks, the street
network, accounts and sessions, audit, demo data, GeoDataFrames for analysts).

Nothing outside this package, `api/` and the CLI talks to the database or imports psycopg; the
others take a `Connection` and pass it here (``tests/test_architecture.py`` keeps that true).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import psycopg

Connection: TypeAlias = psycopg.Connection[Any]
