"""The offline report queue (``static/js/queue.js``) in real Chromium: the module is imported
in a page the app serves and driven over the browser's own localStorage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser import launch

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def page(live_server: str) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/login")
            yield page
        finally:
            browser.close()


def run(page: Page, body: str) -> Any:
    """``body`` as an async function of ``q`` (the module) and ``s`` (an emptied localStorage)."""
    return page.evaluate(
        f"""async () => {{
            const q = await import("/static/js/queue.js");
            const s = window.localStorage;
            s.clear();
            {body}
        }}"""
    )


def test_a_report_is_a_point_feature_with_a_uuid(page: Page) -> None:
    out = run(
        page,
        """return [
            q.newReport({ lon: 18.01041234, lat: 59.27861234, category: "brand", severity: 3,
                          note: "  rök  ", accuracyM: 12, now: new Date("2026-01-02T20:00:00Z") }),
            q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1, note: "   " }),
            q.uuid4({ getRandomValues: a => crypto.getRandomValues(a) }),
        ];""",
    )
    first, second, fallback = out
    assert first["geometry"] == {"type": "Point", "coordinates": [18.010412, 59.278612]}
    props = dict(first["properties"])
    assert UUID4.match(props.pop("id"))
    assert props == {
        "category": "brand",
        "observed_at": "2026-01-02T20:00:00.000Z",
        "severity": 3,
        "description": "rök",
        "accuracy_m": 12,
    }
    assert "description" not in second["properties"] and "accuracy_m" not in second["properties"]
    assert second["properties"]["id"] != first["properties"]["id"]
    assert UUID4.match(fallback)  # without crypto.randomUUID (plain http)


def test_the_queue_keeps_each_report_once_and_in_order(page: Page) -> None:
    out = run(
        page,
        """const key = q.queueKey(7);
        const a = q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1 });
        const b = q.newReport({ lon: 18, lat: 59.3, category: "klotter", severity: 2 });
        q.enqueue(s, key, a);
        q.enqueue(s, key, b);
        q.enqueue(s, key, a);  // pressed twice: still one
        const ids = q.readQueue(s, key).map(i => i.feature.properties.id);
        s.setItem(q.queueKey(8), "{not json");
        return { key, ids, expected: [a.properties.id, b.properties.id],
                 other: q.readQueue(s, q.queueKey(8)), raw: JSON.parse(s.getItem(key)).length };""",
    )
    assert out["key"] == "nattvandring.pending.7"
    assert out["ids"] == out["expected"] and out["raw"] == 2
    assert out["other"] == []  # a broken entry reads as empty, never throws


def test_flush_sends_oldest_first_and_stops_at_the_first_that_must_wait(page: Page) -> None:
    out = run(
        page,
        """const key = q.queueKey(1);
        const reports = [1, 2, 3, 4].map(n =>
            q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1, note: "r" + n }));
        reports.forEach(r => q.enqueue(s, key, r));
        const sent = [];
        // r1 stored, r2 refused (a 422), r3 no network: r3 and r4 wait.
        const send = async f => {
            sent.push(f.properties.description);
            if (f.properties.description === "r1") return "stored";
            if (f.properties.description === "r2") return "refused";
            throw new TypeError("Failed to fetch");
        };
        const offline = await q.flush(s, key, send, { online: false });
        const first = await q.flush(s, key, send);
        const left = q.readQueue(s, key).map(i => i.feature.properties.description);
        const sentFirst = sent.slice();
        const second = await q.flush(s, key, async () => "stored");
        const ids = reports.map(r => r.properties.id);
        return { offline, first, left, sentFirst, second, ids,
                 after: q.readQueue(s, key).length };""",
    )
    ids = out["ids"]
    assert out["offline"] == {"stored": [], "refused": [], "waiting": 4}
    assert out["sentFirst"] == ["r1", "r2", "r3"]  # nothing was sent while offline
    assert out["first"] == {"stored": [ids[0]], "refused": [ids[1]], "waiting": 2}
    assert out["left"] == ["r3", "r4"]
    assert out["second"] == {"stored": [ids[2], ids[3]], "refused": [], "waiting": 0}
    assert out["after"] == 0


def test_track_points_worse_than_50_m_are_dropped_on_the_phone(page: Page) -> None:
    out = run(
        page,
        """const fix = (acc, t) => ({ coords: { longitude: 18.01041234, latitude: 59.27861234,
                                           accuracy: acc }, timestamp: t });
        const t = Date.parse("2026-01-02T20:00:00Z");
        return [q.trackPoint(fix(12.34, t)), q.trackPoint(fix(50, t)), q.trackPoint(fix(50.5, t)),
                q.trackPoint(fix(null, t)), q.trackKey(3, "w1")];""",
    )
    good, edge, bad, unknown, key = out
    assert good == {
        "lon": 18.010412,
        "lat": 59.278612,
        "accuracy_m": 12.3,
        "recorded_at": "2026-01-02T20:00:00.000Z",
    }
    assert edge["accuracy_m"] == 50 and bad is None and unknown is None
    assert key == "nattvandring.track.3.w1"


def test_track_points_go_in_batches_and_wait_when_the_network_is_gone(page: Page) -> None:
    out = run(
        page,
        """const key = q.trackKey(1, "w");
        const at = n => ({ lon: 18, lat: 59.3 + n / 1e5, accuracy_m: 5,
                           recorded_at: new Date(Date.UTC(2026, 0, 2, 20, 0, n)).toISOString() });
        for (let n = 0; n < 5; n++) q.addPoint(s, key, at(n));
        const again = q.addPoint(s, key, at(2));  // the same fix twice: kept once
        const batches = [];
        let calls = 0;
        const flaky = async pts => { calls++; if (calls === 2) throw new TypeError("offline");
                                     batches.push(pts.map(p => p.recorded_at.slice(17, 19))); };
        const offline = await q.flushPoints(s, key, flaky, { online: false, batchSize: 2 });
        const first = await q.flushPoints(s, key, flaky, { batchSize: 2 });
        const second = await q.flushPoints(s, key, flaky, { batchSize: 2 });
        return { again, offline, first, second, batches, calls };""",
    )
    assert out["again"] == 5
    assert out["offline"] == {"sent": 0, "waiting": 5}
    assert out["first"] == {"sent": 2, "waiting": 3}  # the second batch failed: it waits
    assert out["second"] == {"sent": 3, "waiting": 0}
    assert out["batches"] == [["00", "01"], ["02", "03"], ["04"]]
    assert out["calls"] == 4


def test_walk_reports_queue_by_their_own_id(page: Page) -> None:
    out = run(
        page,
        """const key = q.walkReportKey(4);
        const item = { id: q.uuid4(), walk_id: "w1", report: { mood: "calm" } };
        q.enqueue(s, key, item);
        q.enqueue(s, key, { ...item });  // pressed twice
        const sent = [];
        const result = await q.flush(s, key, async b => { sent.push(b.walk_id); return "stored"; });
        const f = q.newReport({ lon: 18, lat: 59.3, category: "brand", severity: 1, walkId: "w1" });
        return { key, result, sent, id: item.id, walk: f.properties.walk_id,
                 none: "walk_id" in q.newReport({ lon: 18, lat: 59.3, category: "brand",
                                                   severity: 1 }).properties };""",
    )
    assert out["key"] == "nattvandring.walkreports.4"
    assert out["sent"] == ["w1"]
    assert out["result"] == {"stored": [out["id"]], "refused": [], "waiting": 0}
    assert out["walk"] == "w1" and out["none"] is False
