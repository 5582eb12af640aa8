"""OGC API – Features at /ogc: the requirements of Part 1 (Core, GeoJSON) as the standard states
them, Part 2's CRS by reference for EPSG:3006, the capability rules per role, and OWSLib's
client against the live server.

The requirement each test checks is named in its docstring (``/req/core/…``,
``/req/geojson/…``, ``/req/crs/…``: OGC 17-069r4 and 18-058r1).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer
from shapely.geometry import shape

from geo.db import connection
from geo.db.accounts import add_user

PASSWORD = "correct horse battery"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
STATION = (18.0104, 59.2786)  # Älvsjö station, in the zone "Älvsjö station/centrum"
CANARY = "Kanarie Karlsson 070-765 43 21"
QUIET = "2021-01-01T00:00:00Z/2021-03-01T00:00:00Z"  # no demo report lies in it
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
CRS_CONF = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG3006 = "http://www.opengis.net/def/crs/EPSG/0/3006"
ALL = {
    "areas",
    "zones",
    "places",
    "walk-routes",
    "walks",
    "deviations",
    "deviation-cells",
    "deviation-zones",
    "hotspots",
    "heat-isopleths",
}
PUBLIC = {"areas", "zones", "places"}


@pytest.fixture()
def seeded(conn: psycopg.Connection) -> list[uuid.UUID]:
    """In a quiet period: 9 reports by the station on one Friday night (with a description) and
    2 lone ones elsewhere, by a walker of Älvsjö AIK."""
    reporter = add_user(
        conn, "ogc-reporter@example.org", PASSWORD, role="walker", organisation="Älvsjö AIK"
    )
    rng = np.random.default_rng(16)
    rows = [(datetime(2021, 1, 15, 22, i, tzinfo=STOCKHOLM), None) for i in range(9)]
    rows += [
        (datetime(2021, 2, 2, 21, 0, tzinfo=STOCKHOLM), (17.995, 59.285)),
        (datetime(2021, 2, 9, 21, 0, tzinfo=STOCKHOLM), (18.000, 59.290)),
    ]
    ids = []
    for at, where in rows:
        lon, lat = where or (
            STATION[0] + rng.normal(0, 1.5e-4),
            STATION[1] + rng.normal(0, 0.8e-4),
        )
        ids.append(uuid.uuid4())
        conn.execute(
            "INSERT INTO deviations (id, category, observed_at, severity, description, "
            "reporter_id, organisation_id, area_id, geom) VALUES (%s, 'narkotika', %s, 2, %s, "
            "%s, %s, (SELECT id FROM areas WHERE slug = 'solberga'), "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (ids[-1], at, CANARY, reporter.id, reporter.organisation_id, lon, lat),
        )
    return ids


Headers = Callable[[str], dict[str, str]]


def items(client: TestClient, cid: str, headers: dict[str, str] | None = None, **params: object):  # type: ignore[no-untyped-def]
    return client.get(f"/ogc/collections/{cid}/items", params=params, headers=headers or {})


# -- Part 1, Core ----------------------------------------------------------------------------------


def test_landing_page_links_to_the_api_definition_conformance_and_data(client: TestClient) -> None:
    """/req/core/root-op, /req/core/root-success: 200 with links service-desc (or
    service-doc), conformance and data; the service-desc is the OpenAPI document."""
    r = client.get("/ogc")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    links = {link["rel"]: link for link in r.json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["data"]["href"].endswith("/ogc/collections")
    assert links["conformance"]["href"].endswith("/ogc/conformance")
    api = client.get(urlsplit(links["service-desc"]["href"]).path)
    assert api.status_code == 200
    assert "/ogc/collections/{collection_id}/items" in api.json()["paths"]


def test_conformance_declares_core_geojson_and_crs(client: TestClient) -> None:
    """/req/core/conformance-op, /req/core/conformance-success."""
    r = client.get("/ogc/conformance")
    assert r.status_code == 200
    assert {CORE, GEOJSON_CONF, CRS_CONF} <= set(r.json()["conformsTo"])


def test_collections_describe_each_collection_with_items_link_extent_and_crs(
    client: TestClient, signed_in: Headers
) -> None:
    """/req/core/fc-md-op, /req/core/fc-md-success, /req/core/fc-md-links,
    /req/core/fc-md-items, /req/core/sfc-md-op, /req/core/sfc-md-success; Part 2's
    /req/crs/fc-md-crs-list and storageCrs."""
    r = client.get("/ogc/collections", headers=signed_in("planner"))
    assert r.status_code == 200
    doc = r.json()
    assert any(link["rel"] == "self" for link in doc["links"])
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == ALL
    for cid, c in by_id.items():
        rels = {link["rel"]: link for link in c["links"]}
        assert rels["items"]["type"] == "application/geo+json"
        assert rels["items"]["href"].endswith(f"/ogc/collections/{cid}/items")
        assert c["itemType"] == "feature"
        assert c["crs"][0] == CRS84 and EPSG3006 in c["crs"]
        assert c["storageCrs"] == CRS84
        minlon, minlat, maxlon, maxlat = c["extent"]["spatial"]["bbox"][0]
        assert 17.8 < minlon < STATION[0] < maxlon < 18.2 and minlat < STATION[1] < maxlat
        one = client.get(f"/ogc/collections/{cid}", headers=signed_in("planner"))
        assert one.status_code == 200 and one.json()["id"] == cid
    assert "temporal" in by_id["deviations"]["extent"]


def test_items_are_a_geojson_feature_collection_with_counts_links_and_time_stamp(
    client: TestClient,
) -> None:
    """/req/core/fc-op, /req/core/fc-response, /req/core/fc-links, /req/core/fc-rel-type,
    /req/core/fc-timeStamp, /req/core/fc-numberMatched, /req/core/fc-numberReturned;
    /req/geojson/content and /req/geojson/definition (application/geo+json)."""
    r = items(client, "places", limit=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["numberReturned"] == len(fc["features"]) == 10
    assert fc["numberMatched"] == 286
    assert datetime.fromisoformat(fc["timeStamp"]).tzinfo is not None
    rels = {link["rel"]: link for link in fc["links"]}
    assert rels["self"]["type"] == "application/geo+json"
    assert "limit=10" in rels["self"]["href"]
    assert "next" in rels and "prev" not in rels
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["id"] is not None
        assert f["geometry"]["type"] == "Point" and isinstance(f["properties"], dict)


def test_limit_offset_and_next_links_walk_through_every_feature_once(client: TestClient) -> None:
    """/req/core/fc-limit-response-1 (no more than limit), /req/core/fc-next-1 (a next link
    while there is more); a limit over the maximum is taken as the maximum, not an error
    (permission /per/core/fc-limit-response-1)."""
    seen: list[object] = []
    url: str | None = "/ogc/collections/places/items?limit=100"
    pages = 0
    while url:
        fc = client.get(url).json()
        assert fc["numberReturned"] <= 100
        seen += [f["id"] for f in fc["features"]]
        nxt = [link for link in fc["links"] if link["rel"] == "next"]
        url = urlsplit(nxt[0]["href"])._replace(scheme="", netloc="").geturl() if nxt else None
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 286
    big = items(client, "places", limit=100000)
    assert big.status_code == 200 and big.json()["numberReturned"] == 286
    prev = items(client, "places", limit=100, offset=100).json()
    back = [link["href"] for link in prev["links"] if link["rel"] == "prev"]
    assert parse_qs(urlsplit(back[0]).query)["offset"] == ["0"]


def test_bbox_keeps_the_features_that_meet_it(client: TestClient) -> None:
    """/req/core/fc-bbox-definition, /req/core/fc-bbox-response: only features whose geometry
    intersects the box."""
    box = (18.005, 59.275, 18.015, 59.282)
    fc = items(client, "places", limit=1000, bbox=",".join(map(str, box))).json()
    everything = items(client, "places", limit=1000).json()
    inside = [
        f for f in everything["features"] if shape(f["geometry"]).intersects(shapely.box(*box))
    ]
    assert 0 < fc["numberMatched"] == len(inside) < everything["numberMatched"]
    assert {f["id"] for f in fc["features"]} == {f["id"] for f in inside}


def test_datetime_instants_intervals_and_open_ends(
    client: TestClient, signed_in: Headers, seeded: list[uuid.UUID]
) -> None:
    """/req/core/fc-time-definition, /req/core/fc-time-response: an interval, half-bounded
    intervals (``..``), an instant."""
    h = signed_in("planner")
    quiet = items(client, "deviations", h, datetime=QUIET, limit=100).json()
    assert quiet["numberMatched"] == 11
    assert {f["id"] for f in quiet["features"]} == {str(i) for i in seeded}
    # One Friday night: the nine by the station.
    night = items(
        client, "deviations", h, datetime="2021-01-15T20:00:00Z/2021-01-15T23:59:59Z"
    ).json()
    assert night["numberMatched"] == 9
    # Open at the start: up to the end of February 2021 there are only the seeded ones.
    assert (
        items(client, "deviations", h, datetime="../2021-03-01T00:00:00Z").json()["numberMatched"]
        == 11
    )
    # An instant: the first report's own time.
    first = datetime(2021, 1, 15, 22, 0, tzinfo=STOCKHOLM).isoformat()
    instant = items(client, "deviations", h, datetime=first).json()
    assert instant["numberMatched"] == 1 and instant["features"][0]["id"] == str(seeded[0])
    everything = items(client, "deviations", h, limit=1).json()["numberMatched"]
    after = items(client, "deviations", h, datetime="2021-03-01T00:00:00Z/..").json()
    assert after["numberMatched"] == everything - 11


def test_a_feature_by_id_and_a_404_for_an_unknown_one(
    client: TestClient, signed_in: Headers, seeded: list[uuid.UUID]
) -> None:
    """/req/core/f-op, /req/core/f-success, /req/core/f-links; a 404 for a feature or a
    collection that does not exist."""
    r = client.get("/ogc/collections/zones/items/alvsjo-station-centrum")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == "alvsjo-station-centrum"
    assert {"self", "collection"} <= {link["rel"] for link in f["links"]}
    assert client.get("/ogc/collections/zones/items/nowhere").status_code == 404
    h = signed_in("planner")
    one = client.get(f"/ogc/collections/deviations/items/{seeded[0]}", headers=h)
    assert one.status_code == 200 and one.json()["properties"]["category"] == "narkotika"
    assert (
        client.get(f"/ogc/collections/deviations/items/{uuid.uuid4()}", headers=h).status_code
        == 404
    )
    assert client.get("/ogc/collections/deviations/items/not-a-uuid", headers=h).status_code == 404
    assert client.get("/ogc/collections/nothing", headers=h).status_code == 404
    assert client.get("/ogc/collections/nothing/items", headers=h).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},
        {"bbox": "1,2,3"},
        {"bbox": "18.1,59.3,18.0,59.2"},
        {"limit": "0"},
        {"limit": "many"},
        {"offset": "-1"},
        {"datetime": "yesterday"},
        {"datetime": "2021-01-01T00:00:00"},
        {"datetime": "2021-02-01T00:00:00Z/2021-01-01T00:00:00Z"},
        {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
        {"bbox-crs": "EPSG:32633", "bbox": "1,2,3,4"},
    ],
)
def test_unknown_or_invalid_query_parameters_are_a_400(
    client: TestClient, params: dict[str, str]
) -> None:
    """/req/core/query-param-unknown, /req/core/query-param-invalid (and Part 2's
    /req/crs/fc-crs-valid-value, /req/crs/fc-bbox-crs-valid-value)."""
    r = items(client, "places", **params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "bad_query"


def test_other_formats_are_a_406_and_json_is_the_default(client: TestClient) -> None:
    """Media types: JSON and GeoJSON only; ``f=html`` or an Accept without either is a 406."""
    assert items(client, "places", f="xml").status_code == 406
    assert client.get("/ogc", params={"f": "html"}).status_code == 406
    assert client.get("/ogc", headers={"Accept": "text/xml"}).status_code == 406
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/ogc", headers={"Accept": browser}).status_code == 200
    r = items(client, "places", f="json", limit=1)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert client.get("/ogc/collections", params={"limit": "3"}).status_code == 400


OAS30 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"
ITEMS_PATH = "/ogc/collections/{collection_id}/items"
ITEM_PATH = "/ogc/collections/{collection_id}/items/{feature_id}"


def _query_parameters(doc: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    params = doc["paths"][path]["get"]["parameters"]
    return {p["name"]: p for p in params if p["in"] == "query"}


def _walk(node: object) -> list[object]:
    """Every dict and list of a JSON document."""
    out: list[object] = [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        out += _walk(child)
    return out


def test_the_service_description_is_openapi_3_0_with_part_1s_parameters(
    client: TestClient,
) -> None:
    """/req/oas30/oas-definition-1, /req/oas30/oas-impl: the conformance declares oas30, so the
    landing page's service-desc is an OpenAPI 3.0 document (of the type QGIS follows) that
    describes the items' query parameters with their schemas; /openapi.json (3.1) describes
    the same parameters."""
    assert OAS30 in client.get("/ogc/conformance").json()["conformsTo"]
    links = {link["rel"]: link for link in client.get("/ogc").json()["links"]}
    desc = links["service-desc"]
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    r = client.get(urlsplit(desc["href"]).path)
    assert r.status_code == 200
    assert r.headers["content-type"] == desc["type"]
    service = r.json()
    assert service["openapi"].startswith("3.0.")
    assert all("/ogc" in p for p in service["paths"]) and ITEMS_PATH in service["paths"]
    # Nothing of OpenAPI 3.1's dialect: no "null" type, no const, no list of types.
    for node in _walk(service):
        if isinstance(node, dict):
            assert node.get("type") != "null" and not isinstance(node.get("type"), list)
            assert "const" not in node
    assert service["components"]["parameters"]["limit"]["schema"]["maximum"] == 5000
    app_doc = client.get("/openapi.json").json()
    assert app_doc["openapi"].startswith("3.1")
    for doc in (service, app_doc):
        items_q = _query_parameters(doc, ITEMS_PATH)
        wanted = {"bbox", "bbox-crs", "datetime", "limit", "offset", "crs", "f"}
        assert wanted <= set(items_q), sorted(items_q)
        assert items_q["bbox"]["schema"]["type"] == "array"
        assert items_q["bbox"]["schema"]["minItems"] == 4
        assert (items_q["bbox"]["style"], items_q["bbox"]["explode"]) == ("form", False)
        assert items_q["limit"]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 5000,
            "default": 100,
        }
        assert items_q["offset"]["schema"]["minimum"] == 0
        assert EPSG3006 in items_q["crs"]["schema"]["enum"]
        assert items_q["bbox-crs"]["schema"]["enum"] == items_q["crs"]["schema"]["enum"]
        assert items_q["datetime"]["schema"]["type"] == "string"
        assert {"crs", "f"} <= set(_query_parameters(doc, ITEM_PATH))
    # What the definition says is what the service does: a limit of 0 is refused with a 400.
    assert items(client, "places", limit=0).status_code == 400
    assert client.get("/ogc/api", headers={"Accept": "application/vnd.oai.openapi+json"}).is_success


# -- Part 2, CRS by reference ----------------------------------------------------------------------


def test_crs_3006_gives_northing_easting_and_the_content_crs_header(client: TestClient) -> None:
    """/req/crs/fc-crs-definition, /req/crs/fc-crs-action, /req/crs/ogc-crs-header: the
    coordinates in EPSG:3006's axis order (northing, easting) and ``Content-Crs``."""
    plain = items(client, "places", limit=5)
    assert plain.headers["content-crs"] == f"<{CRS84}>"
    r = items(client, "places", limit=5, crs=EPSG3006)
    assert r.status_code == 200
    assert r.headers["content-crs"] == f"<{EPSG3006}>"
    to_3006 = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    for a, b in zip(plain.json()["features"], r.json()["features"], strict=True):
        lon, lat = a["geometry"]["coordinates"]
        north, east = b["geometry"]["coordinates"]
        e, n = to_3006.transform(lon, lat)
        assert abs(north - n) < 0.2 and abs(east - e) < 0.2
        assert 6_560_000 < north < 6_600_000 and 660_000 < east < 690_000
    one = client.get(
        "/ogc/collections/zones/items/alvsjo-station-centrum", params={"crs": EPSG3006}
    )
    assert one.headers["content-crs"] == f"<{EPSG3006}>"
    assert shapely.get_coordinates(shape(one.json()["geometry"]))[:, 0].min() > 6_500_000


