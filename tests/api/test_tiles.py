"""Vector tiles (Mapbox Vector Tile, ST_AsMVT) of the deviation and street layers: decoded with
mapbox-vector-tile, with the viewer rules of the feature service."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import mapbox_vector_tile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.routers.tiles import tile_bbox
from routes.network_io import import_osm
from tests.api import test_ogc_features as ogc
from tests.api.test_ogc_features import CANARY, QUIET, STATION
from tests.conftest import DATA_DIR

seeded = ogc.seeded  # the same eleven reports in a quiet period (a fixture)

Headers = Callable[[str], dict[str, str]]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def decode(content: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(content) if content else {}


def get(client: TestClient, layer: str, tile: tuple[int, int, int], headers=None, **params):  # type: ignore[no-untyped-def]
    z, x, y = tile
    return client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params=params, headers=headers or {})


def test_tile_bbox_holds_the_point_it_was_made_for() -> None:
    box = tile_bbox(*tile_of(*STATION, 15))
    assert box.minlon <= STATION[0] <= box.maxlon and box.minlat <= STATION[1] <= box.maxlat
    assert box.maxlon - box.minlon == pytest.approx(360 / 2**15)


def test_deviation_tiles_carry_the_reports_of_the_period_and_nothing_personal(
    client: TestClient, signed_in: Headers, seeded: list[uuid.UUID]
) -> None:
    h = signed_in("planner")
    wide = get(client, "deviations", tile_of(*STATION, 15), h, datetime=QUIET)
    assert wide.status_code == 200
    assert wide.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert wide.headers["cache-control"] == "private, max-age=60"
    layer = decode(wide.content)["deviations"]
    assert layer["extent"] == 4096
    ids = {f["properties"]["id"] for f in layer["features"]}
    assert ids == {str(i) for i in seeded[:9]}  # the nine by the station
    props = layer["features"][0]["properties"]
    assert props["category"] == "narkotika" and props["severity"] == 2
    assert props["observed_at"].startswith("2021-")
    assert CANARY.encode() not in wide.content and b"ogc-reporter" not in wide.content
    assert set(props) == {
        "id",
        "category",
        "category_sv",
        "colour",
        "observed_at",
        "severity",
        "status",
        "synthetic",
        "count",
    }
    # Below zoom 15: groups of nearby reports of a category with their count (all eleven).
    groups = decode(get(client, "deviations", tile_of(*STATION, 11), h, datetime=QUIET).content)
    features = groups["deviations"]["features"]
    assert sum(f["properties"]["count"] for f in features) == 11
    assert len(features) < 11 and max(f["properties"]["count"] for f in features) >= 2
    assert all("id" not in f["properties"] for f in features)
    assert {f["properties"]["observed_latest"][:4] for f in features} == {"2021"}
    # Without datetime: the last 90 days (the demo's recent reports, not the 2021 ones).
    recent = decode(get(client, "deviations", tile_of(*STATION, 16), h).content)
    recent_ids = {f["properties"]["id"] for f in recent["deviations"]["features"]}
    assert recent_ids and not recent_ids & ids


def test_partners_get_the_count_tiles_only(
    client: TestClient, auth: Headers, seeded: list[uuid.UUID]
) -> None:
    h = auth("partner")
    tile = tile_of(*STATION, 13)
    assert get(client, "deviations", tile, h).status_code == 404
    r = get(client, "deviation-cells", tile, h, datetime=QUIET)
    assert r.status_code == 200, r.text
    cells = decode(r.content)["deviation-cells"]["features"]
    # Issue 16: the wide layout, one feature per cell (or zone) with a count per category.
    counts = [v for f in cells for k, v in f["properties"].items() if k.startswith("antal_")]
    assert cells and min(counts) >= 3  # no count under 3, the total included
    assert sum(f["properties"]["antal_totalt"] for f in cells) == 9
    assert sum(f["properties"].get("antal_narkotika", 0) for f in cells) == 9
    assert len({f["properties"]["ruta"] for f in cells}) == len(cells)
    assert {f["geometry"]["type"] for f in cells} == {"Polygon"}
    zones = decode(get(client, "deviation-zones", tile, h, datetime=QUIET).content)
    features = zones["deviation-zones"]["features"]
    assert sum(f["properties"]["antal_totalt"] for f in features) == 9
    assert len({f["properties"]["zon"] for f in features}) == len(features)
    assert {"category", "count"}.isdisjoint(features[0]["properties"])
    fields = client.get("/tiles/deviation-zones.json", headers=h).json()["vector_layers"][0]
    assert {"zon", "zon_namn", "antal_narkotika", "antal_totalt"} <= set(fields["fields"])
    assert list(fields["fields"])[-1] == "antal_totalt"
    assert str(seeded[0]).encode() not in r.content
    # Walkers read single reports, not the partner counts.
    assert get(client, "deviation-cells", tile, auth("walker")).status_code == 404
    assert get(client, "deviations", tile).status_code == 401


def test_street_tiles_are_public_and_name_the_streets(
    client: TestClient, conn: psycopg.Connection
) -> None:
    import_osm(conn, DATA_DIR / "osm_langbro_solberga_west_2020.osm")
    r = get(client, "streets", tile_of(17.995, 59.285, 14))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=86400"
    streets = decode(r.content)["streets"]["features"]
    assert len(streets) > 50
    assert {f["geometry"]["type"] for f in streets} <= {"LineString", "MultiLineString"}
    assert {"highway", "length_m"} <= set(streets[0]["properties"])
    assert any(f["properties"].get("name") for f in streets)
    far = get(client, "streets", tile_of(12.0, 57.7, 14))  # Gothenburg: nothing imported
    assert far.status_code == 200 and decode(far.content) == {}


def test_tilejson_describes_the_layer(client: TestClient, signed_in: Headers) -> None:
    r = client.get("/tiles/deviations.json", headers=signed_in("walker"))
    assert r.status_code == 200
    doc = r.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://testserver/tiles/deviations/{z}/{x}/{y}.mvt"]
    assert doc["vector_layers"][0]["id"] == "deviations"
    assert "severity" in doc["vector_layers"][0]["fields"]
    minlon, minlat, maxlon, maxlat = doc["bounds"]
    assert minlon < STATION[0] < maxlon and minlat < STATION[1] < maxlat
    assert client.get("/tiles/deviations.json", headers=signed_in("partner")).status_code == 404
    assert client.get("/tiles/streets.json").status_code == 200


def test_tiles_outside_the_grid_or_with_unknown_parameters_are_refused(
    client: TestClient, signed_in: Headers
) -> None:
    h = signed_in("planner")
    assert get(client, "deviations", (3, 8, 0), h).status_code == 404
    assert get(client, "deviations", (23, 0, 0), h).status_code == 422
    assert get(client, "deviations", (3, 1, 1), h, colour="red").status_code == 400
    assert get(client, "deviations", (3, 1, 1), h, datetime="soon").status_code == 400
    assert get(client, "streets", (3, 1, 1), datetime=QUIET).status_code == 400
    assert get(client, "nothing", (3, 1, 1), h).status_code == 404


def test_tiles_have_an_etag_answer_304_and_change_with_a_report(
    client: TestClient,
    conn: psycopg.Connection,
    signed_in: Headers,
    auth: Headers,
    seeded: list[uuid.UUID],
) -> None:
    """Issue 16: a low-zoom tile (a whole city in one) is made once: its ETag answers 304, and
    the same tile for another viewer of the same kind comes from the cache; a new report in
    the tile's areas makes a new tile and tag."""
    h = signed_in("planner")
    tile = tile_of(*STATION, 9)
    first = get(client, "deviations", tile, h, datetime=QUIET)
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert first.headers["cache-control"] == "private, max-age=60"
    again = get(client, "deviations", tile, {**h, "If-None-Match": etag}, datetime=QUIET)
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = signed_in("admin")
    assert get(client, "deviations", tile, other, datetime=QUIET).headers["etag"] != etag
    # Another period is another tile.
    assert get(client, "deviations", tile, h).headers["etag"] != etag
    # The partners' count tiles have their own tags, never a planner's.
    partner = auth("partner")
    cells = get(client, "deviation-cells", tile, partner, datetime=QUIET)
    assert cells.status_code == 200 and cells.headers["etag"] not in (etag, None)
    assert (
        get(
            client, "deviation-cells", tile, {**partner, "If-None-Match": etag}, datetime=QUIET
        ).status_code
        == 200
    )

    conn.execute(
        "INSERT INTO deviations (id, category, observed_at, severity, area_id, geom) "
        "VALUES (%s, 'brand', '2021-01-16 22:00+01', 1, "
        "(SELECT id FROM areas WHERE slug = 'solberga'), ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (uuid.uuid4(), *STATION),
    )
    changed = get(client, "deviations", tile, {**h, "If-None-Match": etag}, datetime=QUIET)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    counts = [f["properties"]["count"] for f in decode(changed.content)["deviations"]["features"]]
    assert sum(counts) == 12
    # Streets are public and change only with an import: no tag needed.
    assert "etag" not in get(client, "streets", tile).headers
