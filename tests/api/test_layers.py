"""The first service's endpoints over FastAPI, on the session's PostGIS with the demo data."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box, shape

from api.app_paths import static_prefix
from geo.db.accounts import add_user
from geo.geometry import DEFAULT_TIME_ZONE

GEOJSON = "application/geo+json"


def test_healthz_reports_the_database(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert int(body["schema_version"]) >= 2


def test_areas_are_a_feature_collection_of_real_districts(client: TestClient) -> None:
    r = client.get("/api/v1/areas")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(GEOJSON)
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    slugs = {f["properties"]["slug"] for f in fc["features"]}
    assert len(slugs) == 23 and {"solberga", "alvsjo", "satra", "varberg"} <= slugs
    solberga = next(f for f in fc["features"] if f["id"] == "solberga")
    assert solberga["properties"]["name"] == "Solberga"
    assert solberga["properties"]["metric_crs"] == "EPSG:3006"
    assert solberga["properties"]["time_zone"] == DEFAULT_TIME_ZONE == "Europe/Stockholm"
    geom = shape(solberga["geometry"])
    assert geom.is_valid and geom.geom_type == "MultiPolygon"
    # GeoJSON order is lon, lat: Solberga lies near 18.0 E, 59.28 N.
    minx, miny, maxx, maxy = geom.bounds
    assert 17.9 < minx < maxx < 18.1 and 59.2 < miny < maxy < 59.4


def test_bbox_filters_areas(client: TestClient) -> None:
    # A small box around Älvsjö station meets Solberga and perhaps a neighbour, not all 21.
    r = client.get("/api/v1/areas", params={"bbox": "18.009,59.278,18.011,59.279"})
    assert r.status_code == 200
    features = r.json()["features"]
    slugs = {f["id"] for f in features}
    assert "solberga" in slugs and len(slugs) < 4
    query = box(18.009, 59.278, 18.011, 59.279)
    assert all(shape(f["geometry"]).intersects(query) for f in features)


def test_one_area_and_unknown_area(client: TestClient) -> None:
    r = client.get("/api/v1/areas/alvsjo")
    assert r.status_code == 200
    assert r.json()["type"] == "Feature"
    assert r.json()["properties"]["name"] == "Älvsjö"
    r = client.get("/api/v1/areas/atlantis")
    assert r.status_code == 404
    assert "atlantis" in r.json()["detail"]


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "a,b,c,d", "18.06,59.26,17.97,59.30", "17.97,95,18.06,96", ""]
)
@pytest.mark.parametrize("path", ["/api/v1/areas", "/api/v1/zones", "/api/v1/places"])
def test_malformed_bbox_is_422_naming_the_parameter(
    client: TestClient, path: str, bbox: str
) -> None:
    r = client.get(path, params={"bbox": bbox})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["query", "bbox"]
    assert "minlon,minlat,maxlon,maxlat" in detail["msg"]


def test_zones_are_illustrative_and_filter_by_area(client: TestClient) -> None:
    fc = client.get("/api/v1/zones").json()
    assert len(fc["features"]) == 3
    assert all(f["properties"]["illustrative"] for f in fc["features"])
    solberga = client.get("/api/v1/zones", params={"area": "solberga"}).json()["features"]
    assert {f["id"] for f in solberga} == {"alvsjo-station-centrum", "solbergaskolan"}
    assert client.get("/api/v1/zones", params={"area": "atlantis"}).status_code == 404


def test_places_filter_by_kind_area_and_bbox(client: TestClient) -> None:
    stations = client.get("/api/v1/places", params={"kind": "station"}).json()["features"]
    assert [f["properties"]["name"] for f in stations] == ["Älvsjö station"]
    lon, lat = stations[0]["geometry"]["coordinates"]
    assert (round(lon, 4), round(lat, 4)) == (18.0105, 59.2785)
    both = client.get("/api/v1/places", params=[("kind", "station"), ("kind", "library")]).json()
    assert {f["properties"]["kind"] for f in both["features"]} == {"station", "library"}
    in_solberga = client.get("/api/v1/places", params={"area": "solberga"}).json()["features"]
    assert in_solberga and all(f["properties"]["area"] == "solberga" for f in in_solberga)
    near = client.get("/api/v1/places", params={"bbox": "18.005,59.276,18.012,59.281"}).json()
    names = {f["properties"]["name"] for f in near["features"]}
    assert "Älvsjö station" in names and "Älvsjö bibliotek" in names
    everything = client.get("/api/v1/places").json()["features"]
    assert len(near["features"]) < len(everything)


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {
        "/healthz",
        "/api/v1/areas",
        "/api/v1/areas/{slug}",
        "/api/v1/zones",
        "/api/v1/places",
    } <= set(spec["paths"])


def test_map_page_is_swedish_and_loads_scripts_only_from_the_app(
    client: TestClient, conn: psycopg.Connection
) -> None:
    add_user(
        conn, "layers@example.org", "correct horse battery", role="partner", organisation="Polisen"
    )
    client.post(
        "/login", data={"username": "layers@example.org", "password": "correct horse battery"}
    )
    r = client.get("/")
    assert r.status_code == 200
    page = r.text
    assert '<html lang="sv">' in page
    assert f"{static_prefix()}/vendor/leaflet/leaflet.js" in page
    assert "Solberga" in page and "Platssamverkanszoner" in page
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "unpkg"):
        assert cdn not in page
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