def test_bbox_crs_3006_selects_as_the_same_box_in_crs84(client: TestClient) -> None:
    """/req/crs/fc-bbox-crs-definition, /req/crs/fc-bbox-crs-action: a box given in EPSG:3006
    (northing, easting order) selects what the same region selects in CRS84."""
    to_3006 = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    (e1, e2), (n1, n2) = to_3006.transform([18.005, 18.015], [59.275, 59.282])
    r = items(client, "places", limit=1000, bbox=f"{n1},{e1},{n2},{e2}", **{"bbox-crs": EPSG3006})
    assert r.status_code == 200, r.text
    ours = {f["id"] for f in r.json()["features"]}
    wide = items(client, "places", limit=1000, bbox="18.0045,59.2748,18.0155,59.2822").json()
    narrow = items(client, "places", limit=1000, bbox="18.0055,59.2752,18.0145,59.2818").json()
    assert {f["id"] for f in narrow["features"]} <= ours <= {f["id"] for f in wide["features"]}
    assert ours


def test_polygons_run_counter_clockwise_and_coordinates_have_six_decimals(
    client: TestClient, signed_in: Headers
) -> None:
    """RFC 7946 §3.1.6 (exterior rings counter-clockwise) and the one coordinate precision."""
    h = signed_in("planner")
    for cid in ("areas", "zones", "hotspots", "heat-isopleths", "deviation-zones"):
        fc = items(client, cid, h, limit=50).json()
        for f in fc["features"]:
            geom = shape(f["geometry"])
            polygons = getattr(geom, "geoms", [geom])
            assert all(p.exterior.is_ccw for p in polygons), cid
            xy = shapely.get_coordinates(geom)
            assert np.array_equal(xy, np.round(xy, 6)), cid


