"""Idempotent creation: one helper for every table a client creates rows in with its own key.

A client that cannot tell whether its request arrived (a phone on a weak network) sends it again
with the same key: a report's own UUID, or an ``Idempotency-Key`` header. The answers are the
same for every kind of row:

- the first request stores the row (``created`` is True: 201);
- a retry with the same body under the same key stores nothing and gives the stored row back
  (``created`` is False: 200);
- another body under the same key is a `KeyReused` conflict (409);
- concurrent retries store one row: they wait for each other on an advisory transaction lock
  on the key, so the second one looks only after the first one has committed.

The table needs a unique key column (``client_id uuid UNIQUE``, or the primary key when the
client makes the id) and a ``body_sha256 text`` column for `geo.inputs.body_digest`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from geo.errors import Conflict


class KeyReused(Conflict):
    """A client key that was used before for another body."""

    code = "key_reused"


@dataclass(frozen=True)
class Expr:
    """A column value computed in SQL from parameters, e.g.
    ``Expr("ST_SetSRID(ST_GeomFromWKB(%s), 4326)", wkb)``."""

    template: LiteralString
    params: tuple[Any, ...]

    def __init__(self, template: LiteralString, *params: Any) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "params", params)


Values = Mapping[str, Any]


def _insert(conn: psycopg.Connection, table: str, values: Values, returning: str) -> Any:
    columns: list[sql.Composable] = []
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in values.items():
        columns.append(sql.Identifier(column))
        if isinstance(value, Expr):
            parts.append(sql.SQL(value.template))
            params.extend(value.params)
        else:
            parts.append(sql.Placeholder())
            params.append(value)
    row = conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(columns),
            sql.SQL(", ").join(parts),
            sql.Identifier(returning),
        ),
        params,
    ).fetchone()
    assert row is not None
    return row[0]


def create_once(
    conn: psycopg.Connection,
    table: str,
    *,
    key: uuid.UUID | None,
    digest: str,
    values: Values | Callable[[], Values],
    conflict: str,
    key_column: str = "client_id",
    returning: str = "id",
    same: Values | None = None,
) -> tuple[Any, bool]:
    """Insert a row once per ``key``; return its ``returning`` column and whether it is new.

    Parameters
    ----------
    conn
        The connection; the work runs in one transaction (a savepoint inside the caller's).
    table
        The table, with a unique ``key_column`` and a ``body_sha256`` column.
    key
        The client's key; None stores a new row every time (no retry can be recognised).
    digest
        `geo.inputs.body_digest` of the validated body: a retry must have the same one.
    values
        The row's columns (values, or `Expr` for values computed in SQL), or a function that
        gives them: it is called only when the row is really stored, inside the lock (for
        values that depend on what is stored already, such as a free slug).
    conflict
        The message of the `KeyReused` error: what the client should do instead.
    same
        Columns that a retry must match too (the report's reporter: another user sending the
        same body under someone else's key is a conflict, not a replay).
    """
    with conn.transaction():
        if key is not None:
            # Concurrent requests with one key wait here for the first one's commit.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{table}:{key}",)
            )
            checked = list(same or {})
            row = conn.execute(
                sql.SQL("SELECT {} FROM {} WHERE {} = %s").format(
                    sql.SQL(", ").join(
                        sql.Identifier(c) for c in (returning, "body_sha256", *checked)
                    ),
                    sql.Identifier(table),
                    sql.Identifier(key_column),
                ),
                (key,),
            ).fetchone()
            if row is not None:
                stored_same = all(row[2 + i] == (same or {})[c] for i, c in enumerate(checked))
                if row[1] != digest or not stored_same:
                    raise KeyReused(conflict)
                return row[0], False
        columns = dict(values() if callable(values) else values)
        columns["body_sha256"] = digest
        if key is not None:
            columns[key_column] = key
        return _insert(conn, table, columns, returning), True
