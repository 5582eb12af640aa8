"""The follow-up of walks and costs over HTTP: the figures per agreement, organisation, month and
area and in all, the programme summary, CSV and PDF files (audited), who may read them, and bad
input. The programme is written by SQL (`tests.api.follow_up_data`)."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.api.follow_up_data import load_programme

Headers = Callable[[str], dict[str, str]]
NBSP = "\u00a0"


@pytest.fixture()
def prog(conn: psycopg.Connection) -> dict[str, Any]:
    return load_programme(conn)


def _get(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    r = client.get("/api/v1/follow-up", params=params, headers=headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _by_name(rows: list[dict[str, Any]], key: str = "agreement") -> dict[str, dict[str, Any]]:
    return {(r[key]["name"] if r[key] else "-"): r for r in rows}


def _flags(row: dict[str, Any]) -> dict[str, int]:
    return {f["code"]: f["walks"] for f in row["flags"]}


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "f.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.replace(NBSP, " ")


def pdf_pages(content: bytes, tmp_path: Path) -> int:
    path = tmp_path / "p.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def test_figures_per_agreement_and_in_all(
    client: TestClient, auth: Headers, prog: dict[str, Any]
) -> None:
    t = prog["tag"]
    data = _get(client, auth("planner"), area=prog["area"], by="agreement")
    rows = _by_name(data["rows"])
    assert [r["agreement"]["name"] if r["agreement"] else None for r in data["rows"]] == [
        f"Prov hösten 2023 {t}",
        f"Prov sommaren 2024 {t}",
        f"Prov IOP hösten 2024 {t}",
        f"Prov IOP våren 2025 {t}",
        f"Prov IOP hösten 2025 {t}",
        None,  # outside every agreement, last
    ]
    a1 = rows[f"Prov hösten 2023 {t}"]
    assert (a1["walks_approved"], a1["cost_sek"]) == (20, 34_000)
    assert a1["walker_nights"] == 18 * 6 + 2 * 5 and a1["youths_met"] == 60
    assert _flags(a1) == {"short_of_walkers": 2}
    assert rows[f"Prov sommaren 2024 {t}"]["cost_sek"] == 32_300
    i1 = rows[f"Prov IOP hösten 2024 {t}"]
    assert (i1["walks_approved"], i1["cost_sek"], i1["youths_met"]) == (26, 44_200, 104)
    assert _flags(i1) == {"before_signed": 26}  # signed only on 2024-12-17
    assert i1["agreement"]["kind"] == "iop"
    # the withdrawn walk: paid and reversed under I2, now awaiting approval again
    i2 = rows[f"Prov IOP våren 2025 {t}"]
    assert (i2["walks_approved"], i2["cost_sek"]) == (25, 42_500)
    outside = rows["-"]
    assert outside["cost_sek"] == 0 and outside["walks_approved"] == 1
    assert outside["walks_reported"] == 1 and _flags(outside) == {"outside_agreement": 1}
    assert data["total_sek"] == 178_500 and data["totals"]["walks_approved"] == 106
    assert data["synthetic"] is False and "note" not in data


def test_the_summary_answers_the_councillors(
    client: TestClient, auth: Headers, prog: dict[str, Any]
) -> None:
    r = client.get(
        "/api/v1/follow-up/summary", params={"area": prog["area"]}, headers=auth("admin")
    )
    assert r.status_code == 200, r.text
    s = r.json()
    t = s["totals"]
    assert (t["agreement"]["walks_approved"], t["agreement"]["cost_sek"]) == (39, 66_300)
    assert (t["iop"]["walks_approved"], t["iop"]["cost_sek"]) == (66, 112_200)
    assert (t["all"]["walks_approved"], t["all"]["cost_sek"]) == (105, 178_500)
    assert s["outside"]["walks_approved"] == 1  # shown apart, never in the totals
    names = [a["name"].rsplit(" ", 1)[0] for a in s["agreements"]]
    assert names == [
        "Prov hösten 2023",
        "Prov sommaren 2024",
        "Prov IOP hösten 2024",
        "Prov IOP våren 2025",
        "Prov IOP hösten 2025",
    ]
    i1, i2 = s["agreements"][2], s["agreements"][3]
    assert (i1["decided_on"], i1["signed_on"]) == ("2024-08-29", "2024-12-17")
    assert i1["extends"] is None and i1["extended_by"] == [i2["name"]]
    assert i2["extends"] == {"id": i1["id"], "name": i1["name"]}
    assert s["agreements"][1]["parties"] == sorted([prog["club"], prog["park"]])


def test_a_grant_shows_its_budget_and_reporting(
    client: TestClient, auth: Headers, prog: dict[str, Any]
) -> None:
    s = client.get(
        "/api/v1/follow-up/summary", params={"area": prog["grant_area"]}, headers=auth("planner")
    ).json()
    (grant,) = s["agreements"]
    assert grant["compensation"] == "grant" and grant["budget_sek"] == 850_000
    assert [(r["due_on"], r["status"], r["final"]) for r in grant["reporting"]] == [
        ("2018-06-30", "met", False),
        ("2018-10-31", "late", False),
        ("2019-01-31", "missed", False),
        ("2019-02-28", "met", True),
    ]
    assert grant["reporting"][0]["report"]["covers_until"] == "2018-06-30"
    assert grant["reporting"][0]["report"]["activities"] == 12
    assert grant["reporting"][2]["report"] is None
    missed = [f for f in grant["flags"] if f["code"] == "report_missed"]
    assert missed == [{"code": "report_missed", "walks": 0, "due_on": ["2019-01-31"]}]
    data = _get(client, auth("planner"), area=prog["grant_area"])
    assert data["rows"][0]["flags"] == missed and data["total_sek"] == 0


def test_by_month_uses_the_local_date(
    client: TestClient, auth: Headers, prog: dict[str, Any]
) -> None:
    data = _get(client, auth("planner"), area=prog["area"], by="month")
    months = {r["month"]: r for r in data["rows"]}
    # 24 walks in October + the one from 23:00 on 31 October (to 01:00): October; the one from
    # 00:30 on 1 November (23:30 UTC on 31 October): November.
    assert months["2024-10"]["walks_approved"] == 25
    assert months["2024-11"]["walks_approved"] == 1
    assert months["2024-11"]["cost_sek"] == 1700
    assert months["2023-10"]["walks_approved"] == 20
    assert list(months) == sorted(months)
    assert sum(r["cost_sek"] for r in data["rows"]) == 178_500


def test_a_reversal_nets_to_zero(client: TestClient, auth: Headers, prog: dict[str, Any]) -> None:
    data = _get(client, auth("planner"), area=prog["area"], since="2025-03-01", until="2025-03-01")
    rows = _by_name(data["rows"])
    assert rows[f"Prov IOP våren 2025 {prog['tag']}"]["cost_sek"] == 0
    assert rows["-"]["walks_reported"] == 1 and rows["-"]["walks_approved"] == 0
    assert data["total_sek"] == 0 and data["since"] == data["until"] == "2025-03-01"


def test_filters_by_organisation_and_its_parts_and_groups_by_area(
    client: TestClient, auth: Headers, prog: dict[str, Any]
) -> None:
    # Provföreningen is part of Provparken: the park's filter includes its walks.
    data = _get(client, auth("planner"), organisation=prog["park"], by="organisation")
    assert [r["organisation"]["name"] for r in data["rows"]] == [prog["assoc"]]
    assert data["rows"][0]["walks_approved"] == 9 + 13 + 12 + 15
    by_area = _get(client, auth("planner"), organisation=prog["club"], by="area")
    assert [r["area"]["slug"] for r in by_area["rows"]] == [prog["area"]]
    assert by_area["rows"][0]["walks_approved"] == 20 + 10 + 13 + 13 + 0 + 1
    window = _get(
        client, auth("planner"), area=prog["area"], since="2024-01-01", until="2024-12-31"
    )
    assert window["total_sek"] == (19 + 26) * 1700
    # an agreement of the window without walks in it is listed with zeros
    spring = _get(
        client, auth("planner"), area=prog["area"], since="2025-07-01", until="2025-09-30"
    )
    assert [r["agreement"]["name"] for r in spring["rows"]] == [
        f"Prov IOP hösten 2025 {prog['tag']}"
    ]
    assert spring["rows"][0]["walks_approved"] == 0


def test_csv_has_its_columns_and_is_audited(
    client: TestClient, auth: Headers, conn: psycopg.Connection, prog: dict[str, Any]
) -> None:
    r = client.get(
        "/api/v1/follow-up",
        params={"area": prog["area"], "format": "csv"},
        headers=auth("planner"),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert list(table[0]) == [
        "agreement_id", "agreement", "kind", "walks_approved", "walks_reported", "cost_sek",
        "walker_nights", "youths_met", "short_of_walkers", "before_signed", "outside_agreement",
        "report_missed",
    ]  # fmt: skip
    assert table[0]["cost_sek"] == "34000" and table[0]["short_of_walkers"] == "2"
    assert table[-2]["agreement"] == "utanför avtal" and table[-2]["outside_agreement"] == "1"
    assert table[-1]["agreement_id"] == "total" and table[-1]["cost_sek"] == "178500"
    row = conn.execute(
        "SELECT details, subject FROM audit_log WHERE action = 'follow_up.export' "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None and row[1] == prog["area"]
    assert row[0]["format"] == "csv" and row[0]["total_sek"] == 178_500
    assert row[0]["sha256"] == r.headers["x-content-sha256"]


def test_pdfs_of_the_follow_up_and_the_one_page_summary(
    client: TestClient,
    auth: Headers,
    conn: psycopg.Connection,
    prog: dict[str, Any],
    tmp_path: Path,
) -> None:
    before = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'follow_up.export'"
    ).fetchone()
    r = client.get(
        "/api/v1/follow-up",
        params={"area": prog["area"], "format": "pdf", "by": "month"},
        headers=auth("planner"),
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = pdf_text(r.content, tmp_path)
    assert "Uppföljning av nattvandringar" in text and "2024-10" in text
    assert "178 500 kr" in text and "SYNTETISKA" not in text
    s = client.get(
        "/api/v1/follow-up/summary",
        params={"area": prog["area"], "format": "pdf"},
        headers=auth("planner"),
    )
    assert s.status_code == 200 and pdf_pages(s.content, tmp_path) == 1
    text = pdf_text(s.content, tmp_path)
    for expected in (
        "Före IOP",
        "66 300 kr",
        "Under IOP",
        "112 200 kr",
        "178 500 kr",
        "2024-12-17",
        "Förlänger",
    ):
        assert expected in text, text
    # I2's row names what it extends
    (i2_line,) = [
        line for line in text.splitlines() if line.strip().startswith("Prov IOP våren 2025")
    ]
    assert f"Prov IOP hösten 2024 {prog['tag']}" in i2_line and "42 500 kr" in i2_line
    g = client.get(
        "/api/v1/follow-up/summary",
        params={"area": prog["grant_area"], "format": "pdf"},
        headers=auth("planner"),
    )
    text = pdf_text(g.content, tmp_path)
    assert "850 000 kr" in text and "saknas" in text and "slutredovisning" in text
    after = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'follow_up.export'"
    ).fetchone()
    assert before is not None and after is not None and after[0] == before[0] + 3


def test_synthetic_data_say_so_everywhere(
    client: TestClient, auth: Headers, conn: psycopg.Connection, tmp_path: Path
) -> None:
    prog = load_programme(conn, synthetic=True)
    h = auth("planner")
    data = _get(client, h, area=prog["area"])
    assert data["synthetic"] is True and data["note"] == "SYNTETISKA DEMODATA"
    csv_text = client.get(
        "/api/v1/follow-up", params={"area": prog["area"], "format": "csv"}, headers=h
    ).text
    assert csv_text.startswith("# SYNTETISKA DEMODATA\n")
    summary = client.get("/api/v1/follow-up/summary", params={"area": prog["area"]}, headers=h)
    assert summary.json()["note"] == "SYNTETISKA DEMODATA"
    pdf = client.get(
        "/api/v1/follow-up/summary", params={"area": prog["area"], "format": "pdf"}, headers=h
    )
    assert "SYNTETISKA DEMODATA" in pdf_text(pdf.content, tmp_path)


def test_only_planners_and_admins_follow_up(
    client: TestClient, auth: Headers, signed_in: Headers, prog: dict[str, Any]
) -> None:
    assert client.get("/api/v1/follow-up").status_code == 401
    for role in ("walker", "partner"):
        for url in ("/api/v1/follow-up", "/api/v1/follow-up/summary?area=" + prog["area"]):
            r = client.get(url, headers=signed_in(role))
            assert r.status_code == 403, (role, url)
        r = client.get("/api/v1/follow-up?format=csv", headers=auth(role))
        assert r.status_code == 403
    assert client.get("/api/v1/follow-up", headers=auth("admin")).status_code == 200


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"by": "week"}, 422, "by"),
        ({"format": "xlsx"}, 422, "format"),
        ({"since": "2024-13-01"}, 422, "since"),
        ({"since": "2024-10-01", "until": "2024-09-01"}, 422, "until"),
        ({"since": "2024-10-01T21:00"}, 422, "since"),
        ({"organisation": "Ingen förening"}, 422, "organisation"),
        ({"area": "ingenstans"}, 404, None),
    ],
)
def test_bad_input_is_a_clear_4xx(
    client: TestClient, auth: Headers, params: dict[str, str], status: int, field: str | None
) -> None:
    r = client.get("/api/v1/follow-up", params=params, headers=auth("planner"))
    assert r.status_code == status, r.text
    if field is not None:
        assert r.json()["detail"][0]["loc"][-1] == field
    bad = client.get(
        "/api/v1/follow-up/summary", params={"area": "x", "format": "csv"}, headers=auth("planner")
    )
    assert bad.status_code == 422


def test_a_datetime_with_a_zone_counts_as_its_local_date(
    client: TestClient, auth: Headers, prog: dict[str, Any]
) -> None:
    # 23:30 UTC on 31 October is 00:30 on 1 November in Stockholm (CET, UTC+1)
    data = _get(
        client, auth("planner"), area=prog["area"], by="month",
        since="2024-10-31T23:30:00Z", until="2024-11-01",
    )  # fmt: skip
    assert [(r["month"], r["walks_approved"]) for r in data["rows"]] == [("2024-11", 1)]


def test_the_meeting_report_has_a_section_on_walks(
    client: TestClient, auth: Headers, prog: dict[str, Any], tmp_path: Path
) -> None:
    r = client.get(
        "/api/v1/exports/meeting",
        params={"area": prog["area"], "since": "2024-10-01", "until": "2024-11-30",
                "format": "pdf"},
        headers=auth("partner"),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    text = pdf_text(r.content, tmp_path)
    assert "Nattvandringar" in text and "Vandrarnätter" in text
    lines = [" ".join(line.split()) for line in text.splitlines()]
    # October: 25 walks (13 + 12), the one from 00:30 on 1 November in November; 4 youths each
    assert f"Provföreningen {prog['tag']} oktober 2024 12 72 48" in lines
    assert f"Provföreningen {prog['tag']} november 2024 1 6 4" in lines
    assert f"Provklubben {prog['tag']} oktober 2024 13 78 52" in lines
    # The partner's report counts whole weeks: Monday 30 September to Sunday 1 December, and
    # against the nine weeks before (the club's walk outside the agreements on 2 September).
    assert "Period: 2024-09-30 – 2024-12-01" in text
    assert "Jämfört med föregående period (2024-07-29 – 2024-09-29)" in text
    assert f"Provklubben {prog['tag']} 13 (1) 78 (6) 52 (3)" in lines
    assert f"Provföreningen {prog['tag']} 13 (0) 78 (0) 52 (0)" in lines