def test_the_api_areas_and_zones_run_counter_clockwise_too(client: TestClient) -> None:
    """RFC 7946 §3.1.6 in ``/api/v1/areas`` and ``/api/v1/zones`` (issue 16)."""
    for path in ("/api/v1/areas", "/api/v1/zones", "/api/v1/areas/solberga"):
        doc = client.get(path).json()
        for f in doc.get("features", [doc]):
            geom = shape(f["geometry"])
            assert all(p.exterior.is_ccw for p in getattr(geom, "geoms", [geom])), path
            assert all(i.is_ccw is False for p in geom.geoms for i in p.interiors), path


# -- who sees what ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("walker", PUBLIC | {"walk-routes", "deviations", "hotspots", "heat-isopleths"}),
        ("partner", PUBLIC | {"walk-routes", "deviation-cells", "deviation-zones"}),
        ("planner", ALL),
        ("admin", ALL),
    ],
)
def test_each_role_sees_its_collections_and_a_404_for_the_others(
    client: TestClient, auth: Headers, role: str, expected: set[str]
) -> None:
    """The capability rules of the API: a collection a role may not read is not listed, and
    reading it is a 404, as for one that does not exist (its existence does not leak)."""
    h = auth(role)
    listed = {c["id"] for c in client.get("/ogc/collections", headers=h).json()["collections"]}
    assert listed == expected
    for cid in ALL - expected:
        for path in (f"/ogc/collections/{cid}", f"/ogc/collections/{cid}/items"):
            r = client.get(path, headers=h)
            assert r.status_code == 404, (role, path)
            assert r.json()["detail"] == client.get("/ogc/collections/nothing", headers=h).json()[
                "detail"
            ].replace("'nothing'", f"'{cid}'")
    for cid in expected:
        assert items(client, cid, h, limit=1).status_code == 200, (role, cid)


