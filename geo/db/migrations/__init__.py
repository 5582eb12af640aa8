"""Versioned SQL migrations (``NNNN_name.sql``), applied in order by `geo.db.migrate.migrate`."""
