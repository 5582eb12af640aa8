"""Light on a phone (issue 14): text answers compressed, the rarely-changing layers revalidated
with ETags, personal data still no-store, the street network as a layer. Over FastAPI on the
session's PostGIS."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app_paths import static_prefix, static_url
from routes.network_io import import_osm
from tests.api.test_deviations import feature
from tests.api.test_walk_routes import OSM

GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture()
def network(conn: psycopg.Connection) -> None:
    """The Långbro street extract, imported inside the test's transaction."""
    import_osm(conn, OSM)


@pytest.mark.parametrize(
    "path", ["/api/v1/areas", "/api/v1/zones", "/api/v1/places", "/api/v1/streets?area=solberga"]
)
def test_layers_are_compressed_and_revalidated(
    client: TestClient, network: None, path: str
) -> None:
    r = client.get(path, headers=GZIP)
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "no-cache"
    etag = r.headers["etag"]
    again = client.get(path, headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


def test_the_street_network_is_a_layer(client: TestClient, network: None) -> None:
    fc = client.get("/api/v1/streets", params={"area": "solberga"}).json()
    assert len(fc["features"]) == 1
    geometry = fc["features"][0]["geometry"]
    assert geometry["type"] == "MultiLineString" and len(geometry["coordinates"]) > 10
    lon, lat = geometry["coordinates"][0][0]
    assert 17.9 < lon < 18.1 and 59.2 < lat < 59.35
    assert client.get("/api/v1/streets", params={"area": "nowhere"}).status_code == 404


def test_personal_lists_stay_no_store_and_keep_their_etag_when_compressed(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    walker = {**signed_in("walker"), **GZIP}
    r = client.get("/api/v1/deviations", params={"area": "solberga"}, headers=walker)
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "no-store"
    again = client.get(
        "/api/v1/deviations",
        params={"area": "solberga"},
        headers={**walker, "If-None-Match": r.headers["etag"]},
    )
    assert again.status_code == 304


def test_the_page_is_compressed(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    r = client.get("/static/situation.js", headers=GZIP)
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers.get("content-length", len(r.content))) > 0


def test_versioned_static_files_are_kept_for_a_year(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    page = client.get("/", headers=signed_in("walker")).text
    script = static_url("situation.js")
    assert f'src="{script}"' in page
    r = client.get(script, headers=GZIP)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    # The plain path is revalidated; an old version is not served under the new one's promise.
    assert client.get("/static/situation.js").headers["cache-control"] == "no-cache"
    assert client.get("/static/v/000000000000/situation.js").status_code == 404
    # The service worker keeps this version's files.
    worker = client.get("/sw.js").text
    assert f'var STATIC = "{static_prefix()}";' in worker and "__STATIC__" not in worker


def test_the_situation_page_carries_its_first_list_as_data(
    client: TestClient, signed_in: Callable[[str], dict[str, str]]
) -> None:
    walker = signed_in("walker")
    hostile = "</script><script>alert(1)</script> & <b>"
    report = feature(description=hostile)
    assert client.post("/api/v1/deviations", json=report, headers=walker).status_code == 201
    r = client.get("/", headers=walker)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"  # it carries reports: personal
    page = r.text
    config = json.loads(re.search(r'id="nv-config">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    first = config["first_list"]
    block = re.search(
        r'<script type="application/json" id="nv-deviations">(.*?)</script>', page, re.S
    )
    assert block is not None
    # A data block, never code: no text of a report can end it.
    assert "</script><script>" not in block.group(1) and "<b>" not in block.group(1)
    data = json.loads(block.group(1))
    described = [f for f in data["features"] if f["properties"]["id"] == report["properties"]["id"]]
    assert [f["properties"]["description"] for f in described] == [hostile]
    # The same answer as the list's own URL, and the page's ETag is that answer's: the page's
    # first poll is a 304.
    listed = client.get(first["url"], headers=walker)
    assert listed.status_code == 200
    assert listed.json()["numberMatched"] == data["numberMatched"] > 0
    assert listed.headers["etag"] == first["etag"]
    again = client.get(first["url"], headers={**walker, "If-None-Match": first["etag"]})
    assert again.status_code == 304
    # The worker keeps the tiles of the settings' base map.
    assert '"https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in client.get("/sw.js").text