def test_without_a_sign_in_only_the_public_layers_and_a_401_for_the_rest(
    client: TestClient,
) -> None:
    listed = {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    assert listed == PUBLIC
    for cid in ("deviations", "nothing"):
        r = items(client, cid)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_partners_get_counts_of_three_or_more_and_no_single_report(
    client: TestClient, auth: Headers, seeded: list[uuid.UUID]
) -> None:
    """DESIGN.md decision 8: the partner collections hold counts ≥ 3 per zone or cell and week,
    no report id, no description; the lone reports are left out. Issue 16: in the wide layout
    of the export's avvikelser_zon, one Feature per zone (or cell) with a count per category
    and their total, each a sum of the weeks' counts shown (as /api/v1/deviation-aggregates
    gives them for the same days)."""
    h = auth("partner")
    weekly = client.get(
        "/api/v1/deviation-aggregates",
        params={"since": "2021-01-01", "until": "2021-03-01", "area": "solberga"},
        headers=h,
    ).json()
    for cid, layer, key in (
        ("deviation-zones", "zone", "zon"),
        ("deviation-cells", "cell", "ruta"),
    ):
        r = items(client, cid, h, datetime=QUIET, area="solberga")
        assert r.status_code == 200, r.text
        fc = r.json()
        ids = [f["id"] for f in fc["features"]]
        assert ids and len(ids) == len(set(ids)) == fc["numberMatched"]  # each place once
        assert [f["properties"][key] for f in fc["features"]] == ids
        counts = []
        for f in fc["features"]:
            props = f["properties"]
            shown = {k: v for k, v in props.items() if k.startswith("antal_") and v is not None}
            assert "antal_narkotika" in props and "antal_skadegorelse" in props  # every category
            assert props["antal_totalt"] == sum(v for k, v in shown.items() if k != "antal_totalt")
            # The days of QUIET widened to whole ISO weeks (Monday–Sunday): what is counted.
            assert (props["period_fran"], props["period_till"]) == ("2020-12-28", "2021-03-07")
            assert "category" not in props and "count" not in props  # no long layout
            counts += [v for k, v in shown.items() if k != "antal_totalt"]
        # No count under 3, anywhere; the 9 station reports, the 2 lone ones left out.
        assert counts and min(counts) >= 3 and sum(counts) == 9
        expected: dict[str, int] = {}
        for g in weekly["features"]:
            p = g["properties"]
            if p["layer"] == layer:
                place = p["zone"] if layer == "zone" else p["cell"]
                expected[place] = expected.get(place, 0) + p["count"]
        assert {f["id"]: f["properties"]["antal_totalt"] for f in fc["features"]} == expected
        assert CANARY not in r.text and str(seeded[0]) not in r.text
        assert "note" not in fc  # real (not synthetic) reports in this period


def test_walkers_see_descriptions_of_their_own_organisation_only_and_never_the_reporter(
    client: TestClient, signed_in: Headers, auth: Headers, seeded: list[uuid.UUID]
) -> None:
    """The viewer rules of the single reports: a walker of the reporting club sees the
    description, a walker of another organisation does not; nobody sees who reported."""
    own = items(client, "deviations", signed_in("walker"), datetime=QUIET, limit=100)
    other = items(client, "deviations", auth("walker"), datetime=QUIET, limit=100)
    planner = items(client, "deviations", auth("planner"), datetime=QUIET, limit=100)
    assert all(f["properties"]["description"] == CANARY for f in own.json()["features"])
    assert CANARY not in other.text
    assert all("description" not in f["properties"] for f in other.json()["features"])
    assert CANARY in planner.text
    for r in (own, other, planner):
        assert "ogc-reporter@example.org" not in r.text
        assert all("reporter" not in f["properties"] for f in r.json()["features"])


def test_hotspots_tell_gone_ones_apart_and_isopleths_have_three_levels(
    client: TestClient, signed_in: Headers
) -> None:
    """The analysis collections: the last 90 days by default (the demo's recent reports)."""
    h = signed_in("planner")
    hot = items(client, "hotspots", h, limit=1000).json()
    assert hot["numberMatched"] > 0
    for f in hot["features"]:
        p = f["properties"]
        assert p["class"] != 0 or p["change"] == "gone"
    # The demo's reports are synthetic, and what is computed from them says so.
    assert hot["note"].startswith("SYNTETISKA DEMODATA")
    assert items(client, "deviations", h, limit=5).json()["note"].startswith("SYNTETISKA")
    assert "note" not in items(client, "places", h).json()
    iso = items(client, "heat-isopleths", h).json()
    assert iso["note"].startswith("SYNTETISKA DEMODATA")
    assert sorted(f["properties"]["percent"] for f in iso["features"]) == [50, 75, 90]
    one = client.get("/ogc/collections/heat-isopleths/items/50", headers=h)
    assert one.status_code == 200 and one.json()["properties"]["percent"] == 50


def test_an_instant_is_the_computed_collections_90_days_up_to_it(
    client: TestClient, signed_in: Headers
) -> None:
    """For the computed collections an instant (``datetime=T``) is the 90 days up to it (the
    default period, ending then), the same as ``T-90 days/T``; not a microsecond's window,
    which holds no report and so no isopleth or hot spot."""
    h = signed_in("planner")
    now = datetime.now(UTC).replace(microsecond=0)
    instant = now.isoformat().replace("+00:00", "Z")
    start = (now - timedelta(days=90)).isoformat().replace("+00:00", "Z")
    for cid in ("heat-isopleths", "hotspots", "deviation-zones"):
        at = items(client, cid, h, datetime=instant, limit=1000).json()
        span = items(client, cid, h, datetime=f"{start}/{instant}", limit=1000).json()
        assert at["numberMatched"] > 0, cid
        assert at["features"] == span["features"], cid
    iso = items(client, "heat-isopleths", h, datetime=instant).json()
    assert sorted(f["properties"]["percent"] for f in iso["features"]) == [50, 75, 90]
    # Before the demo's reports began, the 90 days up to an instant hold nothing.
    empty = items(client, "hotspots", h, datetime="2019-01-01T00:00:00Z").json()
    assert empty["numberMatched"] == 0


def test_walks_are_for_planners_at_their_meeting_points_without_names(
    client: TestClient, signed_in: Headers, auth: Headers
) -> None:
    """The walks collection (``schedule_walks``): each walk a Point at its meeting place with
    when, status and how many walkers, as /api/v1/walks has it, filtered by ``datetime`` on
    the planned start, and no one's name or e-mail address."""
    h = signed_in("planner")
    made = []
    for day, where in ((15, STATION), (22, (17.995, 59.285))):
        start = datetime(2021, 1, day, 21, 0, tzinfo=STOCKHOLM)
        body = {
            "id": str(uuid.uuid4()),
            "organisation": "Älvsjö AIK",
            "meeting_point": {"type": "Point", "coordinates": list(where)},
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(hours=3)).isoformat(),
            "walkers_needed": 4,
        }
        r = client.post("/api/v1/walks", json=body, headers=h)
        assert r.status_code == 201, r.text
        made.append(r.json())
    r = items(client, "walks", h, datetime=QUIET)
    assert r.status_code == 200, r.text
    fc = r.json()
    assert fc["numberMatched"] == 2
    by_id = {f["id"]: f for f in fc["features"]}
    assert set(by_id) == {w["id"] for w in made}
    for w in made:
        f = by_id[w["id"]]
        p = f["properties"]
        assert f["geometry"]["type"] == "Point"
        assert f["geometry"]["coordinates"] == pytest.approx(w["meeting_point"]["coordinates"])
        assert p["planned_start"] == w["planned_start"] and p["status"] == w["status"]
        assert (p["walkers_needed"], p["signed_up"]) == (4, 0)
        assert p["organisation"] == "Älvsjö AIK" and p["synthetic"] is False
    # One week of it: the first walk only.
    week = items(client, "walks", h, datetime="2021-01-11T00:00:00Z/2021-01-17T23:59:59Z").json()
    assert [f["id"] for f in week["features"]] == [made[0]["id"]]
    assert "@" not in r.text  # no one's e-mail address (the planner who made them)
    # Only planners and admins: walkers and partners get the 404 of a collection not theirs.
    assert items(client, "walks", signed_in("walker")).status_code == 404
    assert items(client, "walks", auth("partner")).status_code == 404


