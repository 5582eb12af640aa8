"""The meeting report PDF, read back with poppler's pdftotext, pdfinfo and pdftoppm."""

from __future__ import annotations

import re
import socket
import subprocess
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from PIL import Image

from geo.privacy import partner_aggregates, zone_category_counts
from maps.report import (
    CategoryZoneRow,
    HotspotChange,
    MethodNote,
    category_rows,
    meeting_report_pdf,
)
from maps.report_map import OSM_ATTRIBUTION, _nice_length_m, _true_north_deg, map_png
from maps.styles import CATEGORIES
from tests.maps import (
    CANARIES,
    PERIOD,
    area_feature,
    heat_raster,
    hotspot_feature_collection,
    isopleth_feature_collection,
    records,
    route_feature_collection,
    street_lines,
    zones,
)

METHOD = MethodNote(bandwidth_m=150, cell_m=25, hotspot_cell_m=100)


def _inputs(profile: str = "partner") -> dict[str, Any]:
    recs = records(2500)
    previous = records(2000, seed=99, period=(date(2026, 8, 10), date(2026, 10, 4)))
    zs = zones()
    hot_fc, changes = hotspot_feature_collection(recs)
    rows = category_rows(
        zone_category_counts(recs, zones=zs),
        zone_category_counts(previous, zones=zs),
        zones=[(s, n) for s, n, _ in zs],
        categories=CATEGORIES,
    )
    rows.append(CategoryZoneRow("Brand", "Liten zon", 2, 7))  # a count that must show as "< 3"
    route = route_feature_collection()["features"][0]
    return {
        "area_name": "Solberga",
        "period": PERIOD,
        "issued": date(2026, 11, 30),
        "area_outline": shapely.geometry.shape(area_feature()["geometry"]),
        "base_lines": street_lines(),
        "zones": [(n, g) for _, n, g in zs],
        "heat": heat_raster(recs),
        "hotspots": [
            (shapely.geometry.shape(f["geometry"]), f["properties"]["class"])
            for f in hot_fc["features"]
        ],
        "routes": [(route["properties"]["name"], shapely.geometry.shape(route["geometry"]))],
        "category_table": rows,
        "hotspot_changes": [
            HotspotChange(f"Ruta {i + 1} vid Älvsjö station", c) for i, c in enumerate(changes) if c
        ],
        "method": METHOD,
        "profile": profile,
        "note": "Demodata: avvikelserna är SYNTETISKA.",
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.pdf"
    path.write_bytes(meeting_report_pdf(**_inputs()))
    return path


def _text(path: Path, *pages: int) -> str:
    args = ["pdftotext", "-layout"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return subprocess.run(
        [*args, str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_report_is_a4_in_swedish_with_title_page(report: Path) -> None:
    info = subprocess.run(
        ["pdfinfo", str(report)], capture_output=True, text=True, check=True
    ).stdout
    assert "A4" in info
    assert "Title:" in info and "Underlag för platssamverkan – Solberga" in info
    title = _text(report, 1, 1)
    for expected in (
        "Underlag för platssamverkan",
        "Område: Solberga",
        "Period: 2026-10-05 – 2026-11-29",
        "Utfärdat: 2026-11-30",
        "Profil: Partner",
        "SYNTETISKA",
    ):
        assert expected in title


def test_report_has_tables_and_method_note(report: Path) -> None:
    text = _text(report)
    flowing = " ".join(text.split()).lower()  # paragraphs wrap anywhere
    for expected in (
        "Avvikelser per kategori och zon",
        "Skadegörelse",
        "Solbergaskolan",
        "Älvsjö station och centrum",
        "Föregående",
        "Förändring",
        "Hot spots: nya, kvarstående och försvunna",
        "Ny",
        "Kvarstående",
        "Försvunnen",
        "Metod",
        "bandbredd 150 m",
        "rutor om 25 m",
        "rapporter per km² och vecka",
        "Getis-Ord Gi*",
        "Benjamini–Hochberg",
        "90/95/99 % konfidens",
        "rutor om 100 m",
        "antal under 3",
    ):
        assert expected.lower() in flowing, expected
    row = next(line for line in text.splitlines() if "Liten zon" in line)
    assert re.search(r"<\s?3", row) and "–" in row.split("Liten zon")[1]  # both held back
    assert not any(canary in text for canary in CANARIES)


def test_report_map_page_has_a_drawn_map(report: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "2", "-l", "2", str(report), str(tmp_path / "page")],
        check=True,
    )
    (png,) = tmp_path.glob("page*.png")
    pixels = np.asarray(Image.open(png).convert("L"), dtype=np.float64)
    assert pixels.std() > 20  # not a blank page
    assert (pixels < 200).mean() > 0.05  # a good share of it is drawn
    images = subprocess.run(["pdfimages", "-list", str(report)], capture_output=True, text=True)
    if images.returncode == 0:
        assert len(images.stdout.splitlines()) >= 3  # header lines + the map image
    assert OSM_ATTRIBUTION not in _text(report, 1, 1)


def test_map_png_is_drawn_offline_with_its_furniture(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the map must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    inputs = _inputs()
    png = map_png(
        area_outline=inputs["area_outline"],
        base_lines=inputs["base_lines"],
        zones=inputs["zones"],
        heat=inputs["heat"],
        hotspots=inputs["hotspots"],
        routes=inputs["routes"],
        dpi=80,
    )
    image = np.asarray(Image.open(BytesIO(png)).convert("RGB"), dtype=np.int16)
    assert image.shape[1] == round(6.7 * 80)
    red = (image[..., 0] > 180) & (image[..., 1] < 120) & (image[..., 2] < 120)
    assert red.mean() > 0.001  # hot spots and the heat map's peak are drawn


def test_isopleths_and_an_empty_map_also_render() -> None:
    area = shapely.geometry.shape(area_feature()["geometry"])
    isopleths = [
        (int(f["properties"]["percent"]), shapely.geometry.shape(f["geometry"]))
        for f in isopleth_feature_collection()["features"]
    ]
    assert map_png(area_outline=area, heat=isopleths, dpi=60).startswith(b"\x89PNG")
    assert map_png(area_outline=area, dpi=60).startswith(b"\x89PNG")
    pdf = meeting_report_pdf(
        area_name="Solberga",
        period=PERIOD,
        issued=date(2026, 11, 30),
        area_outline=area,
        method=METHOD,
        profile="detail",
    )
    assert pdf.startswith(b"%PDF")


def test_scale_bar_and_north_arrow_geometry() -> None:
    assert _nice_length_m(4000) == 1000 and _nice_length_m(1500) == 250
    # Meridian convergence at Älvsjö (18.01° E, 15° E central meridian): about −2.6°.
    assert -3.0 < _true_north_deg(671_600, 6_575_000) < -2.2


def test_partner_report_from_canary_reports_holds_no_canary(tmp_path: Path) -> None:
    recs = records(800)
    agg = partner_aggregates(recs, zones=zones())
    inputs = _inputs()
    table = [
        CategoryZoneRow(CATEGORIES[r.category][0], r.zone_name, r.count, 0)
        for r in agg.zone_counts[:20]
    ]
    inputs["category_table"] = table
    path = tmp_path / "r.pdf"
    path.write_bytes(meeting_report_pdf(**inputs))
    text = _text(path)
    assert all(row.category_sv in text for row in table)
    assert not any(canary in text for canary in CANARIES)
    assert not any(canary.encode() in path.read_bytes() for canary in CANARIES)
