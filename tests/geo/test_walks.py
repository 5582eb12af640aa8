"""The pure rules of walks: request bodies, series across DST, the CSV log of earlier seasons."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from geo.errors import InvalidInput
from geo.inputs import body_digest
from geo.inputs.walks import ReportIn, SeriesIn, TrackBatch, WalkIn, WalkPatch, parse
from geo.walks import expand_series, period_bounds, read_walk_log

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def walk(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organisation": " Älvsjö AIK ",
        "meeting_point": {"type": "Point", "coordinates": [18.0104, 59.2786]},
        "planned_start": "2026-09-04T21:00:00+02:00",
        "planned_end": "2026-09-05T01:00:00+02:00",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def test_a_walk_is_normalised() -> None:
    w = parse(WalkIn, walk())
    assert w.organisation == "Älvsjö AIK"
    assert w.planned_start == datetime(2026, 9, 4, 19, tzinfo=UTC)
    assert w.meeting_point == (18.0104, 59.2786)
    # The same walk with its times in UTC has the same digest (idempotent retries).
    same = parse(
        WalkIn,
        walk(id=str(w.id), planned_start="2026-09-04T19:00Z", planned_end="2026-09-04T23:00Z"),
    )
    assert body_digest(same) == body_digest(w)
    assert body_digest(parse(WalkIn, walk(id=str(w.id), notes="x"))) != body_digest(w)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"planned_end": "2026-09-04T20:00:00+02:00"}, "planned_end"),
        ({"planned_end": "2026-09-05T10:00:00+02:00"}, "planned_end"),
        ({"planned_start": "2026-09-04T21:00:00"}, "planned_start"),
        ({"meeting_point": None}, "meeting_point"),
        ({"meeting_place": 3}, "meeting_place"),
        ({"meeting_point": {"type": "Point", "coordinates": [18.0, 95.0]}}, "meeting_point"),
        ({"meeting_point": {"type": "LineString", "coordinates": []}}, "meeting_point"),
        ({"organisation": ""}, "organisation"),
        ({"walkers_needed": 0}, "walkers_needed"),
        ({"id": "not-a-uuid"}, "id"),
        ({"colour": "red"}, "colour"),
        ({"area": "Solberga!"}, "area"),
    ],
)
def test_bad_walks_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse(WalkIn, walk(**overrides))
    assert info.value.field == field
    assert field in str(info.value)


def series(**overrides: Any) -> SeriesIn:
    body: dict[str, Any] = {
        "id": "6c1d6a55-0c1f-4c59-9d7e-5a1c2b3d4e5f",
        "organisation": "Kulturföreningen Solan",
        "meeting_place": 7,
        "first_date": "2026-09-04",
        "last_date": "2026-12-19",
        "days": "fre-lör",
        "start_time": "21:00",
        "end_time": "01:00",
    }
    body.update(overrides)
    return parse(SeriesIn, body)


def test_series_every_friday_and_saturday_across_dst() -> None:
    made = expand_series(series(skip_dates=["2026-12-18"]))
    assert len(made) == 31  # 16 Fridays and 16 Saturdays, one skipped
    local = [
        (w.planned_start.astimezone(STOCKHOLM), w.planned_end.astimezone(STOCKHOLM)) for w in made
    ]
    assert all(s.time() == time(21) and e.time() == time(1) for s, e in local)
    assert all(e.date() == s.date() + timedelta(days=1) for s, e in local)
    assert date(2026, 12, 18) not in {s.date() for s, _ in local}
    # Four hours every night, on both sides of the change to winter time (25 October 03:00).
    assert {w.planned_end - w.planned_start for w in made} == {timedelta(hours=4)}
    assert made[0].planned_start.hour == 19 and made[-1].planned_start.hour == 20


def test_series_night_of_the_dst_change_keeps_the_wall_clock() -> None:
    # 24–25 October 2026: the clocks go back at 03:00, so 22:00–04:00 lasts seven hours.
    made = expand_series(
        series(
            first_date="2026-10-24",
            last_date="2026-10-24",
            days="sat",
            start_time="22:00",
            end_time="04:00",
        )
    )
    assert len(made) == 1
    assert made[0].planned_end.astimezone(STOCKHOLM).time() == time(4)
    assert made[0].planned_end - made[0].planned_start == timedelta(hours=7)


def test_series_ids_are_deterministic() -> None:
    a, b = expand_series(series()), expand_series(series(notes="ny"))
    assert [w.id for w in a] == [w.id for w in b]
    other = expand_series(series(id=str(uuid.uuid4())))
    assert not {w.id for w in a} & {w.id for w in other}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"last_date": "2026-09-01"}, "last_date"),
        ({"last_date": "2028-01-01"}, "last_date"),
        ({"days": "fredag-xyz"}, "days"),
        ({"start_time": "09:00", "end_time": "22:00"}, "end_time"),
        ({"meeting_place": None, "meeting_point": None}, "meeting_point"),
    ],
)
def test_bad_series(overrides: dict[str, Any], field: str) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "organisation": "Solan",
        "meeting_place": 7,
        "first_date": "2026-09-04",
        "last_date": "2026-12-19",
        "start_time": "21:00",
        "end_time": "01:00",
        **overrides,
    }
    with pytest.raises(InvalidInput) as info:
        parse(SeriesIn, {k: v for k, v in body.items() if v is not None})
    assert info.value.field == field


def test_a_series_without_a_walk_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        expand_series(series(first_date="2026-09-07", last_date="2026-09-09"))
    assert info.value.field == "days"


def test_patch_report_and_track_batch() -> None:
    patch = parse(WalkPatch, {"version": 3, "route_id": None})
    assert patch.model_fields_set == {"version", "route_id"}
    for bad, field in (
        ({"version": 0}, "version"),
        ({"version": 1, "planned_start": None}, "planned_start"),
        ({"version": 1, "cancel_reason": ""}, "cancel_reason"),
    ):
        with pytest.raises(InvalidInput) as info:
            parse(WalkPatch, bad)
        assert info.value.field == field
    report = {
        "id": str(uuid.uuid4()),
        "started_at": "2026-09-04T21:00+02:00",
        "ended_at": "2026-09-05T01:00+02:00",
        "walkers_present": 6,
        "youths_met": 30,
        "mood": "calm",
        "contacts": ["school", "police", "school"],
    }
    assert parse(ReportIn, report).contacts == ["police", "school"]
    for change, field in (
        ({"walkers_present": 101}, "walkers_present"),
        ({"youths_met": 1001}, "youths_met"),
        ({"mood": "lugnt"}, "mood"),
        ({"contacts": ["firemen"]}, "contacts.0"),
        ({"summary": "x" * 2001}, "summary"),
        ({"ended_at": "2026-09-04T20:00+02:00"}, "ended_at"),
    ):
        with pytest.raises(InvalidInput) as info:
            parse(ReportIn, {**report, **change})
        assert info.value.field == field
    with pytest.raises(InvalidInput) as info:
        parse(TrackBatch, {"points": []})
    assert info.value.field == "points"
    with pytest.raises(InvalidInput) as info:
        parse(TrackBatch, {"points": [{"recorded_at": "2026-09-04T19:00Z", "lon": 18, "lat": 91}]})
    assert info.value.field == "points.0.lat"


def test_period_bounds() -> None:
    lo, hi = period_bounds(date(2026, 12, 1), date(2026, 12, 1))
    assert lo == datetime(2026, 12, 1, tzinfo=STOCKHOLM)
    assert hi == datetime(2026, 12, 2, tzinfo=STOCKHOLM)
    with pytest.raises(InvalidInput) as info:
        period_bounds(date(2026, 12, 2), date(2026, 12, 1))
    assert info.value.field == "until"


# -- the CSV log ----------------------------------------------------------------------------------


def test_log_in_swedish_with_semicolons() -> None:
    text = (
        "Datum;Start;Slut;Förening;Vandrare;Anteckningar\n"
        "2024-09-06;21:00;01:00;Älvsjö AIK;6;Lugn kväll\n"
        "7/9 2024;21.00;00.30;Kulturföreningen Solan;5;\n"
        "13 sep 2024;21;1;Älvsjö AIK;7;\n"
        "\n"
        "2024-09-14;21:00;01:00;;6;\n"
        "2024-09-20;25:00;01:00;Älvsjö AIK;6;\n"
        "2024-09-21;21:00;01:00;Älvsjö AIK;sex;\n"
        "2024-09-27;21:00;01:00;Älvsjö AIK;101;\n"
        "2024-02-30;21:00;01:00;Älvsjö AIK;6;\n"
        "2026-12-24;21:00;01:00;Älvsjö AIK;6;\n"
        "6/9 2024;21:00;01:00;älvsjö aik;6;dubblett\n"
    )
    read = read_walk_log(text, now=NOW)
    assert [r.line for r in read.taken] == [2, 3, 4]
    first = read.taken[0]
    assert first.planned_start == datetime(2024, 9, 6, 19, tzinfo=UTC)
    assert first.planned_end == datetime(2024, 9, 6, 23, tzinfo=UTC)
    assert first.walkers == 6 and first.notes == "Lugn kväll"
    assert read.taken[1].planned_end - read.taken[1].planned_start == timedelta(hours=3, minutes=30)
    reasons = {r.line: r.reason for r in read.refused}
    assert sorted(reasons) == [6, 7, 8, 9, 10, 11, 12]
    assert "organisation" in reasons[6]
    assert "time" in reasons[7]
    assert "whole number" in reasons[8]
    assert "0–100" in reasons[9]
    assert "date" in reasons[10]
    assert "not ended" in reasons[11]
    assert reasons[12] == "the same walk as line 2"
    # The same rows read again have the same ids (a repeated import stores each once).
    assert [r.id for r in read_walk_log(text, now=NOW).taken] == [r.id for r in read.taken]


def test_log_in_english_with_commas_and_a_bom() -> None:
    text = "\ufeffdate,start,end,organisation,walkers\n2025-03-07,20:00,23:00,Älvsjö AIK,4\n"
    read = read_walk_log(text, now=NOW)
    assert len(read.taken) == 1 and not read.refused
    assert read.taken[0].planned_start == datetime(2025, 3, 7, 19, tzinfo=UTC)


def test_log_without_the_columns_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        read_walk_log("datum;förening\n2024-09-06;Älvsjö AIK\n", now=NOW)
    assert info.value.field == "header"
    assert "start" in str(info.value)


@pytest.mark.parametrize("model", [WalkIn, SeriesIn, ReportIn])
def test_the_openapi_examples_are_valid(model: type[WalkIn | SeriesIn | ReportIn]) -> None:
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        parse(model, example)