# -- a real client ---------------------------------------------------------------------------------


def test_owslib_reads_the_service_over_http_with_a_bearer_token(
    live_server: str, live_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OWSLib's OGC API – Features client (what Python scripts of analysts use) against the
    served app, with the token in a header as QGIS sends it."""
    from owslib import ogcapi
    from owslib.ogcapi.features import Features

    email = f"ogc-owslib-{uuid.uuid4().hex[:6]}@example.org"
    with connection.connect(live_db_url, autocommit=True) as c:
        add_user(c, email, PASSWORD, role="planner", organisation="Älvsjö AIK")
    token = httpx.post(
        f"{live_server}/api/v1/auth/token", data={"username": email, "password": PASSWORD}
    ).json()["access_token"]
    # OWSLib 0.35 adds the headers to its module's REQUEST_HEADERS (and sends those): a copy
    # for this test, so that the token does not stay with every later client.
    monkeypatch.setattr(ogcapi, "REQUEST_HEADERS", dict(ogcapi.REQUEST_HEADERS))
    service = Features(f"{live_server}/ogc", headers={"Authorization": f"Bearer {token}"})
    assert CORE in service.conformance()["conformsTo"]
    ids = {c["id"] for c in service.collections()["collections"]}
    assert ids == ALL
    assert service.collection("deviations")["id"] == "deviations"
    page = service.collection_items("deviations", limit=50)
    assert page["numberReturned"] == 50 and page["numberMatched"] >= 3000
    zone = service.collection_item("zones", "alvsjo-station-centrum")
    assert zone["id"] == "alvsjo-station-centrum"
    # Without the header (plain HTTP, for the reason above) only the public layers.
    anonymous = httpx.get(f"{live_server}/ogc/collections").json()
    assert {c["id"] for c in anonymous["collections"]} == PUBLIC
