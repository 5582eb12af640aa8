"""Binary COPY of street edges and nodes: rows laid out by numpy, no Python per row.

PostgreSQL's binary COPY ("COPY", File Formats) carries each row as its field count and, per
field, its length and bytes; geometries go as EWKB (PostGIS reads a geometry's binary form as
EWKB). `geo.db.streets` writes imports with these, into its staging tables or, for a bulk load,
straight into the street tables or the new tables `geo.db.street_swap` swaps in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

if TYPE_CHECKING:
    from geo.db.streets import EdgeColumns


def copy_edge_rows(
    cur: psycopg.Cursor[Any], edges: EdgeColumns, *, table: str, n_pieces: bool, freeze: bool
) -> None:
    """COPY the edges into ``table`` (with each way's number of pieces for the staging table):
    binary COPY whose rows are laid out by numpy (no Python per row) while a thread sends the
    rows before, geometries as EWKB (PostGIS reads a geometry's binary form as EWKB). ``freeze``:
    the rows are written frozen (`_copy_options`)."""
    n = len(edges)
    fixed: list[tuple[str, NDArray[Any], str]] = [
        ("osm_way_id", edges.osm_way_id, ">i8"),
        ("seq", edges.seq, ">i4"),
    ]
    if n_pieces:
        # Each way's number of pieces: the highest seq + 1 among its edges.
        ways, inverse = np.unique(edges.osm_way_id, return_inverse=True)
        most = np.zeros(len(ways), dtype=np.int64)
        np.maximum.at(most, inverse, edges.seq + 1)
        fixed.append(("n_pieces", most[inverse], ">i4"))
    fixed += [
        ("source", edges.source, ">i8"),
        ("target", edges.target, ">i8"),
        ("length_m", edges.length_m, ">f8"),
    ]
    # Texts once per distinct label; a name of blanks only is no name.
    highway_bytes = [v.encode() for v in edges.labels]
    name_bytes = [v.strip().encode() for v in edges.labels]
    highways, names = _Labels.of(highway_bytes), _Labels.of(name_bytes)
    name_null = np.array([not b for b in name_bytes] + [True])  # code -1: the last entry
    name_code = np.where(name_null[edges.name_code], -1, edges.name_code)
    sizes = np.diff(edges.offsets)
    columns = [c for c, _, _ in fixed] + ["highway", "name", "geom"]
    with cur.copy(
        sql.SQL("COPY {} ({}) FROM STDIN {}").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            _copy_options(freeze),
        ),
        writer=QueuedLibpqWriter(cur),
    ) as copy:
        copy.write(_COPY_SIGNATURE)
        for lo in range(0, n, _COPY_CHUNK):
            hi = min(n, lo + _COPY_CHUNK)
            head = np.empty(
                hi - lo,
                dtype=[("nfields", ">i2")]
                + [f for c, _, t in fixed for f in ((f"{c}_len", ">i4"), (c, t))],
            )
            head["nfields"] = len(columns)
            for c, values, t in fixed:
                head[f"{c}_len"] = np.dtype(t).itemsize
                head[c] = values[lo:hi]
            ewkb = _ewkb_line_heads(sizes[lo:hi])
            first = int(edges.offsets[lo])
            line_xy = edges.coords[first : int(edges.offsets[hi])]
            copy.write(
                _binary_rows(
                    hi - lo,
                    [
                        _Fixed(head),
                        _Text(highways, edges.highway_code[lo:hi]),
                        _Text(names, name_code[lo:hi]),
                        _Fixed(ewkb),
                        _Slices(line_xy, edges.offsets[lo : hi + 1] - first),
                    ],
                )
            )
        copy.write(_COPY_TRAILER)


def copy_node_rows(
    cur: psycopg.Cursor[Any], edges: EdgeColumns, *, table: str, freeze: bool
) -> int:
    """COPY the edges' end nodes into ``table``, once each (the last position written for a node
    id wins). The number of nodes copied."""
    firsts, lasts = edges.offsets[:-1], edges.offsets[1:] - 1
    node_ids = np.stack([edges.source, edges.target], axis=1).ravel()
    node_xy = np.stack([edges.coords[firsts], edges.coords[lasts]], axis=1).reshape(-1, 2)
    rev_ids, rev_first = np.unique(node_ids[::-1], return_index=True)
    xy = node_xy[::-1][rev_first]
    rows = np.empty(
        len(rev_ids),
        dtype=[
            ("nfields", ">i2"),
            ("id_len", ">i4"),
            ("id", ">i8"),
            ("geom_len", ">i4"),
            ("order", "u1"),
            ("type", "<u4"),
            ("srid", "<u4"),
            ("x", "<f8"),
            ("y", "<f8"),
        ],
    )
    rows["nfields"], rows["id_len"], rows["id"] = 2, 8, rev_ids
    rows["geom_len"], rows["order"], rows["type"] = 25, 1, _EWKB_SRID | 1
    rows["srid"], rows["x"], rows["y"] = 4326, xy[:, 0], xy[:, 1]
    with cur.copy(
        sql.SQL("COPY {} (id, geom) FROM STDIN {}").format(
            sql.Identifier(table), _copy_options(freeze)
        ),
        writer=QueuedLibpqWriter(cur),
    ) as copy:
        copy.write(_COPY_SIGNATURE)
        for lo in range(0, len(rows), _COPY_CHUNK):
            copy.write(rows[lo : lo + _COPY_CHUNK].tobytes())
        copy.write(_COPY_TRAILER)
    return len(rev_ids)


def _copy_options(freeze: bool) -> sql.SQL:
    """Binary COPY; into a table made or emptied in this transaction (the bulk load's TRUNCATE,
    a new table) the rows may be written frozen: no hint bits for the first reads to set (and
    write back) and no vacuum to freeze them later."""
    return sql.SQL("(FORMAT BINARY, FREEZE)" if freeze else "(FORMAT BINARY)")


# PostgreSQL's binary COPY framing ("COPY", File Formats): the signature with no flags and no
# header extension, then per row the field count and per field its length (-1: NULL) and bytes,
# all big-endian; a field count of -1 ends the data.
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"
_COPY_CHUNK = 50_000
# An EWKB geometry type with an SRID (PostGIS's extension of WKB's type number).
_EWKB_SRID = 0x20000000


def _ewkb_line_heads(npoints: NDArray[np.int64]) -> NDArray[Any]:
    """Per LineString of ``npoints`` points: its COPY field length and the EWKB head (byte order
    little-endian, type, SRID 4326, point count) that its coordinates follow."""
    head = np.empty(
        len(npoints),
        dtype=[("len", ">i4"), ("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("n", "<u4")],
    )
    head["len"] = 13 + 16 * npoints
    head["order"], head["type"], head["srid"], head["n"] = 1, _EWKB_SRID | 2, 4326, npoints
    return head


@dataclass(frozen=True)
class _Fixed:
    """Bytes of the same size per row: a row's record of a structured array."""

    records: NDArray[Any]


@dataclass(frozen=True)
class _Labels:
    """The values of a text field, each its 4-byte COPY length and UTF-8 bytes side by side,
    with a NULL (length -1) last, for code -1."""

    data: NDArray[np.uint8]
    at: NDArray[np.int64]
    size: NDArray[np.int64]

    @classmethod
    def of(cls, texts: Sequence[bytes]) -> _Labels:
        sizes = np.array([len(b) for b in texts] + [0], dtype=np.int64)
        blob = b"".join(len(b).to_bytes(4, "big") + b for b in texts) + b"\xff\xff\xff\xff"
        size = sizes + 4
        return cls(np.frombuffer(blob, dtype=np.uint8), np.cumsum(size) - size, size)


@dataclass(frozen=True)
class _Text:
    """A text field: row ``i`` is label ``codes[i]`` (NULL for -1)."""

    labels: _Labels
    codes: NDArray[np.int32]


@dataclass(frozen=True)
class _Slices:
    """Row ``i``'s bytes are the rows ``bounds[i]:bounds[i + 1]`` of a C-contiguous array."""

    array: NDArray[Any]
    bounds: NDArray[np.int64]


def _binary_rows(n: int, parts: Sequence[_Fixed | _Text | _Slices]) -> bytes:
    """``n`` rows of binary COPY data, each the concatenation of its bytes of each part, made
    with one gather over the parts' bytes side by side."""
    sources: list[NDArray[np.uint8]] = []
    starts, lengths = np.empty((n, 0), dtype=np.int64), np.empty((n, 0), dtype=np.int64)
    base = 0
    for part in parts:
        if isinstance(part, _Fixed):
            width = part.records.dtype.itemsize
            data = part.records.view(np.uint8).reshape(-1)
            at, size = np.arange(n, dtype=np.int64) * width, np.full(n, width, dtype=np.int64)
        elif isinstance(part, _Text):
            data = part.labels.data
            at, size = part.labels.at[part.codes], part.labels.size[part.codes]
        else:
            width = part.array.dtype.itemsize * int(np.prod(part.array.shape[1:]))
            data = np.ascontiguousarray(part.array).view(np.uint8).reshape(-1)
            at, size = part.bounds[:-1] * width, np.diff(part.bounds) * width
        starts = np.column_stack([starts, at + base])
        lengths = np.column_stack([lengths, size])
        sources.append(data)
        base += len(data)
    source = np.concatenate(sources)
    seg_len = lengths.reshape(-1)
    out_at = np.cumsum(seg_len) - seg_len
    index = np.arange(int(seg_len.sum()), dtype=np.int64)
    index += np.repeat(starts.reshape(-1) - out_at, seg_len)
    return source[index].tobytes()
